/**
 * `modelport predict NAME --input FILE --output FILE`: batch scoring of a CSV, JSON Lines or
 * Parquet file through deployment NAME, in chunks, with a progress bar. The output holds the
 * predictions (one column per output; vector outputs become NAME_0, NAME_1, ...) in input order,
 * as CSV, JSON Lines or Parquet by the output file's extension.
 */
import { createWriteStream, rmSync } from 'node:fs';
import { extname } from 'node:path';
import { once } from 'node:events';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { readTable, tableFormatOf, type Table } from '../data/read-table.js';
import { ServingClient } from '../client/serving.js';
import { withClient } from './context.js';
import { progress } from './progress.js';

interface PredictFlags {
  input: string;
  output: string;
  batchSize: string;
}

type Row = Record<string, unknown>;

/** Predictions of one chunk as flat records: scalars keep their name, vectors are numbered. */
export function flattenPredictions(predictions: unknown, rows: number): Row[] {
  if (!Array.isArray(predictions) || predictions.length !== rows) {
    throw invalidArgument(`the server answered ${Array.isArray(predictions) ? predictions.length : 'no'} predictions for ${rows} rows`);
  }
  return predictions.map((p) => {
    const out: Row = {};
    const put = (name: string, value: unknown) => {
      if (Array.isArray(value)) value.flat(Infinity).forEach((v, i) => (out[`${name}_${i}`] = v));
      else out[name] = value;
    };
    if (p && typeof p === 'object' && !Array.isArray(p)) for (const [k, v] of Object.entries(p)) put(k, v);
    else put('prediction', p);
    return out;
  });
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function chunkOf(table: Table, start: number, end: number): { columns: string[]; data: unknown[][] } {
  const data: unknown[][] = [];
  for (let r = start; r < end; r++) {
    data.push(table.columns.map((c) => (c.type === 'number' ? (Number.isNaN(c.values[r]) ? null : c.values[r]) : c.values[r])));
  }
  return { columns: table.columns.map((c) => c.name), data };
}

async function writeParquet(jsonl: string, output: string): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const quote = (p: string) => `'${p.replace(/'/g, "''")}'`;
  try {
    await con.run(`COPY (SELECT * FROM read_json_auto(${quote(jsonl)}, format = 'newline_delimited')) TO ${quote(output)} (FORMAT PARQUET)`);
  } finally {
    con.closeSync();
  }
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('score a CSV / JSONL / Parquet file through a deployment')
    .argument('<deployment>', 'deployment name')
    .requiredOption('--input <file>', 'rows to score (.csv, .tsv, .jsonl, .parquet)')
    .requiredOption('--output <file>', 'where to write predictions (.csv, .jsonl or .parquet)')
    .option('--batch-size <rows>', 'rows per request', '1000')
    .action(async (deployment: string, flags: PredictFlags, cmd: Command) => {
      const batchSize = Number(flags.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument(`--batch-size: "${flags.batchSize}" is not a whole number >= 1`);
      const format = tableFormatOf(flags.output);
      if (!format) throw invalidArgument(`--output: "${flags.output}" should end in .csv, .jsonl or .parquet`);
      const table = await readTable(flags.input);
      await withClient(cmd, async (client) => {
        const serving = new ServingClient(client);
        await serving.get(deployment);
        const target = format === 'parquet' ? `${flags.output}.tmp.jsonl` : flags.output;
        const out = createWriteStream(target);
        const bar = progress(`scoring ${table.rowCount} rows`, table.rowCount);
        let header: string[] | undefined;
        const write = async (text: string) => {
          if (!out.write(text)) await once(out, 'drain');
        };
        try {
          for (let start = 0; start < table.rowCount; start += batchSize) {
            const end = Math.min(table.rowCount, start + batchSize);
            const predictions = await serving.predict(deployment, { dataframe_split: chunkOf(table, start, end) });
            for (const row of flattenPredictions(predictions, end - start)) {
              if (format === 'csv') {
                if (!header) {
                  header = Object.keys(row);
                  await write(`${header.map(csvCell).join(',')}\n`);
                }
                await write(`${header.map((h) => csvCell(row[h])).join(',')}\n`);
              } else await write(`${JSON.stringify(row)}\n`);
            }
            bar.tick(end - start);
          }
          out.end();
          await once(out, 'finish');
          bar.done();
          if (format === 'parquet') await writeParquet(target, flags.output);
        } finally {
          out.destroy();
          if (format === 'parquet') rmSync(target, { force: true });
        }
        process.stdout.write(`wrote ${table.rowCount} predictions to ${flags.output}${extname(flags.output) ? '' : ` (${format})`}\n`);
      });
    });
}
