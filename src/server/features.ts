/**
 * REST API of the feature store under /api/v1/features: definitions (plan, apply, list),
 * point-in-time training data, materialization, online reads in Feast's response shape,
 * pushes, and the consistency and freshness checks.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { Platform } from '../platform.js';
import { timeOrderedId } from '../core/ids.js';
import { ApplyResultSchema, FeatureRepoSchema, OnlineResponseSchema, PlanSchema, parseTimestamp, type FeatureRepoSpec, type Value } from '../features/index.js';
import { workDir } from '../platform.js';
import { withoutPasswords } from '../features/plan.js';
import { onlineResponseJson } from '../features/response-json.js';
import { actorOf } from './registry-actor.js';

const Cell = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
// No type keyword on the values: the server's type coercion would turn 1 into "1" (or null into 0); the domain checks them.
const InCell = Type.Unsafe<Value>({ description: 'a string, number, boolean or null' });
const Columns = Type.Record(Type.String(), Type.Array(InCell), { description: 'column name → values, one per row' });
const Selection = {
  features: Type.Optional(Type.Array(Type.String(), { description: 'VIEW:FEATURE or VIEW' })),
  feature_service: Type.Optional(Type.String()),
};
const DefinitionBody = Type.Object({ definition: FeatureRepoSchema }, { additionalProperties: false });
const CONTENT_TYPES = { csv: 'text/csv', parquet: 'application/vnd.apache.parquet', arrow: 'application/vnd.apache.arrow.file' } as const;
const HistoricalBody = Type.Object(
  {
    ...Selection,
    entities: Columns,
    timestamp_column: Type.Optional(Type.String()),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('parquet'), Type.Literal('arrow')])),
    register_as: Type.Optional(Type.String({ description: 'also register the result as a version of this dataset' })),
  },
  { additionalProperties: false },
);
const HistoricalPathBody = Type.Object(
  {
    ...Selection,
    entities_path: Type.String({ minLength: 1 }),
    output_path: Type.String({ minLength: 1 }),
    timestamp_column: Type.Optional(Type.String()),
    register_as: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const HistoricalFileReply = Type.Object({
  path: Type.String(),
  format: Type.String(),
  rowCount: Type.Integer(),
  columns: Type.Array(Type.String()),
  registryVersion: Type.Integer(),
  dataset: Type.Optional(Type.Object({ name: Type.String(), version: Type.Integer(), created: Type.Boolean() })),
});
const Time = Type.Union([Type.String(), Type.Number()], { description: 'ISO 8601 with a zone, or epoch seconds' });
const MaterializeBody = Type.Object(
  { views: Type.Optional(Type.Array(Type.String())), incremental: Type.Optional(Type.Boolean()), start: Type.Optional(Time), end: Type.Optional(Time) },
  { additionalProperties: false },
);
const MaterializeReply = Type.Object({
  views: Type.Array(Type.Object({ view: Type.String(), rows: Type.Integer(), written: Type.Integer(), newestEventMs: Type.Union([Type.Number(), Type.Null()]) })),
});
// The schema documents the answer; the route sends it as bytes it wrote itself (response-json.ts).
const OnlineReply = Type.Unsafe<Static<typeof OnlineResponseSchema> | Buffer>(OnlineResponseSchema);
export const ONLINE_URL = '/api/v1/features/online';
export const ONLINE_PERMISSION = 'read';
export const OnlineBody = Type.Object({ ...Selection, entities: Columns, request_data: Type.Optional(Columns) }, { additionalProperties: false });

/**
 * The answer to a validated online read, as bytes, not an object for the schema's serializer:
 * it tries each type of the value union per value, and a string would be measured and encoded
 * again on the way out. Both HTTP paths (this route, fast-features.ts) answer with it.
 */
