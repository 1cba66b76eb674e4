/**
 * Pipeline definitions: what a user writes (a `PipelineSpec`, in TypeScript or YAML) and the
 * checked, normalised form the executors run (`Pipeline`). Every mistake is found before
 * anything runs and reported as one InvalidArgument naming the step and the field.
 */
import { invalidArgument } from '../core/errors.js';
import type { StepFunction } from './context.js';

export type ParamValue = string | number | boolean;
/** A declared parameter: its default, or null when every run must give it. */
export type ParamDefault = ParamValue | null;

export interface Resources {
  cpu: number;
  /** Bytes. */
  memory: number;
  gpu: number;
}

export interface StepSpec {
  name: string;
  /** Steps that must succeed first (inputs add their producers here too). */
  needs?: string[];
  /** A shell command (run in the pipeline's folder) or an async function (local runs only). */
  run?: string | StepFunction;
  /** A built-in step, e.g. `dataset.load`; its options go in `with`. */
  uses?: string;
  with?: Record<string, unknown>;
  /** The pipeline parameters this step reads (default: all); only these enter its cache key. */
  params?: string[];
  /** Files of upstream steps this step reads, as `STEP/FILE`. */
  inputs?: string[];
  /** Files this step leaves in its output folder; a missing one fails the step. */
  outputs?: string[];
  retries?: number;
  /** First retry delay (doubles each retry): "500ms", "5s", or milliseconds. */
  retryDelay?: string | number;
  timeout?: string | number;
  cache?: boolean;
  resources?: { cpu?: number; memory?: string | number; gpu?: number };
  env?: Record<string, string>;
}

export type ConcurrencyPolicy = 'skip' | 'queue' | 'replace';

export interface PipelineSpec {
  name: string;
  description?: string;
  params?: Record<string, ParamDefault>;
  steps: StepSpec[];
  /** What a trigger does while a run of this pipeline is active (default: queue). */
  concurrency?: ConcurrencyPolicy;
  /** Folder command steps run in (the YAML file's folder). */
  dir?: string;
}

export type StepKind = 'command' | 'builtin' | 'function';

export interface Step {
  name: string;
  kind: StepKind;
  command?: string;
  uses?: string;
  with: Record<string, unknown>;
  needs: string[];
  params: string[];
  inputs: { step: string; file: string }[];
  outputs: string[];
  retries: number;
  retryDelayMs: number;
  timeoutMs?: number;
  cache: boolean;
  resources: Resources;
  env: Record<string, string>;
}

export interface Pipeline {
  name: string;
  description: string;
  params: Record<string, ParamDefault>;
  steps: Step[];
  concurrency: ConcurrencyPolicy;
  dir?: string;
}

/** What a built-in step must tell validation: the files it writes for the options it is given. */
export interface BuiltinCatalog {
  has(uses: string): boolean;
  outputsOf(uses: string, options: Record<string, unknown>): string[];
  names(): string[];
}

/** Identity: gives TypeScript definitions their types. */
export function definePipeline(spec: PipelineSpec): PipelineSpec {
  return spec;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PARAM = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const PARAM_REF = /\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1e3, ki: 1024, m: 1e6, mi: 1024 ** 2, g: 1e9, gi: 1024 ** 3, t: 1e12, ti: 1024 ** 4 };
const STEP_FIELDS = new Set(['name', 'needs', 'run', 'uses', 'with', 'params', 'inputs', 'outputs', 'retries', 'retryDelay', 'timeout', 'cache', 'resources', 'env']);
const PIPELINE_FIELDS = new Set(['name', 'description', 'params', 'steps', 'concurrency', 'dir']);

/** "10m", "90s", "500ms", "1h" or a number of milliseconds. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim()) : null;
  if (!m || Number(m[1]) <= 0) throw invalidArgument(`${field}: ${JSON.stringify(value)} is not a duration like 500ms, 90s, 10m or 1h`);
  return Number(m[1]) * DURATION_UNITS[m[2]];
}

/** "512Mi", "2G", "1024" (bytes). */
export function parseMemory(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?)?[bB]?$/.exec(value.trim()) : null;
  if (!m) throw invalidArgument(`${field}: ${JSON.stringify(value)} is not an amount of memory like 512Mi or 2G`);
  return Math.round(Number(m[1]) * MEMORY_UNITS[(m[2] ?? '').toLowerCase()]);
}

/** "cpu=2,gpu=0,memory=4Gi" → Resources (omitted ones from `defaults`). */
export function parseResources(text: string, field: string, defaults: Resources): Resources {
  const out = { ...defaults };
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (key === 'memory') out.memory = parseMemory(value, `${field} memory`);
    else if (key === 'cpu' || key === 'gpu') out[key] = nonNegative(Number(value), `${field} ${key}`, value);
    else throw invalidArgument(`${field}: unknown resource "${key}"; use cpu, gpu or memory`);
  }
  return out;
}

