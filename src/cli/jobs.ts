/**
 * `modelport jobs submit|list|show|cancel`: batch jobs run by a server. `submit --input FILE`
 * streams the file to the artifact store first; `--dataset REF` scores a registered dataset.
 * Embedded (no --server) the job runs in this process and the command waits for it.
 */
import { extname } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { tableFormatOf } from '../data/read-table.js';
import { JobsClient, type JobJson } from '../client/jobs.js';
import { globalOptions, withClient } from './context.js';
import { withUploadingClient } from './models.js';
import { batchSpecFromFlags } from './predict.js';
import { progress, type Progress } from './progress.js';

interface SubmitFlags {
  input?: string;
  dataset?: string;
  outputFormat: string;
  keep?: string;
  batchSize?: string;
  wait?: boolean;
  output?: string;
}

export function describeJob(j: JobJson): string {
  const rows = j.rows_total === undefined ? `${j.rows_done} rows` : `${j.rows_done}/${j.rows_total} rows`;
  const lines = [`${j.id}: ${j.state} (deployment ${j.deployment}, ${rows})`];
  if (j.model) lines.push(`  model: ${j.model}`);
  if (j.error) lines.push(`  error: ${j.error}`);
  if (j.output) lines.push(`  output: ${j.output.format}, ${j.output.bytes} bytes, sha256 ${j.output.sha256} (${j.output.url})`);
  return `${lines.join('\n')}\n`;
}

/** Follows a job to its end with a progress bar; a failed or cancelled job is a failed command. */
async function follow(jobs: JobsClient, job: JobJson, output: string | undefined): Promise<void> {
  let bar: Progress | undefined;
  let shown = 0;
  const done = await jobs.wait(job.id, (j) => {
    if (j.rows_total === undefined) return;
    bar ??= progress(`job ${j.id}: scoring ${j.rows_total} rows`, j.rows_total, process.stderr, { unit: 'rows', start: j.rows_done });
    shown = Math.max(shown, j.rows_done);
    bar.tick(j.rows_done - shown);
  });
  if (done.state === 'succeeded') {
    bar?.tick(done.rows_done - shown);
    bar?.done();
  }
  process.stdout.write(describeJob(done));
  if (done.state !== 'succeeded') throw invalidArgument(`job ${done.id} ${done.state}${done.error ? `: ${done.error}` : ''}`);
  if (output) {
    writeFileSync(output, await jobs.output(done.id));
    process.stdout.write(`wrote ${output}\n`);
  }
}

export function registerJobsCommand(program: Command): void {
  const jobs = program.command('jobs').description('batch scoring jobs run by a server');

  jobs
    .command('submit')
    .description('submit a file or dataset to be scored by a deployment in the background')
    .argument('<deployment>', 'deployment name')
    .option('--input <file>', 'a local CSV / JSONL / Parquet file (uploaded to the artifact store)')
    .option('--dataset <ref>', 'a registered dataset: NAME or NAME@VERSION')
    .option('--output-format <format>', 'csv, jsonl or parquet', 'csv')
    .option('--keep <columns>', 'input columns to copy to the output, comma-separated')
    .option('--batch-size <rows>', 'rows per chunk')
    .option('--wait', 'wait for the job to finish (always, when embedded)')
    .option('--output <file>', 'with --wait: download the output here')
    .action(async (deployment: string, flags: SubmitFlags, cmd: Command) => {
      if ((flags.input === undefined) === (flags.dataset === undefined)) throw invalidArgument('--input, --dataset: give one of them');
      const spec = batchSpecFromFlags(deployment, { input: flags.input ?? '', output: `out.${flags.outputFormat}`, keep: flags.keep, batchSize: flags.batchSize ?? '10000' });
      const format = flags.input === undefined ? undefined : tableFormatOf(flags.input);
      if (flags.input !== undefined && !format) throw invalidArgument(`--input: "${flags.input}" has an unknown format "${extname(flags.input)}"; use .csv, .jsonl or .parquet`);
      const embedded = !(globalOptions(cmd).server ?? process.env.MODELPORT_SERVER);
      await withUploadingClient(cmd, { roles: [] }, async (client, upload) => {
        const input = flags.input === undefined ? { dataset: flags.dataset } : { sha256: (await upload(flags.input)).sha256, format };
        const api = new JobsClient(client);
        const job = await api.submit({
          deployment,
          input,
          output_format: flags.outputFormat as 'csv',
          keep: spec.keep,
          chunk_rows: flags.batchSize === undefined ? undefined : spec.chunkRows,
        });
        if (embedded || flags.wait) await follow(api, job, flags.output);
        else process.stdout.write(describeJob(job));
      });
    });

  jobs
    .command('list')
    .description('batch jobs, newest first')
    .option('--deployment <name>', 'only this deployment')
    .option('--state <state>', 'queued | running | succeeded | failed | cancelled')
    .action(async (flags: { deployment?: string; state?: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const list = await new JobsClient(client).list(flags);
        process.stdout.write(list.length === 0 ? 'no jobs\n' : list.map(describeJob).join(''));
      });
    });

  jobs
    .command('show')
    .description("a job's state, progress, error and output")
    .argument('<id>', 'job id')
    .option('--output <file>', 'download the output of a finished job here')
    .action(async (id: string, flags: { output?: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const api = new JobsClient(client);
        process.stdout.write(describeJob(await api.get(id)));
        if (flags.output) {
          writeFileSync(flags.output, await api.output(id));
          process.stdout.write(`wrote ${flags.output}\n`);
        }
      });
    });

  jobs
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'job id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => process.stdout.write(describeJob(await new JobsClient(client).cancel(id))));
    });
}
