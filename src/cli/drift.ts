/**
 * `modelport drift --reference FILE --current FILE`: data drift between two tables, printed or
 * written as JSON or a self-contained HTML report. Bad input throws a ModelportError; the
 * program's caller prints its one-line message and exits 2.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { readTable } from '../data/read-table.js';
import { analyzeDrift, isDriftMethod, DRIFT_METHODS, type ColumnKind, type DriftMethod, type DriftOptions } from '../monitoring/drift/index.js';
import { renderDriftHtml, renderDriftJson } from '../monitoring/report/index.js';

interface DriftFlags {
  reference: string;
  current: string;
  format?: string;
  output?: string;
  threshold: string[];
  method: string[];
  driftShare?: string;
  columns?: string;
  categorical?: string;
  numerical?: string;
  prediction?: string;
  target?: string;
  id?: string;
  timestamp?: string;
  detectIdentity?: boolean;
  failOnDrift?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');

function parseNumber(raw: string, flag: string): number {
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v)) throw invalidArgument(`${flag}: "${raw}" is not a number`);
  return v;
}

/** Splits "COLUMN=VALUE" (last '=' wins, so column names may contain '='), or a bare VALUE for all columns. */
function splitAssignment(raw: string): [string | undefined, string] {
  const i = raw.lastIndexOf('=');
  return i < 0 ? [undefined, raw] : [raw.slice(0, i), raw.slice(i + 1)];
}

function checkMethod(raw: string): DriftMethod {
  if (!isDriftMethod(raw)) throw invalidArgument(`--method: unknown method "${raw}"; use one of ${DRIFT_METHODS.join(', ')}`);
  return raw;
}

/** Turns the command-line flags into drift options; every mistake is an InvalidArgument naming the flag. */
export function driftOptionsFromFlags(flags: DriftFlags): DriftOptions {
  const options: DriftOptions = { referenceName: flags.reference, currentName: flags.current };
  const perColumn: NonNullable<DriftOptions['perColumn']> = {};
  for (const raw of flags.threshold) {
    const [col, value] = splitAssignment(raw);
    const t = parseNumber(value, '--threshold');
    if (col === undefined) options.threshold = t;
    else perColumn[col] = { ...perColumn[col], threshold: t };
  }
  for (const raw of flags.method) {
    const [col, value] = splitAssignment(raw);
    const m = checkMethod(value.trim());
    if (col === undefined) options.method = m;
    else perColumn[col] = { ...perColumn[col], method: m };
  }
  if (Object.keys(perColumn).length > 0) options.perColumn = perColumn;
  if (flags.driftShare !== undefined) options.driftShare = parseNumber(flags.driftShare, '--drift-share');
  if (flags.columns !== undefined) options.columns = list(flags.columns);
  const types: Record<string, ColumnKind> = {};
  for (const c of list(flags.categorical)) types[c] = 'categorical';
  for (const c of list(flags.numerical)) {
    if (types[c]) throw invalidArgument(`column "${c}" is given as both --categorical and --numerical`);
    types[c] = 'numerical';
  }
  if (Object.keys(types).length > 0) options.columnTypes = types;
  if (flags.prediction) options.predictionColumn = flags.prediction;
  if (flags.target) options.targetColumn = flags.target;
  if (flags.id !== undefined) options.idColumns = list(flags.id);
  if (flags.timestamp !== undefined) options.timestampColumns = list(flags.timestamp);
  if (flags.detectIdentity === false) options.detectIdentity = false;
  return options;
}

function outputFormat(flags: DriftFlags): 'json' | 'html' {
  const f = flags.format ?? (flags.output && ['.html', '.htm'].includes(extname(flags.output).toLowerCase()) ? 'html' : 'json');
  if (f !== 'json' && f !== 'html') throw invalidArgument(`--format: "${f}" is not json or html`);
  return f;
}

export function registerDriftCommand(program: Command): Command {
  return program
    .command('drift')
    .description('compare a current table with a reference table, column by column (CSV, JSONL or Parquet)')
    .requiredOption('--reference <file>', 'reference data: the distribution the model was trained or validated on')
    .requiredOption('--current <file>', 'current data: the window to check')
    .option('--format <format>', 'json | html (default: html when --output ends in .html, else json)')
    .option('--output <file>', 'write the report here instead of standard output')
    .option('--threshold <value>', 'drift threshold for all columns, or COLUMN=VALUE; repeatable', collect, [])
    .option('--method <method>', `test for all columns, or COLUMN=METHOD; repeatable (${DRIFT_METHODS.join(', ')})`, collect, [])
    .option('--drift-share <share>', 'dataset drift when this share of columns drifts', '0.5')
    .option('--columns <names>', 'compare only these columns (comma-separated)')
    .option('--categorical <names>', 'treat these columns as categorical (comma-separated)')
    .option('--numerical <names>', 'treat these columns as numerical (comma-separated)')
    .option('--prediction <column>', 'the model output column (reported as prediction drift)')
    .option('--target <column>', 'the label column')
    .option('--id <columns>', 'row identifier columns: reported, never compared (comma-separated)')
    .option('--timestamp <columns>', 'timestamp columns: reported, never compared (comma-separated)')
    .option('--no-detect-identity', 'compare every column, even ones that look like ids or timestamps')
    .option('--fail-on-drift', 'exit with status 1 when dataset drift is detected')
    .addHelpText(
      'after',
      `
Default tests follow Evidently's data-drift preset: with at most 1,000 reference values, KS (numerical)
and chi-square / z-test (categorical, or few distinct values); above that, normed Wasserstein
(numerical) and Jensen-Shannon. Examples:
  modelport drift --reference train.csv --current last_week.parquet --output drift.html
  modelport drift --reference a.csv --current b.csv --method psi --threshold 0.2 --threshold age=0.1`,
    )
    .action(async (flags: DriftFlags, command: Command) => {
      // Commander's output configuration (inherited from the program) lets tests capture output.
      const io = command.configureOutput();
      const out = io.writeOut ?? ((t: string) => process.stdout.write(t));
      const err = io.writeErr ?? ((t: string) => process.stderr.write(t));
      const options = driftOptionsFromFlags(flags);
      const format = outputFormat(flags);
      const [reference, current] = await Promise.all([readTable(flags.reference), readTable(flags.current)]);
      const report = analyzeDrift(reference, current, options);
      const text = format === 'html' ? renderDriftHtml(report) : renderDriftJson(report);
      if (flags.output) {
        try {
          writeFileSync(flags.output, text);
        } catch (err) {
          throw invalidArgument(`--output ${flags.output}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
        const s = report.summary;
        const leftOut = report.columns.filter((c) => c.role === 'id' || c.role === 'timestamp');
        const note = leftOut.length > 0 ? ` (left out as ${leftOut.map((c) => `${c.role}: ${c.column}`).join(', ')})` : '';
        err(
          `${s.datasetDrift ? 'dataset drift' : 'no dataset drift'}: ${s.drifted} of ${s.computed} columns drifted${note}; report written to ${flags.output}\n`,
        );
      } else {
        out(text);
      }
      if (flags.failOnDrift && report.summary.datasetDrift) process.exitCode = 1;
    });
}
