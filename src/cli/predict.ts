/**
 * `modelport predict NAME --input FILE --output FILE [--keep COLS]`: a batch job scoring a CSV,
 * JSON Lines or Parquet file through deployment NAME, in chunks, with a progress bar. Embedded,
 * it scores in this process on the deployment's runtime; with --server, over the V2 protocol.
 * Interrupted, the same command resumes where it stopped and writes the same bytes.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { createPlatform } from '../platform.js';
import { deploymentScorer } from '../serving/jobs/scorer.js';
import { outputFormatOf, runBatchJob, DEFAULT_CHUNK_ROWS, type BatchJobSpec, type Scorer } from '../serving/jobs/run.js';
import { serverScorer } from '../client/jobs.js';
import { ModelportClient } from '../client/client.js';
import { configFrom, globalOptions } from './context.js';
import { progress, type Progress } from './progress.js';

interface PredictFlags {
  input: string;
  output: string;
  batchSize: string;
  keep?: string;
}

/** The job the flags describe; mistakes name the flag. */
export function batchSpecFromFlags(deployment: string, flags: PredictFlags): BatchJobSpec {
  const chunkRows = Number(flags.batchSize);
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw invalidArgument(`--batch-size: "${flags.batchSize}" is not a whole number >= 1`);
  outputFormatOf(flags.output);
  const keep = flags.keep === undefined ? [] : flags.keep.split(',').map((k) => k.trim());
  if (keep.some((k) => k === '')) throw invalidArgument(`--keep: "${flags.keep}" has an empty column name`);
  return { deployment, input: flags.input, output: flags.output, keep, chunkRows };
}

/** A scorer for deployment `name`: in this process when embedded, over V2 with --server. */
export async function withScorer<T>(cmd: Command, deployment: string, fn: (scorer: Scorer) => Promise<T>): Promise<T> {
  const opts = globalOptions(cmd);
  const server = opts.server ?? process.env.MODELPORT_SERVER;
  if (server) {
    const client = new ModelportClient(server, { token: opts.token ?? process.env.MODELPORT_TOKEN });
    try {
      return await fn(await serverScorer(client, deployment));
    } finally {
      await client.close();
    }
  }
  const platform = await createPlatform({ ...configFrom(cmd), logLevel: 'silent' });
  try {
    return await fn(await deploymentScorer(platform.services.serving, deployment));
  } finally {
    await platform.close();
  }
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('score a CSV / JSONL / Parquet file through a deployment (resumable batch job)')
    .argument('<deployment>', 'deployment name')
    .requiredOption('--input <file>', 'rows to score (.csv, .tsv, .jsonl, .parquet)')
    .requiredOption('--output <file>', 'where to write predictions (.csv, .jsonl or .parquet)')
    .option('--keep <columns>', 'input columns to copy to the output before the predictions, comma-separated')
    .option('--batch-size <rows>', 'rows per chunk (the unit of scoring and of resuming)', String(DEFAULT_CHUNK_ROWS))
    .action(async (deployment: string, flags: PredictFlags, cmd: Command) => {
      const spec = batchSpecFromFlags(deployment, flags);
      let bar: Progress | undefined;
      const result = await withScorer(cmd, deployment, (scorer) =>
        runBatchJob(spec, scorer, {
          ownsProcess: true,
          onStart(total, alreadyDone) {
            if (alreadyDone > 0) process.stderr.write(`resuming: ${alreadyDone} of ${total} rows were scored by an interrupted run\n`);
            bar = progress(`scoring ${total} rows`, total, process.stderr, { unit: 'rows', start: alreadyDone });
          },
          onChunk: (rows) => bar?.tick(rows),
        }),
      );
      bar?.done();
      process.stdout.write(`wrote ${result.rows} predictions to ${flags.output} (${result.format})\n`);
    });
}
