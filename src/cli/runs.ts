/** `modelport runs list|show`: search runs of an experiment and show one run. */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { TrackingClient, type Run } from '../client/tracking.js';
import { withClient } from './context.js';
import { renderTable } from './datasets.js';
import { when } from './experiments.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const num = (x: number) => (Number.isInteger(x) || !Number.isFinite(x) ? String(x) : Number(x.toPrecision(6)).toString());

const MAX_METRIC_COLUMNS = 6;
/** `metrics.auc`, ``metrics.`val auc` ``, `params."depth"` in MLflow's search and order-by grammar. */
const KEY_REF = /\b(metrics?|params?)\.(?:`([^`]+)`|"([^"]+)"|([\w./-]+))/g;

/** The metric and param keys a filter or order-by names, in the order named. */
export function mentionedKeys(texts: string[]): { metrics: string[]; params: string[] } {
  const metrics = new Set<string>();
  const params = new Set<string>();
  for (const text of texts) {
    for (const m of text.matchAll(KEY_REF)) (m[1]!.startsWith('metric') ? metrics : params).add(m[2] ?? m[3] ?? m[4]!);
  }
  return { metrics: [...metrics], params: [...params] };
}

export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('experiment tracking: search and inspect runs');

  runs
    .command('list')
    .description('runs of an experiment, filtered and ordered with MLflow search syntax')
    .requiredOption('--experiment <name>', 'experiment name')
    .option('--filter <expr>', `e.g. "metrics.accuracy > 0.9 AND params.depth = '6'"`)
    .option('--order-by <item>', 'e.g. "metrics.accuracy DESC" (repeatable)', collect, [])
    .option('--max-results <n>', 'at most this many runs', '100')
    .option('--all', 'include deleted runs')
    .option('--json', 'print JSON')
    .action(
      async (opts: { experiment: string; filter?: string; orderBy: string[]; maxResults: string; all?: boolean; json?: boolean }, cmd: Command) => {
        const max = Number(opts.maxResults);
        if (!Number.isSafeInteger(max) || max < 1 || max > 50_000) throw invalidArgument(`--max-results: "${opts.maxResults}" is not a whole number from 1 to 50000`);
        await withClient(cmd, async (client) => {
          const tracking = new TrackingClient(client);
          const experiment = await tracking.getExperimentByName(opts.experiment);
          const { runs: found } = await tracking.searchRuns({
            experiment_ids: [experiment.experiment_id],
            filter: opts.filter,
            order_by: opts.orderBy,
            max_results: max,
            run_view_type: opts.all ? 'ALL' : 'ACTIVE_ONLY',
          });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
            return;
          }
          // The params and metrics the user filtered or sorted by come first, then other metrics the
          // runs share, so a sweep reads as a table.
          const mentioned = mentionedKeys([opts.filter ?? '', ...opts.orderBy]);
          const logged = [...new Set(found.flatMap((r) => r.data.metrics.map((m) => m.key)))].sort();
          const metricKeys = [...new Set([...mentioned.metrics, ...logged])].slice(0, Math.max(MAX_METRIC_COLUMNS, mentioned.metrics.length));
          process.stdout.write(
            renderTable(
              ['run id', 'name', 'status', 'started', ...mentioned.params.map((k) => `params.${k}`), ...metricKeys],
              found.map((r) => [
                r.info.run_id,
                r.info.run_name,
                r.info.status,
                when(r.info.start_time),
                ...mentioned.params.map((k) => r.data.params.find((x) => x.key === k)?.value ?? ''),
                ...metricKeys.map((k) => {
                  const m = r.data.metrics.find((x) => x.key === k);
                  return m ? num(m.value) : '';
                }),
              ]),
            ),
          );
        });
      },
    );

  runs
    .command('show')
    .description('one run: info, params, latest metrics, tags, dataset inputs')
    .argument('<run-id>', 'run id')
    .option('--json', 'print JSON')
    .action(async (runId: string, opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const run = await new TrackingClient(client).getRun(runId);
        process.stdout.write(opts.json ? `${JSON.stringify(run, null, 2)}\n` : describeRun(run));
      });
    });
}

export function describeRun(run: Run): string {
  const i = run.info;
  const lines = [
    `run ${i.run_id} (${i.run_name})`,
    `  experiment  ${i.experiment_id}`,
    `  status      ${i.status}${i.lifecycle_stage === 'deleted' ? ' (deleted)' : ''}`,
    `  started     ${when(i.start_time)}${i.end_time !== undefined ? `, ended ${when(i.end_time)}` : ''}`,
    `  artifacts   ${i.artifact_uri}`,
  ];
  const section = (title: string, rows: string[][]) => {
    if (rows.length === 0) return;
    lines.push('', title);
    for (const row of renderTable(['key', 'value'], rows).trimEnd().split('\n').slice(1)) lines.push(`  ${row}`);
  };
  section('params', run.data.params.map((p) => [p.key, p.value]));
  section('metrics (latest)', run.data.metrics.map((m) => [m.key, `${num(m.value)} (step ${m.step})`]));
  section('tags', run.data.tags.map((t) => [t.key, t.value]));
  section('datasets', run.inputs.dataset_inputs.map((d) => [d.dataset.name, `digest ${d.dataset.digest}, source ${d.dataset.source_type}`]));
  return `${lines.join('\n')}\n`;
}