export async function onlineAnswer(features: Platform['services']['features'], b: Static<typeof OnlineBody>): Promise<Buffer> {
  return onlineResponseJson(await features.getOnlineFeatures({ features: b.features, featureService: b.feature_service, entities: b.entities, requestData: b.request_data }));
}
const PushBody = Type.Object(
  {
    feature_view: Type.String(),
    df: Columns,
    to: Type.Optional(Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('online_and_offline')])),
  },
  { additionalProperties: false },
);
const CheckBody = Type.Object({ views: Type.Optional(Type.Array(Type.String())), sample: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) }, { additionalProperties: false });
const CheckReply = Type.Object({
  checkedAt: Type.String(),
  views: Type.Array(
    Type.Object({
      view: Type.String(),
      entities: Type.Integer(),
      compared: Type.Integer(),
      mismatches: Type.Array(Type.Object({ entity: Type.Record(Type.String(), Cell), feature: Type.String(), online: Cell, offline: Cell, status: Type.String() })),
    }),
  ),
});
const FreshnessReply = Type.Object({
  views: Type.Array(
    Type.Object({
      view: Type.String(),
      materializedToMs: Type.Union([Type.Number(), Type.Null()]),
      newestEventMs: Type.Union([Type.Number(), Type.Null()]),
      ageSeconds: Type.Union([Type.Number(), Type.Null()]),
      rowsWritten: Type.Number(),
    }),
  ),
});
const ListReply = Type.Object({
  version: Type.Integer({ description: '0 when nothing is applied yet' }),
  definition: Type.Optional(FeatureRepoSchema),
  versions: Type.Array(Type.Object({ version: Type.Integer(), digest: Type.String(), creator: Type.String(), createdAt: Type.Integer() })),
});

const actor = (request: FastifyRequest) => actorOf(request).user ?? 'unknown';

