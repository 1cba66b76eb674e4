/**
 * Safe-rollout commands: `modelport rollout NAME --version V` starts a canary rollout and
 * `modelport rollout status|pause|resume|abort|promote NAME` follows and steers it, `modelport rollouts NAME` lists
 * the earlier ones;
 * `modelport revisions NAME` lists a deployment's changes, `modelport rollback NAME [--to REVISION]`
 * restores one.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { failedPrecondition, invalidArgument, notFound } from '../core/errors.js';
import { ServingClient, type AbInfo, type RevisionInfo, type RolloutAction, type RolloutInfo, type RolloutRequest } from '../client/serving.js';
import type { ModelportClient } from '../client/client.js';
import { describeDeployment } from './deploy.js';
import { globalOptions, withClient } from './context.js';

/** Changes made from the CLI are recorded as made by the logged-in user. */
export function servingClient(client: ModelportClient): ServingClient {
  let actor: string | undefined;
  try {
    actor = userInfo().username;
  } catch {
    actor = undefined;
  }
  return new ServingClient(client, { actor });
}

export function wholeFlag(raw: string | undefined, flag: string, min = 1): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw invalidArgument(`${flag}: "${raw}" is not a whole number >= ${min}`);
  return Number(raw);
}

function describeRevision(r: RevisionInfo): string {
  const variants = r.variants
    .map((v) => `${v.name}=${v.model}${v.alias !== undefined ? `@${v.alias}` : `:${v.version}`}:${v.shadow ? `shadow:${v.mirror}` : v.weight}`)
    .join(' ');
  return `${String(r.revision).padStart(4)}  ${new Date(r.created_ms).toISOString()}  ${r.actor}  ${variants}  ${r.reason}\n`;
}

interface RolloutFlags {
  version?: string;
  alias?: string;
  model?: string;
  steps?: string;
  minStepSeconds?: string;
  minRequests?: string;
  maxErrorRateIncrease?: string;
  maxP99Ratio?: string;
  metric?: string;
  maxMetricDrop?: string;
  minFeedback?: string;
  moveAlias?: string;
  format?: string;
  wait?: boolean;
  pollSeconds?: string;
}

function numberFlag(raw: string | undefined, flag: string, min: number, max = Infinity): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !(v >= min && v <= max)) throw invalidArgument(`${flag}: "${raw}" must be a number in ${min}..${max}`);
  return v;
}

/** The rollout request the flags describe; every mistake names its flag. */
export function rolloutRequestFromFlags(flags: RolloutFlags): RolloutRequest {
  if ((flags.version === undefined) === (flags.alias === undefined)) throw invalidArgument('--version, --alias: give the canary version or the alias it follows (one of them)');
  const steps = flags.steps?.split(',').map((s, i) => {
    if (!/^\s*\d+\s*$/.test(s)) throw invalidArgument(`--steps: "${flags.steps}" must be whole percentages separated by commas (step ${i + 1} is "${s}")`);
    return Number(s);
  });
  const gates = {
    max_error_rate_increase: numberFlag(flags.maxErrorRateIncrease, '--max-error-rate-increase', 0, 1),
    max_p99_ratio: numberFlag(flags.maxP99Ratio, '--max-p99-ratio', 1),
    metric: flags.metric,
    max_metric_drop: numberFlag(flags.maxMetricDrop, '--max-metric-drop', 0),
    min_feedback: wholeFlag(flags.minFeedback, '--min-feedback'),
  };
  const given = Object.fromEntries(Object.entries(gates).filter(([, v]) => v !== undefined));
  return Object.fromEntries(
    Object.entries({
      model: flags.model,
      version: wholeFlag(flags.version, '--version'),
      alias: flags.alias,
      steps,
      min_step_seconds: numberFlag(flags.minStepSeconds, '--min-step-seconds', 0),
      min_requests: wholeFlag(flags.minRequests, '--min-requests'),
      gates: Object.keys(given).length > 0 ? given : undefined,
      move_alias: flags.moveAlias,
    }).filter(([, v]) => v !== undefined),
  ) as RolloutRequest;
}

