/**
 * Artifact routes: MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`, which
 * clients use when a run's artifact_uri is `mlflow-artifacts:/...`), run artifact listing, and
 * the UI's upload and download calls. Uploads take raw bodies of any content type and stream
 * straight into the blob store; downloads stream out of it.
 */
import { basename, extname } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Readable } from 'node:stream';
import type { Platform } from '../../platform.js';
import { invalidArgument, notFound } from '../../core/errors.js';
import { TrackingService, checkArtifactPath } from '../../tracking/index.js';
import { runIdOf } from './params.js';
import { limitedUpload } from '../upload-limit.js';

const PROXY_PREFIXES = ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'];

const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.yaml': 'text/plain',
  '.yml': 'text/plain',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf',
};

/**
 * An attachment header for any file name (RFC 6266): an ASCII `filename` for old agents and, when
 * the name is not plain ASCII, the exact name as UTF-8 in `filename*`. Node refuses non-Latin-1
 * header values, so `résumé ✓.txt` must never go into `filename` as is.
 */
export function attachmentHeader(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === name) return `attachment; filename="${ascii}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** MLflow's `validate_path_is_safe` for paths its routes take as parameters: no absolute paths, no `#`, no `..`. */
function safePath(path: string): string {
  if (path.startsWith('/') || path.includes('#') || /%23/i.test(path)) throw invalidArgument(`Invalid path: ${path.slice(0, 250)}`);
  return checkArtifactPath(path);
}

function sendFile(reply: FastifyReply, path: string, size: number, stream: Readable): FastifyReply {
  const name = basename(path);
  // Always an attachment with nosniff, so an uploaded page can never run on the server's origin.
  return reply
    .header('content-type', MIME[extname(name).toLowerCase()] ?? 'application/octet-stream')
    .header('content-disposition', attachmentHeader(name))
    .header('x-content-type-options', 'nosniff')
    .header('content-length', String(size))
    .send(stream);
}