export const featureRoutes: FastifyPluginAsync<{ platform: Platform }> = async (fastify, { platform }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const features = platform.services.features;
  const tags = ['features'];

  app.get(
    '/api/v1/features',
    { config: { permission: 'read' }, schema: { summary: 'The applied feature definitions and their versions', tags, response: { 200: ListReply } } },
    async () => {
      const [latest, versions] = await Promise.all([features.latest(), features.versions()]);
      return { version: latest?.version ?? 0, definition: latest && withoutPasswords(latest.spec), versions };
    },
  );

  app.post(
    '/api/v1/features/plan',
    { config: { permission: 'read' }, schema: { summary: 'What applying a definition would change', tags, body: DefinitionBody, response: { 200: PlanSchema } } },
    async (request) => features.plan(request.body.definition as FeatureRepoSpec),
  );

  // Definitions carry on-demand transforms that the server runs: applying one is a manager's act.
  app.post(
    '/api/v1/features/apply',
    { config: { permission: 'manage' }, schema: { summary: 'Store a definition as a new registry version', tags, body: DefinitionBody, response: { 200: ApplyResultSchema } } },
    async (request) => features.apply(request.body.definition as FeatureRepoSpec, actor(request)),
  );

  app.post(
    '/api/v1/features/historical',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Point-in-time correct features for entity rows (JSON, or a CSV, Parquet or Arrow IPC file)',
        tags,
        body: HistoricalBody,
        response: { 200: Type.Union([Type.Object({ columns: Type.Array(Type.String()), rows: Type.Array(Type.Array(Cell)) }), Type.Unsafe({ description: 'CSV, Parquet or Arrow IPC file bytes' })]) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const opts = {
        features: b.features,
        featureService: b.feature_service,
        timestampColumn: b.timestamp_column,
        entities: { columns: Object.entries(b.entities).map(([name, values]) => ({ name, values })) },
      };
      if ((b.format ?? 'json') === 'json' && !b.register_as) return features.historical(opts);
      // JSON with register_as registers a CSV file, and answers with it.
      const format = b.format === undefined || b.format === 'json' ? 'csv' : b.format;
      const path = join(workDir(platform.config, 'features', 'results'), `${timeOrderedId()}.${format}`);
      const result = await features.historicalToFile(opts, { path, format, registerAs: b.register_as, creator: actor(request) });
      if (result.dataset) reply.header('x-modelport-dataset', `${result.dataset.name}@${result.dataset.version}`);
      reply.header('x-modelport-row-count', String(result.rowCount));
      reply.header('x-modelport-registry-version', String(result.registryVersion));
      reply.header('x-modelport-columns', encodeURIComponent(JSON.stringify(result.columns)));
      const stream = createReadStream(path);
      stream.on('close', () => void rm(path, { force: true }));
      return reply.type(CONTENT_TYPES[format]).send(stream);
    },
  );

  app.post(
    '/api/v1/features/historical/from-path',
    { config: { permission: 'admin' }, schema: { summary: "Point-in-time features for an entity file on the server's disk, written there", tags, body: HistoricalPathBody, response: { 200: HistoricalFileReply } } },
    async (request) => {
      const b = request.body;
      return features.historicalToFile(
        { features: b.features, featureService: b.feature_service, timestampColumn: b.timestamp_column, entities: { path: b.entities_path } },
        { path: b.output_path, registerAs: b.register_as, creator: actor(request) },
      );
    },
  );

  app.post(
    '/api/v1/features/materialize',
    { config: { permission: 'edit' }, schema: { summary: 'Write the latest value per entity into the online store', tags, body: MaterializeBody, response: { 200: MaterializeReply } } },
    async (request) => {
      const b = request.body;
      const at = (v: string | number | undefined, field: string) => (v === undefined ? undefined : parseTimestamp(v, field));
      return { views: await features.materialize({ views: b.views, incremental: b.incremental, startMs: at(b.start, 'start'), endMs: at(b.end, 'end') }) };
    },
  );

  // Also answered ahead of Fastify (fast-features.ts), which leaves this route what it does not take.
  app.post(
    ONLINE_URL,
    { config: { permission: ONLINE_PERMISSION }, schema: { summary: 'Online feature values with a status per value (Feast response shape)', tags, body: OnlineBody, response: { 200: OnlineReply } } },
    async (request, reply) => reply.type('application/json; charset=utf-8').send(await onlineAnswer(features, request.body)),
  );

  app.post(
    '/api/v1/features/push',
    { config: { permission: 'edit' }, schema: { summary: 'Write fresh rows of a feature view to the online store (and its CSV source)', tags, body: PushBody, response: { 200: Type.Object({ rows: Type.Integer(), written: Type.Integer() }) } } },
    async (request) => features.push({ view: request.body.feature_view, df: request.body.df, to: request.body.to }),
  );

  app.post(
    '/api/v1/features/check',
    { config: { permission: 'read' }, schema: { summary: 'Compare online values with offline values as of now for a sample of entities', tags, body: CheckBody, response: { 200: CheckReply } } },
    async (request) => features.check(request.body),
  );

  const Binding = Type.Object({ deployment: Type.String(), featureService: Type.String(), keys: Type.Record(Type.String(), Type.String()) });
  const DeploymentParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });

  app.get(
    '/api/v1/features/deployments',
    { config: { permission: 'read' }, schema: { summary: 'Deployments whose inputs come from a feature service', tags, response: { 200: Type.Object({ deployments: Type.Array(Binding) }) } } },
    async () => ({ deployments: await features.deploymentBindings() }),
  );

  app.put(
    '/api/v1/features/deployments/:name',
    {
      config: { permission: 'manage' },
      schema: {
        summary: "Serve a deployment with a feature lookup: requests carry entity keys, the model's inputs come from the feature service",
        tags,
        params: DeploymentParams,
        body: Type.Object({ feature_service: Type.String() }, { additionalProperties: false }),
        response: { 200: Binding },
      },
    },
    async (request) => ({ deployment: request.params.name, ...(await features.bindDeployment(request.params.name, request.body.feature_service)) }),
  );

  app.delete(
    '/api/v1/features/deployments/:name',
    { config: { permission: 'manage' }, schema: { summary: 'Serve a deployment without a feature lookup again', tags, params: DeploymentParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await features.unbindDeployment(request.params.name);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/features/freshness',
    { config: { permission: 'read' }, schema: { summary: 'Age of the newest online row of each feature view', tags, response: { 200: FreshnessReply } } },
    async () => ({ views: await features.freshness() }),
  );
};