export function describeRollout(r: RolloutInfo): string {
  const canary = r.canary.alias !== undefined ? `${r.canary.model}@${r.canary.alias}` : `${r.canary.model} version ${r.canary.version}`;
  const lines = [`${r.deployment}: rollout ${r.id} ${r.state}, canary ${canary} at ${r.weight}% (step ${r.step + 1} of ${r.steps.join(' → ')})`];
  if (r.reason) lines.push(`  reason: ${r.reason}`);
  const l = r.last;
  if (l) {
    const side = (name: string, s: typeof l.canary) =>
      `  ${name}: ${s.requests} requests, ${s.errors} errors (${(s.error_rate * 100).toFixed(2)}%)${s.p99_ms !== undefined ? `, p99 ${s.p99_ms.toFixed(2)} ms` : ''}${s.metric !== undefined ? `, ${r.gates.metric} ${s.metric.toFixed(4)} on ${s.feedback} labels` : ''}`;
    lines.push(side('canary', l.canary), side('primary', l.primary));
    for (const g of l.gates) lines.push(`  ${g.passed ? 'pass' : 'FAIL'} ${g.gate}: ${g.detail}`);
    if (l.waiting) lines.push(`  waiting: ${l.waiting}`);
  }
  for (const e of r.events) lines.push(`  ${new Date(e.at_ms).toISOString()} ${e.what}`);
  return `${lines.join('\n')}\n`;
}

/** One rollout in a list: when, what, how far and how it ended. */
export function describeRolloutLine(r: RolloutInfo): string {
  const canary = r.canary.alias !== undefined ? `${r.canary.model}@${r.canary.alias}` : `${r.canary.model}:${r.canary.version}`;
  return `${r.id}  ${new Date(r.created_ms).toISOString()}  ${r.state.padEnd(11)}  ${canary} at ${r.weight}% (${r.steps.join(',')})${r.reason ? `  ${r.reason}` : ''}\n`;
}

export function describeAb(a: AbInfo): string {
  const pct = (x: number) => (a.kind === 'conversion' ? `${(x * 100).toFixed(2)}%` : x.toFixed(4));
  const group = (g: Pick<AbInfo, 'arms' | 'comparisons'>, indent: string) => {
    const lines = g.arms.map((arm) => `${indent}${arm.variant}: ${arm.n} outcomes, ${a.kind === 'conversion' ? 'conversion' : 'mean reward'} ${pct(arm.mean)}`);
    for (const c of g.comparisons) {
      lines.push(
        `${indent}${c.variant} vs ${c.control}: ${c.diff >= 0 ? '+' : ''}${pct(c.diff)}${c.relative !== undefined ? ` (${c.relative >= 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}%)` : ''}, ` +
          `${Math.round((1 - a.alpha) * 100)}% CI [${pct(c.ci[0])}, ${pct(c.ci[1])}], p ${c.p_value.toPrecision(3)} (${c.test}), ` +
          `always-valid p ${c.sequential_p_value.toPrecision(3)}: ${c.significant ? 'significant' : 'not significant yet'}`,
      );
    }
    return lines;
  };
  const lines = [`${a.deployment}: A/B analysis of ${a.kind}s, alpha ${a.alpha}`, ...group(a, '  ')];
  if (a.sample_size) lines.push(`  sample size to detect a ${(a.sample_size.mde * 100).toFixed(0)}% relative lift: ${a.sample_size.per_arm} per arm`);
  for (const s of a.segments ?? []) lines.push(`  segment ${s.segment}:`, ...group(s, '    '));
  return `${lines.join('\n')}\n`;
}

const ROLLOUT_ACTIONS = ['status', 'pause', 'resume', 'abort', 'promote'];

const ENDED = new Set(['promoted', 'rolled_back', 'aborted']);

