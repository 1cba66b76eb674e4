/**
 * `modelport pipelines ...`: run a pipeline file and follow its steps, list and show runs,
 * cancel and resume them, read a step's logs, save pipelines and put them on a cron schedule
 * or an event trigger. Thin: flags → the pipelines API → lines.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { loadPipelineFile } from '../pipelines/yaml.js';
import { PipelinesClient, type RunView, type TriggerInput } from '../client/pipelines.js';
import { globalOptions, withClient } from './context.js';
import { progress } from './progress.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `--param k=v` flags → values (text; the server converts to each parameter's declared type). */
export function parseParams(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw invalidArgument(`--param: "${flag}" must be NAME=VALUE`);
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}

function positiveInt(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw invalidArgument(`${flag}: "${raw}" is not a whole number >= 1`);
  return n;
}

const ago = (ms?: number) => (ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

function formatRun(run: RunView): string {
  const lines = [`run ${run.id}  pipeline ${run.pipeline}  ${run.status}  ${run.progress.done}/${run.progress.total} steps  trigger ${run.trigger}  queue ${run.queue}`];
  if (run.trackingRunId) lines.push(`tracking run ${run.trackingRunId}`);
  if (run.error) lines.push(`error: ${run.error}`);
  for (const s of run.steps) {
    const took = s.startedAt !== undefined && s.endedAt !== undefined ? ` ${((s.endedAt - s.startedAt) / 1000).toFixed(1)}s` : '';
    const metrics = Object.entries(s.metrics).map(([k, v]) => `${k}=${Number(v.toFixed(6))}`).join(' ');
    lines.push(`  ${s.name.padEnd(20)} ${s.status.padEnd(15)} attempts ${s.attempts}${took}${metrics ? `  ${metrics}` : ''}${s.error ? `  (${s.error})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Follows a run until it ends: a line per step change (and a bar on a terminal); exit 1 unless it succeeded. */
async function follow(api: PipelinesClient, run: RunView): Promise<void> {
  process.stdout.write(`run ${run.id} started: pipeline ${run.pipeline}, ${run.steps.length} steps, queue ${run.queue}\n`);
  const bar = progress(`pipeline ${run.pipeline}`, run.progress.total);
  const seen = new Map(run.steps.map((s) => [s.name, 'pending']));
  let done = 0;
  const final = await api.wait(run.id, (r) => {
    for (const s of r.steps) {
      const key = `${s.status}:${s.attempts}`;
      if (seen.get(s.name) === key || (s.status === 'pending' && seen.get(s.name) === 'pending')) continue;
      seen.set(s.name, key);
      const note = s.status === 'cached' ? ' (skipped)' : s.status === 'retrying' ? ` (attempt ${s.attempts} failed: ${s.error})` : s.error ? ` (${s.error})` : '';
      process.stdout.write(`  ${s.name}: ${s.status}${note}\n`);
    }
    if (r.progress.done > done) {
      bar.tick(r.progress.done - done);
      done = r.progress.done;
    }
  });
  bar.done();
  process.stdout.write(`run ${final.id} ${final.status} (${final.progress.done}/${final.progress.total} steps)${final.error ? `: ${final.error}` : ''}\n`);
  if (final.status !== 'succeeded') process.exitCode = 1;
}

export function registerPipelinesCommand(program: Command): void {
  const pipelines = program.command('pipelines').description('run pipelines, follow and cancel runs, schedule and trigger retraining');

  pipelines
    .command('run')
    .description('run a pipeline file (YAML) and follow its steps; with --queue redis://HOST:PORT?name=QUEUE its steps run on workers')
    .argument('<file>', 'pipeline definition (.yaml, .yml or .json)')
    .option('--param <name=value>', 'a parameter value (repeatable)', collect, [])
    .option('--parallelism <n>', 'steps at once')
    .option('--detach', 'print the run id and return without following it')
    .action(async (file: string, flags: { param: string[]; parallelism?: string; detach?: boolean }, cmd: Command) => {
      const spec = loadPipelineFile(file);
      const queue = globalOptions(cmd).queue;
      const params = parseParams(flags.param);
      const parallelism = positiveInt(flags.parallelism, '--parallelism');
      await withClient(cmd, async (client) => {
        const api = new PipelinesClient(client);
        const run = await api.run(spec, { params, queue, parallelism });
        if (flags.detach) process.stdout.write(`${run.id}\n`);
        else await follow(api, run);
      });
    });

  pipelines
    .command('list')
    .description('runs, newest first')
    .option('--pipeline <name>', 'only this pipeline')
    .option('--status <status>', 'queued, running, succeeded, failed or cancelled')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (flags: { pipeline?: string; status?: string; limit: string }, cmd: Command) => {
      const limit = positiveInt(flags.limit, '--limit');
      await withClient(cmd, async (client) => {
        const runs = await new PipelinesClient(client).listRuns({ pipeline: flags.pipeline, status: flags.status, limit });
        if (runs.length === 0) process.stdout.write('no runs\n');
        for (const r of runs) process.stdout.write(`${r.id}  ${r.pipeline.padEnd(20)} ${r.status.padEnd(10)} ${r.progress.done}/${r.progress.total}  ${r.trigger.padEnd(12)} ${ago(r.createdAt)}\n`);
      });
    });

  pipelines
    .command('show')
    .description("a run's steps, states and progress")
    .argument('<run>', 'run id')
    .option('--watch', 'follow the run until it ends')
    .action(async (id: string, flags: { watch?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const api = new PipelinesClient(client);
        const run = await api.getRun(id);
        if (flags.watch && !['succeeded', 'failed', 'cancelled'].includes(run.status)) await follow(api, run);
        else process.stdout.write(formatRun(run));
      });
    });

  pipelines
    .command('cancel')
    .description('cancel a run: running steps are killed')
    .argument('<run>', 'run id')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const api = new PipelinesClient(client);
        await api.cancel(id);
        process.stdout.write(`cancel requested for run ${id}\n`);
      });
    });

  pipelines
    .command('resume')
    .description('continue a run whose driver died, after its last completed step')
    .argument('<run>', 'run id')
    .option('--detach', 'return at once instead of following the run')
    .action(async (id: string, flags: { detach?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const api = new PipelinesClient(client);
        const run = await api.resume(id);
        if (flags.detach) process.stdout.write(`resumed run ${id}\n`);
        else await follow(api, run);
      });
    });

  pipelines
    .command('logs')
    .description("a step's captured output")
    .argument('<run>', 'run id')
    .argument('<step>', 'step name')
    .option('--stderr', 'stderr instead of stdout')
    .action(async (id: string, step: string, flags: { stderr?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        process.stdout.write(await new PipelinesClient(client).logs(id, step, flags.stderr ? 'stderr' : 'stdout'));
      });
    });

  pipelines
    .command('schedule')
    .description('save a pipeline file and run it on a 5-field cron schedule')
    .argument('<file>', 'pipeline definition')
    .requiredOption('--cron <expression>', 'minute hour day-of-month month day-of-week, e.g. "0 3 * * *"')
    .option('--tz <zone>', 'IANA time zone the schedule is read in', 'UTC')
    .option('--param <name=value>', 'a parameter value (repeatable)', collect, [])
    .action(async (file: string, flags: { cron: string; tz: string; param: string[] }, cmd: Command) => {
      const spec = loadPipelineFile(file);
      await withClient(cmd, async (client) => {
        const api = new PipelinesClient(client);
        await api.save(spec);
        const s = await api.schedule(spec.name, { cron: flags.cron, timezone: flags.tz, params: parseParams(flags.param) });
        process.stdout.write(`schedule ${s.id}: pipeline ${s.pipeline} at "${s.cron}" (${s.timezone}); next run ${ago(s.nextAt)}\n`);
      });
    });

  pipelines
    .command('trigger')
    .description('save a pipeline file and run it on an event')
    .argument('<file>', 'pipeline definition')
    .requiredOption('--on <event>', 'dataset:NAME | alert[:DEPLOYMENT[:KIND]] | feedback:DEPLOYMENT:COUNT')
    .option('--param <name=value>', 'a parameter value (repeatable)', collect, [])
    .option('--version-param <name>', 'with dataset:NAME, the parameter that receives the new version number')
    .action(async (file: string, flags: { on: string; param: string[]; versionParam?: string }, cmd: Command) => {
      const spec = loadPipelineFile(file);
      const input = triggerFromFlag(flags.on, parseParams(flags.param), flags.versionParam);
      await withClient(cmd, async (client) => {
        const api = new PipelinesClient(client);
        await api.save(spec);
        const t = await api.trigger(spec.name, input);
        process.stdout.write(`trigger ${t.id}: pipeline ${t.pipeline} on ${flags.on}\n`);
      });
    });

  pipelines
    .command('saved')
    .description('saved pipelines (the ones schedules and triggers run)')
    .action(async (_flags: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const list = await new PipelinesClient(client).list();
        if (list.length === 0) process.stdout.write('no saved pipelines\n');
        for (const p of list) process.stdout.write(`${p.name.padEnd(24)} ${p.steps.length} steps  concurrency ${p.concurrency}\n`);
      });
    });
}

export function triggerFromFlag(on: string, params: Record<string, string>, versionParam?: string): TriggerInput {
  const [kind, a, b] = on.split(':');
  if (kind === 'dataset' && a) return { kind, dataset: a, params, versionParam };
  if (kind === 'alert') {
    if (b !== undefined && !['drift', 'performance', 'concept_drift'].includes(b)) throw invalidArgument(`--on: alert kind "${b}" must be drift, performance or concept_drift`);
    return { kind, deployment: a || undefined, alertKind: b as 'drift' | undefined, params };
  }
  if (kind === 'feedback' && a && b) return { kind, deployment: a, every: positiveInt(b, '--on feedback COUNT')!, params };
  throw invalidArgument(`--on: "${on}" must be dataset:NAME, alert[:DEPLOYMENT[:KIND]] or feedback:DEPLOYMENT:COUNT`);
}
