/**
 * `batch_predict`, a built-in pipeline step: a batch job (jobs/service.ts) scheduled from a
 * pipeline, so a nightly trigger can score a table. The input is a dataset version
 * (`with.dataset: NAME[@V]`) or a table an upstream step wrote (`with.from: STEP`, `with.file`,
 * default data.csv); the job runs on the deployment in the process that runs the step (the
 * driver, or a queue worker), is listed with the other jobs, and its output becomes the step's
 * `predictions.FORMAT` next to `job.json`.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { failedPrecondition, invalidArgument } from '../../core/errors.js';
import type { TableFormat } from '../../data/read-table.js';
import type { BuiltinStep, StepContext } from '../../pipelines/context.js';
import type { BlobStore } from '../../storage/blobs.js';
import type { OutputFormat } from './encode.js';
import type { JobInput, JobsService } from './service.js';

const text = (ctx: StepContext, key: string): string | undefined => {
  const v = ctx.with[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalidArgument(`step ${ctx.step}: with.${key} must be a non-empty string`);
  return v;
};

const formatOf = (options: Record<string, unknown>): string => (typeof options.output_format === 'string' ? options.output_format : 'csv');

async function inputOf(ctx: StepContext, blobs: BlobStore): Promise<JobInput> {
  const dataset = text(ctx, 'dataset');
  const from = text(ctx, 'from');
  if ((dataset === undefined) === (from === undefined)) throw invalidArgument(`step ${ctx.step}: give with.dataset (NAME or NAME@VERSION) or with.from (an upstream step), one of them`);
  if (dataset !== undefined) return { dataset };
  const dir = ctx.inputs[from!];
  if (dir === undefined) throw invalidArgument(`step ${ctx.step}: with.from: "${from}" is not a step this one needs`);
  const file = text(ctx, 'file') ?? 'data.csv';
  const path = join(dir, file);
  if (!existsSync(path)) throw failedPrecondition(`step ${ctx.step}: step ${from} wrote no ${file}`);
  const format = ({ '.csv': 'csv', '.jsonl': 'jsonl', '.parquet': 'parquet' } as Record<string, TableFormat>)[extname(file)];
  if (!format) throw invalidArgument(`step ${ctx.step}: with.file: "${file}" must end in .csv, .jsonl or .parquet`);
  const { sha256 } = await blobs.put(createReadStream(path));
  return { sha256, format };
}

export function batchPredictStep(jobs: JobsService, blobs: BlobStore, pollMs = 200): BuiltinStep {
  return {
    description: 'scores a dataset version or an upstream table through a deployment as a batch job (with: deployment, dataset | from + file, output_format, keep)',
    outputs: (options) => [`predictions.${formatOf(options)}`, 'job.json'],
    async run(ctx) {
      const deployment = text(ctx, 'deployment');
      if (!deployment) throw invalidArgument(`step ${ctx.step}: with.deployment is required`);
      const keep = ctx.with.keep === undefined ? undefined : String(ctx.with.keep).split(',').map((c) => c.trim()).filter(Boolean);
      let job = await jobs.submit({ deployment, input: await inputOf(ctx, blobs), outputFormat: formatOf(ctx.with) as OutputFormat, keep });
      ctx.log(`job ${job.id} submitted (deployment ${deployment})`);
      const cancel = () => void jobs.cancel(job.id).catch(() => undefined);
      ctx.signal.addEventListener('abort', cancel, { once: true });
      try {
        while (job.state === 'queued' || job.state === 'running') {
          await new Promise((resolve) => setTimeout(resolve, pollMs));
          job = await jobs.get(job.id);
        }
      } finally {
        ctx.signal.removeEventListener('abort', cancel);
      }
      await writeFile(join(ctx.outputDir, 'job.json'), JSON.stringify(job, null, 2));
      if (job.state !== 'succeeded') throw failedPrecondition(`job ${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}`);
      const { stream } = await jobs.output(job.id);
      await pipeline(stream, createWriteStream(join(ctx.outputDir, `predictions.${job.outputFormat}`)));
      ctx.log(`job ${job.id}: ${job.rowsDone} rows scored by ${job.model}`);
    },
  };
}