/** The deployment's current (or last) rollout; a deployment that never had one is the command's error. */
async function rolloutOf(serving: ServingClient, name: string): Promise<RolloutInfo> {
  const r = await serving.rollout(name);
  if (!r) throw notFound(`deployment "${name}" has no rollout`);
  return r;
}

/**
 * Follows a rollout until it ends, writing it whenever its step or state changes; a rollout that
 * ends other than promoted fails the command (so a script or CI job stops on a rollback).
 */
async function follow(serving: ServingClient, name: string, first: RolloutInfo, pollMs: number, write: (r: RolloutInfo) => void): Promise<void> {
  let r = first;
  let seen = `${r.state}/${r.step}`;
  while (!ENDED.has(r.state)) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    r = await rolloutOf(serving, name);
    if (`${r.state}/${r.step}` !== seen) {
      seen = `${r.state}/${r.step}`;
      write(r);
    }
  }
  if (r.state !== 'promoted') throw failedPrecondition(`rollout ${r.id} of "${name}" ${r.state.replace('_', ' ')}${r.reason ? `: ${r.reason}` : ''}`);
}

export function registerRolloutCommands(program: Command): void {
  program
    .command('rollout')
    .description('start a canary rollout (rollout NAME --version V), or: rollout status|pause|resume|abort|promote NAME')
    .argument('<name-or-action>', 'deployment name, or status | pause | resume | abort | promote')
    .argument('[name]', 'deployment name, after an action')
    .option('-v, --version <v>', 'canary version')
    .option('--alias <alias>', 'canary follows this alias')
    .option('--model <model>', "canary's registered model (default: the primary's)")
    .option('--steps <list>', 'canary weights per step (default 10,25,50,100)')
    .option('--min-step-seconds <s>', 'each step lasts at least this long (default 300)')
    .option('--min-requests <n>', 'canary requests per step at least (default 100)')
    .option('--max-error-rate-increase <x>', 'canary error rate may exceed the primary by this much (default 0.02)')
    .option('--max-p99-ratio <x>', "canary p99 may be this multiple of the primary's (default 1.5)")
    .option('--metric <name>', 'model metric gate from feedback: accuracy, roc_auc, f1, mae, ...')
    .option('--max-metric-drop <x>', 'tolerated drop of the metric (default 0.02)')
    .option('--min-feedback <n>', 'labels per variant before the metric gate judges (default 100)')
    .option('--move-alias <alias>', "on promotion, point this alias at the canary's version")
    .option('--format <format>', 'text | json', 'text')
    .option('--wait', 'follow the rollout until it is promoted (exit 0), rolled back or aborted (exit 2)')
    .option('--poll-seconds <s>', 'with --wait: how often to look', '5')
    .action(async (first: string, second: string | undefined, flags: RolloutFlags, cmd: Command) => {
      if (flags.format !== 'text' && flags.format !== 'json') throw invalidArgument(`--format: "${flags.format}" must be text or json`);
      const action = ROLLOUT_ACTIONS.includes(first) ? first : undefined;
      const name = action ? second : first;
      if (!name) throw invalidArgument(`rollout ${first}: give the deployment name`);
      if (!action && second !== undefined) throw invalidArgument(`rollout: "${first}" is not an action (${ROLLOUT_ACTIONS.join(', ')})`);
      const request = action ? undefined : rolloutRequestFromFlags(flags);
      const pollMs = numberFlag(flags.pollSeconds, '--poll-seconds', 0.05, 3600)! * 1000;
      const embedded = !(globalOptions(cmd).server ?? process.env.MODELPORT_SERVER);
      const write = (r: RolloutInfo) => process.stdout.write(flags.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : describeRollout(r));
      await withClient(cmd, async (client) => {
        const serving = servingClient(client);
        const r = !action ? await serving.startRollout(name, request!) : action === 'status' ? await rolloutOf(serving, name) : await serving.rolloutAction(name, action as RolloutAction);
        write(r);
        // Gates judge live traffic, and a command without --server serves none: its controller
        // would wait forever. The rollout is in the store, where a server's controller runs it.
        if (embedded && !ENDED.has(r.state)) {
          process.stderr.write(
            `note: no server runs in this process; rollout ${r.id} is kept in the store and advances while \`modelport server\` on this store serves "${name}" ` +
              `(its controller resumes it). Follow it with \`modelport rollout status ${name}${flags.wait ? '' : ' --wait'}\`.\n`,
          );
        }
        if (flags.wait) await follow(serving, name, r, pollMs, write);
      });
    });

  program
    .command('ab')
    .description("A/B analysis of a deployment's variants from feedback outcomes (0/1 labels or numeric values)")
    .argument('<name>', 'deployment name')
    .option('--control <variant>', 'variant the others are compared with (default: the first)')
    .option('--segment <field>', 'logged input field to split the analysis by')
    .option('--alpha <x>', 'significance level (default 0.05)')
    .option('--mde <x>', 'relative lift the sample size is computed for (default 0.1)')
    .option('--format <format>', 'text | json', 'text')
    .action(async (name: string, flags: { control?: string; segment?: string; alpha?: string; mde?: string; format: string }, cmd: Command) => {
      if (flags.format !== 'text' && flags.format !== 'json') throw invalidArgument(`--format: "${flags.format}" must be text or json`);
      const query = { control: flags.control, segment: flags.segment, alpha: numberFlag(flags.alpha, '--alpha', 1e-9, 0.4999), mde: numberFlag(flags.mde, '--mde', 1e-9, 10) };
      await withClient(cmd, async (client) => {
        const a = await servingClient(client).ab(name, query);
        if (a.kind === 'none') throw failedPrecondition(`deployment "${name}" has no outcomes to analyse: send feedback (label 0/1 for a conversion, value for a reward) for its request ids`);
        process.stdout.write(flags.format === 'json' ? `${JSON.stringify(a, null, 2)}\n` : describeAb(a));
      });
    });

  program
    .command('rollouts')
    .description("list a deployment's rollouts, newest first: state, canary, final step and why it ended")
    .argument('<name>', 'deployment name')
    .option('--limit <n>', 'newest rollouts to show', '20')
    .option('--format <format>', 'text | json', 'text')
    .action(async (name: string, flags: { limit: string; format: string }, cmd: Command) => {
      if (flags.format !== 'text' && flags.format !== 'json') throw invalidArgument(`--format: "${flags.format}" must be text or json`);
      const limit = wholeFlag(flags.limit, '--limit');
      await withClient(cmd, async (client) => {
        const list = await servingClient(client).rollouts(name, limit);
        process.stdout.write(flags.format === 'json' ? `${JSON.stringify(list, null, 2)}\n` : list.map(describeRolloutLine).join(''));
      });
    });

  program
    .command('revisions')
    .description("list a deployment's revisions: who changed what, when and why")
    .argument('<name>', 'deployment name')
    .option('--limit <n>', 'newest revisions to show', '20')
    .action(async (name: string, flags: { limit: string }, cmd: Command) => {
      const limit = wholeFlag(flags.limit, '--limit');
      await withClient(cmd, async (client) => {
        for (const r of await servingClient(client).revisions(name, limit)) process.stdout.write(describeRevision(r));
      });
    });

  program
    .command('rollback')
    .description('restore the previous revision of a deployment (or --to REVISION) in one step')
    .argument('<name>', 'deployment name')
    .option('--to <revision>', 'revision to restore (default: the previous one)')
    .option('--reason <text>', 'why (recorded with the new revision)')
    .action(async (name: string, flags: { to?: string; reason?: string }, cmd: Command) => {
      const to = wholeFlag(flags.to, '--to');
      await withClient(cmd, async (client) => {
        const d = await servingClient(client).rollback(name, { to, reason: flags.reason });
        process.stdout.write(`rolled back to revision ${to ?? d.revision - 2} (now revision ${d.revision})\n`);
        process.stdout.write(describeDeployment(d));
      });
    });
}
