/**
 * REST API for datasets under /api/v1/datasets. Files are uploaded as a raw request body
 * (streamed to disk, never buffered), so these routes accept bodies far above the server-wide
 * limit; a server-local path can be registered instead, by admins only.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { Readable } from 'node:stream';
import type { Platform } from '../platform.js';
import { invalidArgument } from '../core/errors.js';
import {
  DatasetDiffSchema,
  DatasetSchemaSchema,
  DatasetSummarySchema,
  DatasetVersionSchema,
  LineageSchema,
  ValidationReportSchema,
  parseVersionRef,
  type VersionRef,
} from '../data/index.js';
import { checkFormat } from '../data/source.js';
import { checkServerPath } from '../security/paths.js';


/** Media types read as a raw file upload. */
export const UPLOAD_MEDIA_TYPES = ['application/octet-stream', 'text/csv', 'text/tab-separated-values', 'application/x-ndjson', 'application/jsonl', 'application/vnd.apache.parquet'];

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$', description: 'dataset name' });
const VersionParam = Type.String({ pattern: '^([1-9][0-9]*|latest)$', description: 'a version number or "latest"' });
const NameParams = Type.Object({ name: Name });
const VersionParams = Type.Object({ name: Name, version: VersionParam });

const Format = Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('jsonl'), Type.Literal('parquet')]));
const SourceFields = {
  format: Format,
  delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
};
const RegisterFields = {
  ...SourceFields,
  description: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
  creator: Type.Optional(Type.String()),
  validate: Type.Optional(Type.Boolean({ description: 'refuse the version when it breaks the dataset schema' })),
};
const UploadQuery = Type.Object({ ...RegisterFields, filename: Type.Optional(Type.String({ description: 'file name; its extension gives the format' })) });
const PathBody = Type.Object({ path: Type.String({ minLength: 1 }), ...RegisterFields }, { additionalProperties: false });
const ValidateQuery = Type.Object({ ...SourceFields, filename: Type.Optional(Type.String()), against: Type.Optional(Type.Integer({ minimum: 1 })) });
const ValidatePathBody = Type.Object({ path: Type.String({ minLength: 1 }), ...SourceFields, against: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false });
const Cell = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
const ColumnsBody = Type.Object(
  {
    columns: Type.Record(Type.String(), Type.Array(Cell), { description: 'column name → values, one per row' }),
    against: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
const DeletedReply = Type.Object({ deleted: Type.Array(Type.Integer(), { description: 'the version numbers deleted' }) });
const RegisterReply = Type.Object({ created: Type.Boolean(), described: Type.Optional(Type.Boolean()), version: DatasetVersionSchema });
// No type keyword: the body is a stream, which the validator must let through untouched.
const RawBody = Type.Unsafe<Readable>({ description: 'the file (CSV, JSON Lines or Parquet) as the raw request body' });

type VersionParamsT = Static<typeof VersionParams>;
const refOf = (p: VersionParamsT): VersionRef => ({ name: p.name, version: p.version === 'latest' ? undefined : Number(p.version) });

export const datasetRoutes: FastifyPluginAsync<{ platform: Platform }> = async (fastify, { platform }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const datasets = platform.services.datasets;
  // The body stays a stream: the service spools it to disk while counting bytes.
  app.addContentTypeParser(UPLOAD_MEDIA_TYPES, (_request, payload, done) => done(null, payload));
  const tags = ['datasets'];

  app.get(
    '/api/v1/datasets',
    { config: { permission: 'read' }, schema: { summary: 'List datasets', tags, response: { 200: Type.Object({ datasets: Type.Array(DatasetSummarySchema) }) } } },
    async () => ({ datasets: await datasets.list() }),
  );

  app.get(
    '/api/v1/datasets/:name',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'A dataset: its versions (newest first, without profiles) and validation schema',
        tags,
        params: NameParams,
        response: { 200: Type.Object({ name: Type.String(), schema: DatasetSchemaSchema, versions: Type.Array(DatasetVersionSchema) }) },
      },
    },
    async (request) => {
      const { name } = request.params;
      const versions = await datasets.versions(name);
      return { name, schema: await datasets.getSchema(name), versions };
    },
  );

  app.post(
    '/api/v1/datasets/:name/versions',
    {
      config: { permission: 'edit' },
      bodyLimit: platform.config.limits.uploadLimit,
      schema: {
        summary: 'Register a file as a new version (raw request body, streamed); identical content returns the existing version',
        tags,
        params: NameParams,
        querystring: UploadQuery,
        consumes: UPLOAD_MEDIA_TYPES,
        body: RawBody,
        response: { 200: RegisterReply, 201: RegisterReply },
      },
    },
    async (request, reply) => {
      const body = request.body as unknown as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function') {
        throw invalidArgument(`body: send the file as the raw body with content-type ${UPLOAD_MEDIA_TYPES[0]}`, { httpStatus: 415 });
      }
      const q = request.query;
      const result = await datasets.registerUpload(request.params.name, body, { ...q, format: checkFormat(q.format), maxBytes: platform.config.limits.uploadLimit });
      return reply.status(result.created ? 201 : 200).send(result);
    },
  );

  app.post(
    '/api/v1/datasets/:name/versions/from-path',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Register a file or folder on the server's own disk as a new version",
        tags,
        params: NameParams,
        body: PathBody,
        response: { 200: RegisterReply, 201: RegisterReply },
      },
    },
    async (request, reply) => {
      const { path, ...options } = request.body;
      if (request.principal.kind === 'token') checkServerPath(path, platform.config.dataRoots);
      const result = await datasets.register(request.params.name, path, options);
      return reply.status(result.created ? 201 : 200).send(result);
    },
  );

  app.get(
    '/api/v1/datasets/:name/versions/:version',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'One version with its schema and profile',
        tags,
        params: VersionParams,
        querystring: Type.Object({ profile: Type.Optional(Type.Boolean({ default: true })) }),
        response: { 200: DatasetVersionSchema },
      },
    },
    async (request) => datasets.get(refOf(request.params), { profile: request.query.profile }),
  );

  app.delete(
    '/api/v1/datasets/:name/versions/:version',
    {
      config: { permission: 'manage' },
      schema: { summary: 'Delete one version (the dataset too when it was the last)', tags, params: VersionParams, response: { 200: DeletedReply } },
    },
    // "latest" names one version here, never the whole dataset.
    async (request) => datasets.delete({ name: request.params.name, version: (await datasets.get(refOf(request.params), { profile: false })).version }),
  );

  app.delete(
    '/api/v1/datasets/:name',
    { config: { permission: 'manage' }, schema: { summary: 'Delete a dataset and all its versions', tags, params: Type.Object({ name: Type.String({ minLength: 1 }) }), response: { 200: DeletedReply } } },
    async (request) => datasets.delete({ name: request.params.name }),
  );

  app.get(
    '/api/v1/datasets/:name/versions/:version/content',
    {
      config: { permission: 'read' },
      schema: { summary: "A single-file version's bytes", tags, params: VersionParams, produces: ['application/octet-stream'] },
    },
    async (request, reply) => {
      const { version, stream } = await datasets.open(refOf(request.params));
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(version.sizeBytes))
        .header('content-disposition', `attachment; filename="${version.name}-v${version.version}.${version.format}"`)
        .send(stream);
    },
  );

  app.get(
    '/api/v1/datasets/:name/versions/:version/diff',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Differences between this version and another (NAME@VERSION, or a version number of the same dataset)',
        tags,
        params: VersionParams,
        querystring: Type.Object({ with: Type.String({ minLength: 1 }) }),
        response: { 200: DatasetDiffSchema },
      },
    },
    async (request) => {
      const other = /^\d+$/.test(request.query.with) ? { name: request.params.name, version: Number(request.query.with) } : parseVersionRef(request.query.with);
      return datasets.diff(refOf(request.params), other);
    },
  );

  app.get(
    '/api/v1/datasets/:name/schema',
    { config: { permission: 'read' }, schema: { summary: 'The validation schema', tags, params: NameParams, response: { 200: DatasetSchemaSchema } } },
    async (request) => datasets.getSchema(request.params.name),
  );

  app.put(
    '/api/v1/datasets/:name/schema',
    {
      config: { permission: 'edit' },
      schema: { summary: 'Replace the validation schema', tags, params: NameParams, body: DatasetSchemaSchema, response: { 200: DatasetSchemaSchema } },
    },
    async (request) => datasets.setSchema(request.params.name, request.body),
  );

  app.post(
    '/api/v1/datasets/:name/schema/infer',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Infer a schema from a version (latest by default); with save=true it replaces the validation schema',
        tags,
        params: NameParams,
        body: Type.Optional(Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })), save: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
        response: { 200: DatasetSchemaSchema },
      },
    },
    async (request) => datasets.inferSchema({ name: request.params.name, version: request.body?.version }, { save: request.body?.save }),
  );

  app.post(
    '/api/v1/datasets/:name/validate',
    {
      config: { permission: 'read' },
      bodyLimit: platform.config.limits.uploadLimit,
      schema: {
        summary: 'Validate a file (raw request body) against the schema, and for drift against a version (latest by default)',
        tags,
        params: NameParams,
        querystring: ValidateQuery,
        consumes: UPLOAD_MEDIA_TYPES,
        body: RawBody,
        response: { 200: ValidationReportSchema },
      },
    },
    async (request) => {
      const body = request.body as unknown as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function') {
        throw invalidArgument(`body: send the file as the raw body with content-type ${UPLOAD_MEDIA_TYPES[0]}`, { httpStatus: 415 });
      }
      const q = request.query;
      return datasets.validateUpload(request.params.name, body, { ...q, format: checkFormat(q.format), maxBytes: platform.config.limits.uploadLimit });
    },
  );

  app.post(
    '/api/v1/datasets/:name/validate/from-path',
    {
      config: { permission: 'admin' },
      schema: { summary: "Validate a file or folder on the server's disk", tags, params: NameParams, body: ValidatePathBody, response: { 200: ValidationReportSchema } },
    },
    async (request) => {
      const { path, ...options } = request.body;
      if (request.principal.kind === 'token') checkServerPath(path, platform.config.dataRoots);
      return datasets.validate(request.params.name, path, options);
    },
  );

  app.post(
    '/api/v1/datasets/:name/validate/columns',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Validate columns sent as JSON (e.g. a batch of serving requests)',
        tags,
        params: NameParams,
        body: ColumnsBody,
        response: { 200: ValidationReportSchema },
      },
    },
    async (request) => {
      const columns = Object.entries(request.body.columns).map(([name, values]) => ({ name, values }));
      return datasets.validateColumns(request.params.name, columns, { against: request.body.against });
    },
  );

  app.get(
    '/api/v1/datasets/:name/versions/:version/lineage',
    { config: { permission: 'read' }, schema: { summary: 'Runs that used this version and models trained on it', tags, params: VersionParams, response: { 200: LineageSchema } } },
    async (request) => datasets.lineage(await concrete(refOf(request.params))),
  );

  app.post(
    '/api/v1/datasets/:name/versions/:version/runs',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Record that a run used this version',
        tags,
        params: VersionParams,
        body: Type.Object({ runId: Type.String({ minLength: 1, maxLength: 64 }), context: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
        response: { 200: LineageSchema },
      },
    },
    async (request) => {
      const ref = await concrete(refOf(request.params));
      await datasets.linkRun(ref, request.body.runId, request.body.context);
      return datasets.lineage(ref);
    },
  );

  app.post(
    '/api/v1/datasets/:name/versions/:version/models',
    {
      config: { permission: 'edit' },
      schema: {
        summary: 'Record that a model version was trained on this version',
        tags,
        params: VersionParams,
        body: Type.Object(
          { modelName: Type.String({ minLength: 1 }), modelVersion: Type.String({ minLength: 1 }), runId: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 200: LineageSchema },
      },
    },
    async (request) => {
      const ref = await concrete(refOf(request.params));
      await datasets.linkModel(ref, { name: request.body.modelName, version: request.body.modelVersion, runId: request.body.runId });
      return datasets.lineage(ref);
    },
  );

  async function concrete(ref: VersionRef): Promise<Required<VersionRef>> {
    return { name: ref.name, version: ref.version ?? (await datasets.get(ref, { profile: false })).version };
  }
};