export const artifactRoutes: FastifyPluginAsync<{ platform: Platform }> = async (app: FastifyInstance, { platform }) => {
  const tracking = platform.services.tracking;
  const artifacts = tracking.artifacts;

  // Bodies here are files: hand the raw stream to the handler whatever its content type.
  app.removeAllContentTypeParsers();
  const UPLOAD_LIMIT = platform.config.limits.uploadLimit;
  app.addContentTypeParser('*', { bodyLimit: UPLOAD_LIMIT }, (_request, payload, done) => done(null, payload));

  const bodyOf = (request: FastifyRequest): Readable | Buffer => {
    const body = request.body as Readable | undefined;
    return body ? limitedUpload(body, request.headers, UPLOAD_LIMIT) : Buffer.alloc(0);
  };

  async function runRoot(runId: string): Promise<{ root: string; uri: string }> {
    const run = await tracking.getRun(runId);
    const root = TrackingService.proxyRoot(run.info.artifact_uri);
    if (root === undefined) throw notFound(`run ${runId} keeps its artifacts at ${run.info.artifact_uri}, which this server does not serve`);
    return { root, uri: run.info.artifact_uri };
  }

  const join = (...parts: string[]) => parts.filter((p) => p !== '').join('/');

  for (const prefix of PROXY_PREFIXES) {
    const hide = prefix !== PROXY_PREFIXES[0];
    const tags = ['mlflow artifacts'];
    app.put(
      `${prefix}/artifacts/*`,
      { config: { permission: 'edit' }, bodyLimit: UPLOAD_LIMIT, schema: { summary: 'Upload an artifact (raw body)', tags, hide } },
      async (request) => {
        await artifacts.put((request.params as { '*': string })['*'], bodyOf(request));
        return {};
      },
    );
    app.get(
      `${prefix}/artifacts/*`,
      { config: { permission: 'read' }, schema: { summary: 'Download an artifact', tags, hide } },
      async (request, reply) => {
        const path = (request.params as { '*': string })['*'];
        const { entry, stream } = await artifacts.open(path);
        return sendFile(reply, entry.path, entry.size, stream);
      },
    );
    app.get(
      `${prefix}/artifacts`,
      {
        config: { permission: 'read' },
        schema: { summary: 'List artifacts under a path', tags, hide, querystring: Type.Object({ path: Type.Optional(Type.String()) }) },
      },
      async (request) => ({ files: await artifacts.list((request.query as { path?: string }).path ?? '') }),
    );
    app.delete(
      `${prefix}/artifacts/*`,
      { config: { permission: 'edit' }, schema: { summary: 'Delete an artifact', tags, hide } },
      async (request) => {
        await artifacts.delete((request.params as { '*': string })['*']);
        return {};
      },
    );
  }

  const RunPath = Type.Object({
    run_id: Type.Optional(Type.String()),
    run_uuid: Type.Optional(Type.String()),
    path: Type.Optional(Type.String()),
    page_token: Type.Optional(Type.String()),
  });

  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
    app.get(
      `${prefix}/artifacts/list`,
      {
        config: { permission: 'read' },
        schema: { summary: "List a run's artifacts", tags: ['mlflow tracking'], hide: prefix.startsWith('/ajax'), querystring: RunPath },
      },
      async (request) => {
        const q = request.query as { run_id?: string; run_uuid?: string; path?: string };
        const rel = safePath(q.path ?? '');
        const { root, uri } = await runRoot(runIdOf(q));
        const files = await artifacts.list(join(root, rel));
        return { root_uri: uri, files: files.map((f) => ({ ...f, path: join(rel, f.path) })) };
      },
    );
  }

  /** A logged model's files, under its artifact location (MLflow 3; the UI and `mlflow.artifacts` use these). */
  async function modelRoot(modelId: string): Promise<{ root: string; uri: string }> {
    const uri = await tracking.loggedModels.artifactLocation(modelId);
    const root = TrackingService.proxyRoot(uri);
    if (root === undefined) throw notFound(`logged model ${modelId} keeps its artifacts at ${uri}, which this server does not serve`);
    return { root, uri };
  }

  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
    const schema = { tags: ['mlflow logged models'], hide: prefix.startsWith('/ajax'), params: Type.Object({ model_id: Type.String() }) };
    app.get(
      `${prefix}/logged-models/:model_id/artifacts/directories`,
      { config: { permission: 'read' }, schema: { ...schema, summary: "List a logged model's artifacts", querystring: Type.Object({ artifact_directory_path: Type.Optional(Type.String()), page_token: Type.Optional(Type.String()) }) } },
      async (request) => {
        const rel = safePath((request.query as { artifact_directory_path?: string }).artifact_directory_path ?? '');
        const { root, uri } = await modelRoot((request.params as { model_id: string }).model_id);
        const files = await artifacts.list(join(root, rel));
        return { root_uri: uri, files: files.map((f) => ({ ...f, path: join(rel, f.path) })) };
      },
    );
    app.get(
      `${prefix}/logged-models/:model_id/artifacts/files`,
      { config: { permission: 'read' }, schema: { ...schema, summary: "Download a logged model's artifact", querystring: Type.Object({ artifact_file_path: Type.Optional(Type.String()) }) } },
      async (request, reply) => {
        const wanted = (request.query as { artifact_file_path?: string }).artifact_file_path;
        // MLflow's get_logged_model_artifact_handler, word for word.
        if (!wanted) throw invalidArgument('Request must include the "artifact_file_path" query parameter.', { mlflowCode: 'BAD_REQUEST' });
        const path = safePath(wanted);
        const { root } = await modelRoot((request.params as { model_id: string }).model_id);
        const { entry, stream } = await artifacts.open(join(root, path));
        return sendFile(reply, entry.path, entry.size, stream);
      },
    );
  }

  app.post(
    '/ajax-api/2.0/mlflow/upload-artifact',
    { config: { permission: 'edit' }, bodyLimit: UPLOAD_LIMIT, schema: { summary: 'Upload a run artifact (raw body)', tags: ['mlflow tracking'], querystring: RunPath } },
    async (request) => {
      // MLflow's upload handler names run_uuid and checks in this order, with these messages.
      const q = request.query as { run_id?: string; run_uuid?: string; path?: string };
      const runId = q.run_uuid || q.run_id;
      if (!runId) throw invalidArgument('Request must specify run_uuid.');
      if (!q.path) throw invalidArgument('Request must specify path.');
      const path = safePath(q.path);
      if (path === '') throw invalidArgument(`Invalid path: ${q.path}`);
      if (!request.headers['transfer-encoding'] && Number(request.headers['content-length'] ?? 0) === 0) throw invalidArgument('Request must specify data.');
      const { root } = await runRoot(runId);
      await artifacts.put(join(root, path), bodyOf(request));
      return {};
    },
  );

  app.get(
    '/get-artifact',
    { config: { permission: 'read' }, schema: { summary: 'Download a run artifact', tags: ['mlflow tracking'], querystring: RunPath } },
    async (request, reply) => {
      const q = request.query as { run_id?: string; run_uuid?: string; path?: string };
      const path = safePath(q.path ?? '');
      const { root } = await runRoot(runIdOf(q));
      const { entry, stream } = await artifacts.open(join(root, path));
      return sendFile(reply, entry.path, entry.size, stream);
    },
  );
};