function nonNegative(n: number, field: string, raw: unknown): number {
  if (!Number.isFinite(n) || n < 0) throw invalidArgument(`${field}: ${JSON.stringify(raw)} is not a number >= 0`);
  return n;
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalidArgument(`${field}: must be a list of names`);
  return value;
}

function isParamValue(v: unknown): v is ParamValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Every `${params.NAME}` in a step's options, however deeply nested. */
function paramRefs(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(PARAM_REF)) into.add(m[1]);
  else if (Array.isArray(value)) for (const v of value) paramRefs(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) paramRefs(v, into);
  return into;
}

/** Checks a spec and returns the form executors run; the error names the step and the field. */
export function normalizePipeline(spec: PipelineSpec, builtins: BuiltinCatalog): Pipeline {
  if (!spec || typeof spec !== 'object') throw invalidArgument('pipeline: must be an object with name and steps');
  for (const key of Object.keys(spec)) if (!PIPELINE_FIELDS.has(key)) throw invalidArgument(`pipeline: unknown field "${key}"`);
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) throw invalidArgument(`pipeline name: ${JSON.stringify(spec.name)} must be 1-128 letters, digits, '.', '_' or '-'`);
  const params: Record<string, ParamDefault> = {};
  for (const [key, value] of Object.entries(spec.params ?? {})) {
    if (!PARAM.test(key)) throw invalidArgument(`params: "${key}" is not a parameter name (letters, digits, '_')`);
    if (value !== null && !isParamValue(value)) throw invalidArgument(`params.${key}: must be a string, number, boolean or null (required)`);
    params[key] = value;
  }
  const concurrency = spec.concurrency ?? 'queue';
  if (!['skip', 'queue', 'replace'].includes(concurrency)) throw invalidArgument(`concurrency: "${concurrency}" must be skip, queue or replace`);
  if (!Array.isArray(spec.steps) || spec.steps.length === 0) throw invalidArgument(`pipeline ${spec.name}: steps must be a non-empty list`);

  const steps = spec.steps.map((s, i) => normalizeStep(s, i, params, builtins));
  const byName = new Map<string, Step>();
  for (const step of steps) {
    if (byName.has(step.name)) throw invalidArgument(`step ${step.name}: the name is used by two steps`);
    byName.set(step.name, step);
  }
  for (const step of steps) {
    for (const need of step.needs) {
      if (!byName.has(need)) throw invalidArgument(`step ${step.name}: needs unknown step "${need}"`);
      if (need === step.name) throw invalidArgument(`step ${step.name}: needs itself`);
    }
    for (const input of step.inputs) {
      const producer = byName.get(input.step);
      if (!producer) throw invalidArgument(`step ${step.name}: input "${input.step}/${input.file}" names unknown step "${input.step}"`);
      if (!producer.outputs.includes(input.file)) {
        throw invalidArgument(`step ${step.name}: input "${input.step}/${input.file}" is not an output of step ${input.step} (it declares ${producer.outputs.join(', ') || 'none'})`);
      }
    }
  }
  const cycle = findCycle(steps);
  if (cycle) throw invalidArgument(`step ${cycle[0]}: dependency cycle ${cycle.join(' -> ')}`);
  return { name: spec.name, description: spec.description ?? '', params, steps: topologicalOrder(steps), concurrency, dir: spec.dir };
}

