/**
 * `modelport deploy NAME [--version V | --alias A]`: create a deployment of a registered model,
 * or move an existing one (to another version or alias) and tune it; `modelport deployments`
 * lists, shows and deletes them. The answer says whether the model loaded, and why not.
 */
import type { Command } from 'commander';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { ServingClient, type DeployRequest, type DeploymentInfo, type VariantRequest } from '../client/serving.js';
import { withClient } from './context.js';
import { servingClient } from './rollout.js';

interface DeployFlags {
  version?: string;
  alias?: string;
  name?: string;
  maxBatchSize?: string;
  maxQueueDelayUs?: string;
  maxQueueSize?: string;
  timeoutMs?: string;
  cache?: boolean;
  cacheMaxEntries?: string;
  cacheMaxBytes?: string;
  cacheTtlMs?: string;
  shared?: boolean;
  rateLimit?: string;
  burst?: string;
  rateLimitKey?: string;
  threads?: string;
  executor?: string;
  onnxEngine?: string;
  variant?: string[];
  userHeader?: string;
  routeBy?: string;
  variantTimeout?: string[];
  reason?: string;
}

function whole(raw: string | undefined, flag: string, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw invalidArgument(`${flag}: "${raw}" is not a whole number${min > 0 ? ` >= ${min}` : ''}`);
  return Number(raw);
}

function positive(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !(v > 0)) throw invalidArgument(`${flag}: "${raw}" is not a positive number`);
  return v;
}

const defined = <T extends object>(o: T): T | undefined => {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined);
  return entries.length > 0 ? (Object.fromEntries(entries) as T) : undefined;
};

function executorOf(raw: string | undefined): DeployRequest['executor'] {
  if (raw === undefined || raw === 'auto' || raw === 'worker' || raw === 'event-loop') return raw;
  throw invalidArgument(`--executor: "${raw}" must be auto, worker or event-loop`);
}

function onnxEngineOf(raw: string | undefined): DeployRequest['onnx_engine'] {
  if (raw === undefined || raw === 'auto' || raw === 'onnxruntime') return raw;
  throw invalidArgument(`--onnx-engine: "${raw}" must be auto or onnxruntime`);
}

/** `NAME=MODEL:VERSION:WEIGHT` or `NAME=MODEL@ALIAS:WEIGHT`; `shadow:PERCENT` instead of a weight makes a shadow. */
export function variantFromFlag(raw: string): VariantRequest {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=([^:@]+)(?::(\d+)|@([A-Za-z0-9_-]+)):(\d+|shadow:\d+)$/.exec(raw.trim());
  if (!m) throw invalidArgument(`--variant: "${raw}" must be NAME=MODEL:VERSION:WEIGHT or NAME=MODEL@ALIAS:WEIGHT (WEIGHT may be shadow:PERCENT)`);
  const [, name, model, version, alias, share] = m;
  const ref = version !== undefined ? { version: Number(version) } : { alias };
  if (share.startsWith('shadow:')) return { name, model, ...ref, shadow: true, mirror: Number(share.slice(7)) };
  return { name, model, ...ref, weight: Number(share) };
}

/** `--variant-timeout NAME=MS`, repeated: each variant's own timeout. */
function timeoutsFromFlags(raw: string[] | undefined): Record<string, number> | undefined {
  if (!raw || raw.length === 0) return undefined;
  return Object.fromEntries(
    raw.map((r) => {
      const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=(\d+)$/.exec(r.trim());
      if (!m || Number(m[2]) < 1) throw invalidArgument(`--variant-timeout: "${r}" must be NAME=MS (milliseconds >= 1)`);
      return [m[1], Number(m[2])];
    }),
  );
}

