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
import { notFound } from '../../core/errors.js';
import { TrackingService } from '../../tracking/index.js';
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

function sendFile(reply: FastifyReply, path: string, size: number, stream: Readable): FastifyReply {
  const name = basename(path);
  // Always an attachment with nosniff, so an uploaded page can never run on the server's origin.
  return reply
    .header('content-type', MIME[extname(name).toLowerCase()] ?? 'application/octet-stream')
    .header('content-disposition', `attachment; filename="${name.replace(/["\\\r\n]/g, '_')}"`)
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
        const { root, uri } = await runRoot(runIdOf(q));
        const rel = (q.path ?? '').replace(/^\/+|\/+$/g, '');
        const files = await artifacts.list(join(root, rel));
        return { root_uri: uri, files: files.map((f) => ({ ...f, path: join(rel, f.path) })) };
      },
    );
  }

  app.post(
    '/ajax-api/2.0/mlflow/upload-artifact',
    { config: { permission: 'edit' }, bodyLimit: UPLOAD_LIMIT, schema: { summary: 'Upload a run artifact (raw body)', tags: ['mlflow tracking'], querystring: RunPath } },
    async (request) => {
      const q = request.query as { run_id?: string; run_uuid?: string; path?: string };
      const { root } = await runRoot(runIdOf(q));
      await artifacts.put(join(root, q.path ?? ''), bodyOf(request));
      return {};
    },
  );

  app.get(
    '/get-artifact',
    { config: { permission: 'read' }, schema: { summary: 'Download a run artifact', tags: ['mlflow tracking'], querystring: RunPath } },
    async (request, reply) => {
      const q = request.query as { run_id?: string; run_uuid?: string; path?: string };
      const { root } = await runRoot(runIdOf(q));
      const { entry, stream } = await artifacts.open(join(root, q.path ?? ''));
      return sendFile(reply, entry.path, entry.size, stream);
    },
  );
};