function normalizeStep(s: StepSpec, index: number, params: Record<string, ParamDefault>, builtins: BuiltinCatalog): Step {
  if (!s || typeof s !== 'object') throw invalidArgument(`steps[${index}]: must be an object`);
  if (typeof s.name !== 'string' || !NAME.test(s.name)) throw invalidArgument(`steps[${index}].name: ${JSON.stringify(s.name)} must be 1-128 letters, digits, '.', '_' or '-'`);
  const where = `step ${s.name}`;
  for (const key of Object.keys(s)) if (!STEP_FIELDS.has(key)) throw invalidArgument(`${where}: unknown field "${key}"`);
  if ((s.run === undefined) === (s.uses === undefined)) throw invalidArgument(`${where}: give exactly one of run (a command or function) and uses (a built-in step)`);
  const options = s.with ?? {};
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidArgument(`${where}: with must be a mapping`);
  if (s.uses !== undefined && !builtins.has(s.uses)) throw invalidArgument(`${where}: uses unknown built-in step "${s.uses}" (known: ${builtins.names().join(', ')})`);
  if (typeof s.run === 'string' && s.run.trim() === '') throw invalidArgument(`${where}: run is an empty command`);
  if (s.run !== undefined && typeof s.run !== 'string' && typeof s.run !== 'function') throw invalidArgument(`${where}: run must be a shell command or a function`);

  const declared = s.params === undefined ? Object.keys(params) : stringList(s.params, `${where} params`);
  for (const p of [...declared, ...paramRefs(options, new Set())]) {
    if (!(p in params)) throw invalidArgument(`${where}: uses parameter "${p}", which the pipeline does not declare`);
  }
  const inputs = stringList(s.inputs, `${where} inputs`).map((ref) => {
    const slash = ref.indexOf('/');
    if (slash <= 0 || slash === ref.length - 1) throw invalidArgument(`${where}: input "${ref}" must be STEP/FILE`);
    return { step: ref.slice(0, slash), file: ref.slice(slash + 1) };
  });
  const declaredOutputs = stringList(s.outputs, `${where} outputs`);
  for (const o of declaredOutputs) {
    if (o.startsWith('/') || o.split('/').includes('..')) throw invalidArgument(`${where}: output "${o}" must be a path inside the output folder`);
  }
  const outputs = [...new Set([...(s.uses ? builtins.outputsOf(s.uses, options) : []), ...declaredOutputs])];
  const retries = s.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) throw invalidArgument(`${where}: retries must be a whole number from 0 to 100`);
  const r = s.resources ?? {};
  const resources: Resources = {
    cpu: nonNegative(Number(r.cpu ?? 1), `${where} resources.cpu`, r.cpu),
    memory: parseMemory(r.memory ?? 0, `${where} resources.memory`),
    gpu: nonNegative(Number(r.gpu ?? 0), `${where} resources.gpu`, r.gpu),
  };
  const env = s.env ?? {};
  for (const [k, v] of Object.entries(env)) if (typeof v !== 'string') throw invalidArgument(`${where}: env.${k} must be a string`);
  return {
    name: s.name,
    kind: s.uses !== undefined ? 'builtin' : typeof s.run === 'function' ? 'function' : 'command',
    command: typeof s.run === 'string' ? s.run : undefined,
    uses: s.uses,
    with: options,
    needs: [...new Set([...stringList(s.needs, `${where} needs`), ...inputs.map((i) => i.step)])],
    params: declared,
    inputs,
    outputs,
    retries,
    retryDelayMs: s.retryDelay === undefined ? 1000 : parseDuration(s.retryDelay, `${where} retryDelay`),
    timeoutMs: s.timeout === undefined ? undefined : parseDuration(s.timeout, `${where} timeout`),
    cache: s.cache ?? false,
    resources,
    env,
  };
}

function findCycle(steps: readonly Step[]): string[] | undefined {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'visiting');
    path.push(name);
    for (const need of byName.get(name)!.needs) {
      const found = visit(need);
      if (found) return found;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of steps) {
    const found = visit(s.name);
    if (found) return found;
  }
  return undefined;
}

/** Steps in an order where every step follows its needs, ties kept in the written order. */
function topologicalOrder(steps: readonly Step[]): Step[] {
  const done = new Set<string>();
  const out: Step[] = [];
  while (out.length < steps.length) {
    for (const s of steps) {
      if (!done.has(s.name) && s.needs.every((n) => done.has(n))) {
        done.add(s.name);
        out.push(s);
      }
    }
  }
  return out;
}

/** The run's parameter values: declared defaults overridden by `given`; unknown or missing ones are errors. */
export function resolveParams(pipeline: Pipeline, given: Record<string, unknown>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(key in pipeline.params)) throw invalidArgument(`--param ${key}: pipeline ${pipeline.name} has no parameter "${key}" (it has ${Object.keys(pipeline.params).join(', ') || 'none'})`);
    if (!isParamValue(value)) throw invalidArgument(`--param ${key}: must be a string, number or boolean`);
  }
  for (const [key, def] of Object.entries(pipeline.params)) {
    const value = key in given ? (given[key] as ParamValue) : def;
    if (value === null) throw invalidArgument(`--param ${key}: pipeline ${pipeline.name} needs a value for "${key}"`);
    // A value given as text (a CLI flag) takes the declared default's type.
    out[key] = typeof value === 'string' && typeof def === 'number' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : typeof value === 'string' && typeof def === 'boolean' && /^(true|false)$/.test(value) ? value === 'true' : value;
  }
  return out;
}

/** Replaces `${params.NAME}` in a step's options; a whole-string reference keeps the value's type. */
export function substituteParams(value: unknown, params: Record<string, ParamValue>): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{params\.([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (whole) return params[whole[1]];
    return value.replace(PARAM_REF, (_m, name: string) => String(params[name]));
  }
  if (Array.isArray(value)) return value.map((v) => substituteParams(v, params));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteParams(v, params)]));
  return value;
}

/** The environment variable name for a step or parameter: upper case, '-' and '.' as '_'. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}
