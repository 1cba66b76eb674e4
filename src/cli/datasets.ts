/**
 * `modelport datasets ...`: register, list, show, validate, diff, schema and lineage of
 * dataset versions. Against a server (--server) files are streamed up; embedded, the platform
 * reads them in place (folders too).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import type { ModelportClient } from '../client/client.js';
import { DatasetsClient, datasetRef, type DatasetRef } from '../client/datasets.js';
import type { ColumnProfile, DatasetDiff, DatasetVersion, ValidationReport } from '../data/types.js';
import { globalOptions, withClient } from './context.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export function io(command: Command): Io {
  // Commander's output configuration (inherited from the program) lets tests capture output.
  const c = command.configureOutput();
  return {
    out: c.writeOut ?? ((t: string) => process.stdout.write(t)),
    err: c.writeErr ?? ((t: string) => process.stderr.write(t)),
  };
}

async function withDatasets<T>(cmd: Command, fn: (datasets: DatasetsClient) => Promise<T>): Promise<T> {
  const opts = globalOptions(cmd);
  const server = opts.server ?? process.env.MODELPORT_SERVER;
  const token = opts.token ?? process.env.MODELPORT_TOKEN;
  return withClient(cmd, (client: ModelportClient) => fn(new DatasetsClient(client, server ? { url: server, token } : undefined)));
}

function parseRef(raw: string, what: string): DatasetRef {
  const ref = datasetRef(raw);
  if (ref.version !== undefined && !(Number.isInteger(ref.version) && ref.version > 0)) {
    throw invalidArgument(`${what}: "${raw}" must be NAME or NAME@VERSION with a positive whole VERSION`);
  }
  return ref;
}

function parseVersion(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(raw)) throw invalidArgument(`${flag}: "${raw}" is not a version number`);
  return Number(raw);
}

function checkFormat(raw: string | undefined): 'csv' | 'jsonl' | 'parquet' | undefined {
  if (raw === undefined) return undefined;
  if (raw !== 'csv' && raw !== 'jsonl' && raw !== 'parquet') throw invalidArgument(`--format: "${raw}" is not csv, jsonl or parquet`);
  return raw;
}

/** Plain text table, columns padded to their widest cell. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const int = (n: number) => n.toLocaleString('en-US');
const num = (x: number | string | undefined) =>
  x === undefined ? '' : typeof x === 'string' ? x : Number.isInteger(x) ? String(x) : Number(x.toPrecision(6)).toString();
const pct = (x: number) => `${Number((x * 100).toFixed(2))}%`;
const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function describeVersion(v: DatasetVersion): string {
  return `${v.name}@${v.version}: ${int(v.rowCount)} rows × ${v.columnCount} columns, ${v.format}${v.kind === 'folder' ? ' folder' : ''}, ${int(v.sizeBytes)} bytes, sha256 ${v.digest}`;
}

function profileTable(columns: ColumnProfile[]): string {
  return renderTable(
    ['column', 'type', 'missing', 'distinct', 'min', 'max', 'mean', 'std', 'top values'],
    columns.map((c) => [
      c.name,
      c.type,
      pct(c.missingShare),
      int(c.distinct),
      num(c.min),
      num(c.max),
      num(c.mean),
      num(c.std),
      c.topValues
        .slice(0, 3)
        .map((t) => `${t.value} (${int(t.count)})`)
        .join(', '),
    ]),
  );
}

export function renderValidation(name: string, file: string, report: ValidationReport): string {
  const against = report.comparedWith !== undefined ? `, drift against ${name}@${report.comparedWith}` : '';
  if (report.valid) return `${file}: valid against the schema of ${name} (${int(report.rowCount)} rows${against})\n`;
  const lines = [`${file}: ${report.anomalies.length} anomal${report.anomalies.length === 1 ? 'y' : 'ies'} against the schema of ${name} (${int(report.rowCount)} rows${against})`];
  for (const a of report.anomalies) lines.push(`  ${a.kind.padEnd(20)} ${a.message}`);
  return lines.join('\n') + '\n';
}

export function renderDiff(d: DatasetDiff): string {
  const head = `${d.a.name}@${d.a.version} (${int(d.a.rowCount)} rows) → ${d.b.name}@${d.b.version} (${int(d.b.rowCount)} rows)${d.sameContent ? ': same content' : ''}\n`;
  const rows = d.columns.map((c) => [
    c.name,
    c.change,
    c.typeA === c.typeB ? (c.typeA ?? '') : `${c.typeA ?? '-'} → ${c.typeB ?? '-'}`,
    c.missingShareA === undefined || c.missingShareB === undefined ? '' : `${pct(c.missingShareA)} → ${pct(c.missingShareB)}`,
    c.meanA === undefined || c.meanB === undefined ? '' : `${num(c.meanA)} → ${num(c.meanB)}`,
    c.distinctA === undefined || c.distinctB === undefined ? '' : `${int(c.distinctA)} → ${int(c.distinctB)}`,
    c.jensenShannon !== undefined ? `JS ${num(c.jensenShannon)}` : c.lInfinity !== undefined ? `L∞ ${num(c.lInfinity)} (${c.lInfinityValue})` : '',
  ]);
  return head + renderTable(['column', 'change', 'type', 'missing', 'mean', 'distinct', 'distance'], rows);
}

interface SourceFlags {
  format?: string;
  delimiter?: string;
  json?: boolean;
}

export function registerDatasetsCommand(program: Command): Command {
  const datasets = program.command('datasets').description('versioned datasets: register, profile, validate and compare (CSV, JSONL, Parquet)');

  datasets
    .command('register')
    .description('register a file (or, embedded, a folder) as a new version of NAME; identical content is not stored twice')
    .argument('<name>', 'dataset name')
    .argument('<path>', 'CSV, TSV, JSON Lines or Parquet file, or a folder of them')
    .option('--description <text>', 'what this version is')
    .option('--format <format>', 'csv | jsonl | parquet (default: from the extension)')
    .option('--delimiter <char>', 'CSV field separator (default ",", tab for .tsv)')
    .option('--validate', "refuse the version when it breaks the dataset's schema")
    .option('--json', 'print the version as JSON')
    .action(async (name: string, path: string, flags: SourceFlags & { description?: string; validate?: boolean }, command: Command) => {
      const { out } = io(command);
      const result = await withDatasets(command, (d) =>
        d.register(name, path, {
          description: flags.description,
          format: checkFormat(flags.format),
          delimiter: flags.delimiter,
          validate: flags.validate,
          creator: userInfo().username,
        }),
      );
      if (flags.json) return out(JSON.stringify(result, null, 2) + '\n');
      const v = result.version;
      const kept = `${v.name}@${v.version} already holds this content (sha256 ${v.digest})`;
      out(result.created ? `registered ${describeVersion(v)}\n` : result.described ? `described: ${kept}; its description is now "${v.description}"\n` : `unchanged: ${kept}\n`);
    });

  datasets
    .command('list')
    .description('list datasets and their latest versions')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const { out } = io(command);
      const list = await withDatasets(command, (d) => d.list());
      if (flags.json) return out(JSON.stringify(list, null, 2) + '\n');
      if (list.length === 0) return out('no datasets yet; register one with: modelport datasets register NAME FILE\n');
      out(
        renderTable(
          ['name', 'latest', 'versions', 'rows', 'columns', 'updated'],
          list.map((s) => [s.name, String(s.latestVersion), String(s.versionCount), int(s.rowCount), String(s.columnCount), when(s.updatedAt)]),
        ),
      );
    });

  datasets
    .command('delete')
    .description('delete a dataset, or one version of it (NAME@VERSION)')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .action(async (raw: string, _flags: unknown, command: Command) => {
      const { out } = io(command);
      const ref = parseRef(raw, 'dataset');
      const { deleted } = await withDatasets(command, (d) => d.delete(ref));
      out(`deleted ${ref.name} version${deleted.length === 1 ? '' : 's'} ${deleted.join(', ')}\n`);
    });

  datasets
    .command('show')
    .description('a version (latest by default) with its column profile')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .option('--json', 'print the version, schema and profile as JSON')
    .action(async (raw: string, flags: { json?: boolean }, command: Command) => {
      const { out } = io(command);
      const v = await withDatasets(command, (d) => d.version(parseRef(raw, 'dataset')));
      if (flags.json) return out(JSON.stringify(v, null, 2) + '\n');
      const meta = [
        describeVersion(v),
        `source: ${v.source}`,
        `created ${when(v.createdAt)} by ${v.creator}${v.description ? `: ${v.description}` : ''}`,
        '',
      ].join('\n');
      out(meta + '\n' + profileTable(v.profile?.columns ?? []));
    });

  datasets
    .command('validate')
    .description("check a file against NAME's schema and for drift against its latest version; exits 1 when anomalies are found")
    .argument('<name>', 'dataset name')
    .argument('<path>', 'the data to check')
    .option('--against <version>', 'compare drift with this version instead of the latest')
    .option('--format <format>', 'csv | jsonl | parquet (default: from the extension)')
    .option('--delimiter <char>', 'CSV field separator')
    .option('--json', 'print the report as JSON')
    .action(async (name: string, path: string, flags: SourceFlags & { against?: string }, command: Command) => {
      const { out } = io(command);
      const report = await withDatasets(command, (d) =>
        d.validate(name, path, { against: parseVersion(flags.against, '--against'), format: checkFormat(flags.format), delimiter: flags.delimiter }),
      );
      out(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderValidation(name, path, report));
      if (!report.valid) process.exitCode = 1;
    });

  datasets
    .command('diff')
    .description('compare two versions column by column (types, missing values, means, distinct counts, drift distances)')
    .argument('<a>', 'NAME@VERSION')
    .argument('<b>', 'NAME@VERSION')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, flags: { json?: boolean }, command: Command) => {
      const { out } = io(command);
      const diff = await withDatasets(command, (d) => d.diff(parseRef(a, 'first version'), parseRef(b, 'second version')));
      out(flags.json ? JSON.stringify(diff, null, 2) + '\n' : renderDiff(diff));
    });

  datasets
    .command('schema')
    .description("print NAME's validation schema (JSON); --set replaces it with an edited file, --infer re-infers it from a version")
    .argument('<name>', 'dataset name')
    .option('--set <file>', 'a schema JSON file to store')
    .option('--infer [version]', 'infer from a version (latest by default) and store it')
    .action(async (name: string, flags: { set?: string; infer?: string | boolean }, command: Command) => {
      const { out } = io(command);
      if (flags.set && flags.infer) throw invalidArgument('--set and --infer cannot be used together');
      let edited: unknown;
      if (flags.set) {
        try {
          edited = JSON.parse(readFileSync(flags.set, 'utf8'));
        } catch (err) {
          throw invalidArgument(`--set ${flags.set}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      const schema = await withDatasets(command, (d) => {
        if (flags.set) return d.setSchema(name, edited as never);
        if (flags.infer) return d.inferSchema(name, { version: typeof flags.infer === 'string' ? parseVersion(flags.infer, '--infer') : undefined, save: true });
        return d.schema(name);
      });
      out(JSON.stringify(schema, null, 2) + '\n');
    });

  datasets
    .command('lineage')
    .description('runs that used a version and models trained on it')
    .argument('<ref>', 'NAME or NAME@VERSION')
    .option('--json', 'print JSON')
    .action(async (raw: string, flags: { json?: boolean }, command: Command) => {
      const { out } = io(command);
      const l = await withDatasets(command, (d) => d.lineage(parseRef(raw, 'dataset')));
      if (flags.json) return out(JSON.stringify(l, null, 2) + '\n');
      const lines = [`${l.name}@${l.version}`];
      lines.push(l.runs.length ? `runs:\n${l.runs.map((r) => `  ${r.runId} (${r.context}, ${when(r.createdAt)})`).join('\n')}` : 'runs: none');
      lines.push(
        l.models.length ? `models:\n${l.models.map((m) => `  ${m.modelName} v${m.modelVersion}${m.runId ? ` (run ${m.runId})` : ''}`).join('\n')}` : 'models: none',
      );
      out(lines.join('\n') + '\n');
    });

  for (const cmd of datasets.commands) cmd.exitOverride();
  return datasets;
}