/** The deploy request the flags describe; every mistake names its flag. */
export function deployRequestFromFlags(model: string, flags: DeployFlags): DeployRequest {
  if (flags.version !== undefined && flags.alias !== undefined) throw invalidArgument('--version, --alias: give one, not both');
  const variants = flags.variant && flags.variant.length > 0 ? flags.variant.map(variantFromFlag) : undefined;
  if (variants && (flags.version !== undefined || flags.alias !== undefined)) throw invalidArgument('--variant: give variants or --version/--alias, not both');
  const key = flags.rateLimitKey;
  if (key !== undefined && key !== 'token' && key !== 'address') throw invalidArgument(`--rate-limit-key: "${key}" must be token or address`);
  const rps = positive(flags.rateLimit, '--rate-limit');
  const routing = defined({ header: flags.userHeader, input_field: flags.routeBy, timeouts_ms: timeoutsFromFlags(flags.variantTimeout) });
  return {
    name: flags.name ?? (variants ? model : undefined),
    model: variants ? undefined : model,
    ...(variants ? { variants } : {}),
    version: whole(flags.version, '--version', 1),
    alias: flags.alias,
    batching: defined({
      max_batch_size: whole(flags.maxBatchSize, '--max-batch-size', 1),
      max_queue_delay_us: whole(flags.maxQueueDelayUs, '--max-queue-delay-us'),
      max_queue_size: whole(flags.maxQueueSize, '--max-queue-size', 1),
      timeout_ms: whole(flags.timeoutMs, '--timeout-ms'),
    }),
    cache: defined({
      enabled: flags.cache,
      max_entries: whole(flags.cacheMaxEntries, '--cache-max-entries', 1),
      max_bytes: whole(flags.cacheMaxBytes, '--cache-max-bytes', 1024),
      ttl_ms: whole(flags.cacheTtlMs, '--cache-ttl-ms'),
      shared: flags.shared,
    }),
    rate_limit: defined({
      enabled: rps !== undefined ? true : undefined,
      requests_per_second: rps,
      burst: whole(flags.burst, '--burst', 1),
      key: key as 'token' | 'address' | undefined,
      shared: flags.shared,
    }),
    ...(routing ? { routing } : {}),
    ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
    threads: whole(flags.threads, '--threads', 1),
    executor: executorOf(flags.executor),
    onnx_engine: onnxEngineOf(flags.onnxEngine),
  };
}

export function describeDeployment(d: DeploymentInfo): string {
  const lines = [`${d.name}: ${d.state}${d.message ? ` (${d.message})` : ''}`];
  for (const v of d.variants) {
    const follows = v.alias !== undefined ? `${v.model}@${v.alias}` : `${v.model} version ${v.version}`;
    const where = v.runs_on ? ` (on ${v.runs_on}${v.engine ? `, ${v.engine} engine` : ''})` : '';
    const share = v.shadow ? ` (shadow of ${v.mirror}% of requests)` : d.variants.length > 1 ? ` (${v.weight}%)` : '';
    lines.push(`  ${v.name}${share}: ${follows}, serving ${v.serving_version ?? 'nothing'}${where}${v.loading_version ? `, loading ${v.loading_version}` : ''}`);
  }
  const b = d.batching;
  lines.push(`  batching: ${b.max_batch_size > 1 ? `up to ${b.max_batch_size} rows, ${b.max_queue_delay_us} µs delay` : 'off'}; queue ${b.max_queue_size}; timeout ${b.timeout_ms} ms`);
  lines.push(`  cache: ${d.cache.enabled ? `${d.cache.max_entries} entries, ${d.cache.max_bytes} bytes, ttl ${d.cache.ttl_ms || '∞'} ms${d.cache.shared ? ', shared' : ''}` : 'off'}`);
  if (d.variants.length > 1) lines.push(`  variant chosen by: ${d.routing.input_field ? `input ${d.routing.input_field}, then ` : ''}header ${d.routing.header}, then request id`);
  lines.push(`  rate limit: ${d.rate_limit.enabled ? `${d.rate_limit.requests_per_second}/s, burst ${d.rate_limit.burst}, per ${d.rate_limit.key}${d.rate_limit.shared ? ', across replicas' : ''}` : 'off'}`);
  // One replica says nothing its status above does not.
  for (const r of (d.replicas?.length ?? 0) > 1 ? d.replicas! : []) lines.push(`  replica ${r.replica}: ${r.state}${r.revision !== undefined ? ` at revision ${r.revision}` : ''}${r.variants.map((v) => `, ${v.name} serving ${v.serving_version ?? 'nothing'}`).join('')}`);
  return `${lines.join('\n')}\n`;
}

