/**
 * Batch jobs API (`/api/v1/jobs`): submit a file (uploaded to the artifact store, or a dataset
 * version) to be scored by a deployment in the background; follow its state and progress;
 * cancel it; download its output. Field names are snake_case like the deployments API.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform.js';
import type { Job } from '../serving/jobs/service.js';

const Format = Type.Union([Type.Literal('csv'), Type.Literal('jsonl'), Type.Literal('parquet')]);
const State = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]);
const Input = Type.Object(
  {
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'a file uploaded with PUT /api/v1/registry/blobs' })),
    dataset: Type.Optional(Type.String({ minLength: 1, description: 'a dataset version: NAME (latest) or NAME@VERSION' })),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
const SubmitBody = Type.Object(
  {
    deployment: Type.String({ minLength: 1, maxLength: 128 }),
    input: Input,
    output_format: Type.Optional(Format),
    keep: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'input columns copied to the output, in order' })),
    chunk_rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);

export const JobView = Type.Object({
  id: Type.String(),
  deployment: Type.String(),
  state: State,
  input: Input,
  output_format: Format,
  keep: Type.Array(Type.String()),
  chunk_rows: Type.Integer(),
  model: Type.Optional(Type.String()),
  rows_total: Type.Optional(Type.Integer()),
  rows_done: Type.Integer(),
  error: Type.Optional(Type.String()),
  output: Type.Optional(Type.Object({ sha256: Type.String(), bytes: Type.Integer(), format: Format, url: Type.String() })),
  created_ms: Type.Integer(),
  started_ms: Type.Optional(Type.Integer()),
  finished_ms: Type.Optional(Type.Integer()),
});
export type JobJson = Static<typeof JobView>;

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) });

function view(j: Job): JobJson {
  return {
    id: j.id,
    deployment: j.deployment,
    state: j.state,
    input: j.input,
    output_format: j.outputFormat,
    keep: j.keep,
    chunk_rows: j.chunkRows,
    model: j.model,
    rows_total: j.rowsTotal,
    rows_done: j.rowsDone,
    error: j.error,
    output: j.output && { ...j.output, url: `/api/v1/jobs/${j.id}/output` },
    created_ms: j.createdMs,
    started_ms: j.startedMs,
    finished_ms: j.finishedMs,
  };
}

const MEDIA = { csv: 'text/csv', jsonl: 'application/x-ndjson', parquet: 'application/vnd.apache.parquet' };

export const jobRoutes: FastifyPluginAsync<{ platform: Platform }> = async (fastify, { platform }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const jobs = platform.services.jobs;
  const tags = ['batch jobs'];
  app.addHook('onListen', async () => jobs.start());

  app.post(
    '/api/v1/jobs',
    { config: { permission: 'edit' }, schema: { summary: 'Submit a batch scoring job (runs in the background)', tags, body: SubmitBody, response: { 201: JobView } } },
    async (request, reply) => {
      const b = request.body;
      const job = await jobs.submit({ deployment: b.deployment, input: b.input, outputFormat: b.output_format, keep: b.keep, chunkRows: b.chunk_rows });
      return reply.status(201).send(view(job));
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Batch jobs, newest first',
        tags,
        querystring: Type.Object({ deployment: Type.Optional(Type.String()), state: Type.Optional(State), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: Type.Object({ jobs: Type.Array(JobView) }) },
      },
    },
    async (request) => ({ jobs: (await jobs.list(request.query)).map(view) }),
  );

  app.get(
    '/api/v1/jobs/:id',
    { config: { permission: 'read' }, schema: { summary: 'A batch job: state, progress, row counts, error, output', tags, params: IdParams, response: { 200: JobView } } },
    async (request) => view(await jobs.get(request.params.id)),
  );

  app.post(
    '/api/v1/jobs/:id/cancel',
    { config: { permission: 'edit' }, schema: { summary: 'Cancel a queued or running job', tags, params: IdParams, response: { 200: JobView } } },
    async (request) => view(await jobs.cancel(request.params.id)),
  );

  app.get(
    '/api/v1/jobs/:id/output',
    { config: { permission: 'read' }, schema: { summary: "A finished job's output file", tags, params: IdParams, produces: ['application/octet-stream'] } },
    async (request, reply) => {
      const { job, stream } = await jobs.output(request.params.id);
      return reply
        .header('content-type', MEDIA[job.output!.format])
        .header('content-length', String(job.output!.bytes))
        .header('content-disposition', `attachment; filename="${job.id}.${job.output!.format}"`)
        .send(stream);
    },
  );
};