export function registerDeployCommand(program: Command): void {
  program
    .command('deploy')
    .description('deploy a registered model (or move/tune an existing deployment); pin --version or follow --alias')
    .argument('<model>', 'registered model name')
    // -v works today; the root program's own --version flag takes `--version` wherever it appears.
    .option('-v, --version <v>', 'pin this version (static deployment)')
    .option('--alias <alias>', 'follow this alias: the deployment moves when the alias moves')
    .option('--name <name>', 'deployment name (default: the model name)')
    .option('--max-batch-size <n>', 'dynamic batching: rows per model call (default 64; 1 = off)')
    .option('--max-queue-delay-us <us>', 'dynamic batching: how long a partial batch waits')
    .option('--max-queue-size <n>', 'requests waiting at most before 429')
    .option('--timeout-ms <ms>', 'per-request deadline (0 = none)')
    .option('--cache', 'turn the response cache on')
    .option('--cache-max-entries <n>', 'response cache entries')
    .option('--cache-max-bytes <n>', 'response cache bytes')
    .option('--cache-ttl-ms <ms>', 'response cache time to live (0 = none)')
    .option('--shared', 'keep the response cache and rate-limit buckets in Redis, shared by every replica')
    .option('--rate-limit <rps>', 'requests per second per client')
    .option('--burst <n>', 'rate limit bucket size')
    .option('--rate-limit-key <key>', 'token (bearer token, else address) | address')
    .option('--threads <n>', 'onnxruntime threads per session')
    .option('--executor <where>', 'auto (default) | worker (model math off the event loop) | event-loop')
    .option('--onnx-engine <engine>', 'auto (default: small batches of dense graphs in JavaScript when it agrees with onnxruntime) | onnxruntime')
    .option('--variant <spec...>', 'NAME=MODEL:VERSION:WEIGHT (or MODEL@ALIAS; WEIGHT shadow:PERCENT for a shadow); repeat, weights sum to 100')
    .option('--user-header <header>', 'request header whose value picks the variant (default x-user-id)')
    .option('--reason <text>', 'why (recorded with the revision this change makes)')
    .option('--route-by <input>', 'input field whose value picks the variant (before the header)')
    .option('--variant-timeout <name=ms...>', "a variant's own timeout; slower counts as its failure and the fallback answers (repeat; replaces all)")
    .action(async (model: string, flags: DeployFlags, cmd: Command) => {
      const request = deployRequestFromFlags(model, flags);
      await withClient(cmd, async (client) => {
        const serving = servingClient(client);
        if (request.version === undefined && request.alias === undefined && request.variants === undefined) {
          const existing = await serving.get(request.name ?? model).catch(() => undefined);
          if (!existing) throw invalidArgument('--version, --alias: a new deployment needs the version to pin or the alias to follow');
        }
        const d = await serving.deploy(request);
        process.stdout.write(describeDeployment(d));
        if (d.state === 'failed') throw failedPrecondition(`deployment "${d.name}" failed to load: ${d.message ?? 'unknown reason'}`);
      });
    });

  const deployments = program.command('deployments').description('list, show and delete deployments');
  deployments
    .command('list')
    .description('list deployments')
    .action(async (_flags: unknown, cmd: Command) =>
      withClient(cmd, async (client) => {
        const all = await new ServingClient(client).list();
        if (all.length === 0) process.stdout.write('no deployments\n');
        for (const d of all) process.stdout.write(describeDeployment(d));
      }),
    );
  deployments
    .command('show')
    .argument('<name>')
    .description('show a deployment and its status')
    .action(async (name: string, _flags: unknown, cmd: Command) =>
      withClient(cmd, async (client) => {
        process.stdout.write(describeDeployment(await new ServingClient(client).get(name)));
      }),
    );
  deployments
    .command('delete')
    .argument('<name>')
    .description('delete a deployment (its models are unloaded)')
    .action(async (name: string, _flags: unknown, cmd: Command) =>
      withClient(cmd, async (client) => {
        await new ServingClient(client).delete(name);
        process.stdout.write(`deleted deployment ${name}\n`);
      }),
    );
}
