/**
 * Drives one pipeline run: starts every step whose needs have succeeded, up to the run's
 * parallelism and the executor's resources, through the task queue (this process or BullMQ
 * workers); retries failed attempts with exponential backoff; skips steps whose cache key has
 * stored outputs; and records every transition in the store before acting on it, so a driver
 * that dies is replaced by one that continues after the last completed step.
 *
 * Scheduling is event-driven: a step's end releases its dependents at once (each step counts
 * the needs it still waits for), so no step waits for a tick and a wide DAG costs O(edges).
 * Writes go through a group-commit writer: a step's start is one transaction (its cache lookup,
 * its nested tracking run and its state), its end another, and writes made in the same turn of
 * the event loop share one commit. A step's end and the start of the steps it releases are
 * queued together, so they commit together, and a released step is submitted only after that
 * commit: nothing is acted on before it is recorded.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { TrackingService } from '../tracking/service.js';
import type { Experiment } from '../tracking/types.js';
import type { GroupWriter } from '../tracking/writer.js';
import type { TaskQueue } from '../storage/queue.js';
import { ModelportError } from '../core/errors.js';
import { killGroup } from './command.js';
import { substituteParams, type Pipeline, type ParamValue, type Resources, type Step } from './definition.js';
import type { PipelineTables, PlStepTable, RunStatus, StepStatus } from './tables.js';
import type { StepResult, StepTask } from './task.js';

const DONE: ReadonlySet<StepStatus> = new Set(['succeeded', 'cached']);
const BROKEN: ReadonlySet<StepStatus> = new Set(['failed', 'cancelled', 'upstream_failed']);
/** Longest wait between two retries of a step. */
const MAX_BACKOFF_MS = 10 * 60_000;

export interface DriverDeps {
  clock: Clock;
  tracking: TrackingService;
  queue: TaskQueue<StepTask, StepResult>;
  /** Group commit for the run's records; one transaction at a time, so they commit in the order queued. */
  writer: GroupWriter;
  /** Resources steps may use at once (local runs); undefined: the workers decide. */
  capacity?: Resources;
  /** Source text of function steps, which enters their cache keys. */
  functionSource(step: string): string | undefined;
  /** Aborted once the run must stop: a cancel request, a shutdown, or a lost lease. */
  signal: AbortSignal;
  /** True when the stop is a shutdown or a lost lease: the run is left as it is for the next driver. */
  detached(): boolean;
}

export interface RunInfo {
  id: string;
  pipeline: Pipeline;
  params: Record<string, ParamValue>;
  parallelism: number;
  trackingRunId?: string;
}

/** The cache key of a step: its definition, the parameters it reads and its inputs' content. */
export function cacheKey(step: Step, params: Record<string, ParamValue>, inputs: Record<string, string>, dir: string | undefined, source: string | undefined): string {
  const material = {
    v: 1,
    kind: step.kind,
    command: step.command,
    uses: step.uses,
    // Options with their parameters filled in: a parameter they name keys the cache too.
    with: substituteParams(step.with, params),
    env: step.env,
    outputs: step.outputs,
    dir: step.kind === 'command' ? dir : undefined,
    source,
    params: Object.fromEntries([...step.params].sort().map((p) => [p, params[p]])),
    inputs: Object.fromEntries(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b))),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

type Trx = Transaction<PipelineTables>;
type TrackingEnd = { status: 'FINISHED' | 'FAILED' | 'KILLED'; metrics?: Record<string, number>; tags?: Record<string, string> };

export class RunDriver {
  private readonly steps: Map<string, PlStepTable>;
  private readonly defs: Map<string, Step>;
  /** Step → the steps that need it. */
  private readonly dependents = new Map<string, string[]>();
  /** Pending step → how many of its needs are not done yet. */
  private readonly waiting = new Map<string, number>();
  /** Steps whose needs are all done, in the order they became so. */
  private readonly ready: string[] = [];
  /** Steps holding a slot and their resources. */
  private readonly active = new Map<string, Resources>();
  /** Every step task still running or committing its records. */
  private readonly inflight = new Set<Promise<void>>();
  private readonly inUse: Resources = { cpu: 0, memory: 0, gpu: 0 };
  private failure: unknown;
  private woken = false;
  private waiter?: () => void;
  private experiment?: Promise<Experiment | undefined>;

  constructor(
    private readonly run: RunInfo,
    rows: PlStepTable[],
    private readonly deps: DriverDeps,
  ) {
    this.steps = new Map(rows.map((r) => [r.name, r]));
    this.defs = new Map(run.pipeline.steps.map((s) => [s.name, s]));
    for (const step of run.pipeline.steps) for (const need of step.needs) this.dependents.get(need)?.push(step.name) ?? this.dependents.set(need, [step.name]);
  }

  /** Runs the steps that are not done yet; resolves with the run's final status. */
  async drive(): Promise<RunStatus> {
    for (const step of this.run.pipeline.steps) {
      if (this.row(step.name).status !== 'pending') continue;
      const left = step.needs.filter((n) => !DONE.has(this.row(n).status)).length;
      this.waiting.set(step.name, left);
      if (left === 0) this.ready.push(step.name);
    }
    const broken = [...this.steps.values()].filter((r) => BROKEN.has(r.status)).map((r) => r.name);
    if (broken.length > 0) await this.blockDependents(broken);
    for (;;) {
      if (!this.deps.signal.aborted && this.failure === undefined) this.startReady();
      if (this.active.size === 0) break;
      await this.sleep();
    }
    await Promise.all(this.inflight);
    if (this.failure !== undefined) throw this.failure;
    const cancelled = this.deps.signal.aborted;
    if (this.deps.detached()) return 'running';
    const left = [...this.steps.values()].filter((r) => r.status === 'pending').map((r) => r.name);
    if (left.length > 0) await this.mark(left, { status: cancelled ? 'cancelled' : 'upstream_failed', ended_ms: this.deps.clock.now() });
    if (cancelled) return 'cancelled';
    return [...this.steps.values()].every((r) => DONE.has(r.status)) ? 'succeeded' : 'failed';
  }

  private row(name: string): PlStepTable {
    return this.steps.get(name)!;
  }

  private startReady(): void {
    for (let i = 0; i < this.ready.length && this.active.size < this.run.parallelism; ) {
      const step = this.defs.get(this.ready[i])!;
      const need = this.demand(step);
      if (!this.fits(need) && this.active.size > 0) {
        i++;
        continue;
      }
      this.ready.splice(i, 1);
      this.take(need, 1);
      this.active.set(step.name, need);
      const task: Promise<void> = this.runStep(step)
        .catch((err) => {
          this.failure ??= err;
        })
        .finally(() => {
          this.release(step.name);
          this.inflight.delete(task);
        });
      this.inflight.add(task);
    }
  }

  private wake(): void {
    this.woken = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private async sleep(): Promise<void> {
    if (!this.woken) await new Promise<void>((resolve) => (this.waiter = resolve));
    this.woken = false;
  }

  /**
   * Frees the step's slot and hands its outcome to its dependents. Called as soon as the step's
   * end is queued for commit, so that the starts it makes possible share that commit.
   */
  private release(name: string): void {
    const need = this.active.get(name);
    if (!need) return;
    this.active.delete(name);
    this.take(need, -1);
    const status = this.row(name).status;
    if (DONE.has(status)) {
      for (const d of this.dependents.get(name) ?? []) {
        const left = this.waiting.get(d)! - 1;
        this.waiting.set(d, left);
        if (left === 0 && this.row(d).status === 'pending') this.ready.push(d);
      }
    } else if (BROKEN.has(status) && !this.deps.signal.aborted) {
      // On a cancel, the steps not started end as cancelled, not upstream_failed.
      this.track(this.blockDependents([name]));
    }
    this.wake();
  }

  /** Keeps a write the driver does not wait for in the set it drains before it ends. */
  private track(p: Promise<void>): void {
    const tracked: Promise<void> = p
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** Marks every pending step downstream of `broken` upstream_failed. */
  private blockDependents(broken: string[]): Promise<void> {
    const blocked: string[] = [];
    const queue = [...broken];
    while (queue.length > 0) {
      for (const d of this.dependents.get(queue.pop()!) ?? []) {
        if (this.row(d).status !== 'pending') continue;
        this.row(d).status = 'upstream_failed';
        blocked.push(d);
        queue.push(d);
      }
    }
    return blocked.length > 0 ? this.mark(blocked, { status: 'upstream_failed', ended_ms: this.deps.clock.now() }) : Promise.resolve();
  }

  /** A step's resources, clamped to the executor's whole capacity so that a large step runs alone instead of never. */
  private demand(step: Step): Resources {
    const cap = this.deps.capacity;
    if (!cap) return { cpu: 0, memory: 0, gpu: 0 };
    return { cpu: Math.min(step.resources.cpu, cap.cpu), memory: Math.min(step.resources.memory, cap.memory), gpu: step.resources.gpu };
  }

  private fits(need: Resources): boolean {
    const cap = this.deps.capacity;
    if (!cap) return true;
    return this.inUse.cpu + need.cpu <= cap.cpu && this.inUse.memory + need.memory <= cap.memory && this.inUse.gpu + need.gpu <= cap.gpu;
  }

  private take(need: Resources, sign: 1 | -1): void {
    this.inUse.cpu += sign * need.cpu;
    this.inUse.memory += sign * need.memory;
    this.inUse.gpu += sign * need.gpu;
  }

  /** One transaction of the run's records, committed with whatever else is queued in this turn. */
  private write<T>(job: (trx: Trx) => Promise<T>): Promise<T> {
    return this.deps.writer.submit(this.run.id, job as (trx: Transaction<any>) => Promise<T>);
  }

  private async setStep(trx: Trx, names: string[], patch: Partial<PlStepTable>): Promise<void> {
    // Bounded `in` lists: SQLite allows 32,766 variables a statement, PostgreSQL 65,535.
    for (let i = 0; i < names.length; i += 500) {
      await trx.updateTable('pl_step').set(patch).where('run_id', '=', this.run.id).where('name', 'in', names.slice(i, i + 500)).execute();
    }
  }

  private async mark(names: string[], patch: Partial<PlStepTable>): Promise<void> {
    await this.write((trx) => this.setStep(trx, names, patch));
    for (const n of names) Object.assign(this.row(n), patch);
  }

  /**
   * Records a step's end (and its tracking run's) and releases its dependents before the commit,
   * so their starts join it; resolves once it is committed.
   */
  private end(step: Step, patch: Partial<PlStepTable>, tracking: TrackingEnd | undefined, more?: (trx: Trx) => Promise<void>): Promise<void> {
    Object.assign(this.row(step.name), patch);
    const runId = this.row(step.name).tracking_run_id;
    const committed = this.write(async (trx) => {
      // The tracking run's end checks before it writes, so a refusal leaves the shared group untouched.
      if (runId && tracking) await this.endTracking(trx, runId, tracking, patch.ended_ms ?? this.deps.clock.now());
      await this.setStep(trx, [step.name], patch);
      await more?.(trx);
    });
    this.release(step.name);
    return committed;
  }

  /** Ends the step's tracking run at `at`, the step's own end time. */
  private async endTracking(trx: Trx, runId: string, end: TrackingEnd, at: number): Promise<void> {
    await this.deps.tracking.endRun(trx as Transaction<any>, runId, {
      status: end.status,
      end_time: at,
      metrics: Object.entries(end.metrics ?? {}).map(([key, value]) => ({ key, value, timestamp: at, step: 0 })),
      tags: Object.entries(end.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
  }

  private async runStep(step: Step): Promise<void> {
    const { clock } = this.deps;
    const inputs = Object.fromEntries(step.needs.map((n) => [n, this.row(n).outputs_sha!]));
    const key = step.cache ? cacheKey(step, this.run.params, inputs, this.run.pipeline.dir, this.deps.functionSource(step.name)) : null;
    const experiment = this.row(step.name).tracking_run_id || !this.run.trackingRunId ? undefined : await this.parentExperiment();
    // The start: the cache lookup, the step's tracking run (once per run and step, kept across
    // retries and resumes) and its first state, in one transaction.
    const attempt = this.row(step.name).attempts + 1;
    const started = clock.now();
    const begun = await this.write(async (trx) => {
      // Released before its parents' ends committed: if one of those ends failed, this start must not stand.
      if (step.needs.length > 0) {
        const done = await trx.selectFrom('pl_step').select((eb) => eb.fn.countAll<number>().as('n')).where('run_id', '=', this.run.id).where('name', 'in', step.needs).where('status', 'in', ['succeeded', 'cached']).executeTakeFirstOrThrow();
        if (Number(done.n) !== step.needs.length) throw new ModelportError('FailedPrecondition', `step ${step.name}: an upstream step's end was not recorded`);
      }
      const hit = key ? await trx.selectFrom('pl_cache').selectAll().where('cache_key', '=', key).executeTakeFirst() : undefined;
      const trackingRunId = experiment ? await this.insertTracking(trx, experiment, step, inputs) : this.row(step.name).tracking_run_id;
      const patch: Partial<PlStepTable> = hit
        ? { status: 'cached', cache_key: key, outputs_sha: hit.outputs_sha, metrics_json: hit.metrics_json, error: null, started_ms: started, ended_ms: started, tracking_run_id: trackingRunId }
        : { status: 'running', attempts: attempt, cache_key: key, started_ms: started, error: null, pgid: null, tracking_run_id: trackingRunId };
      await this.setStep(trx, [step.name], patch);
      if (hit && trackingRunId) {
        const metrics = JSON.parse(hit.metrics_json) as Record<string, number>;
        await this.endTracking(trx, trackingRunId, { status: 'FINISHED', metrics, tags: { 'modelport.pipeline.cache': `hit (run ${hit.run_id}, step ${hit.step})`, 'modelport.pipeline.outputs': hit.outputs_sha } }, started);
      }
      return patch;
    });
    Object.assign(this.row(step.name), begun);
    if (begun.status === 'cached') {
      this.release(step.name);
      return;
    }
    for (let first = true; ; first = false) {
      const attempt = first ? this.row(step.name).attempts : this.row(step.name).attempts + 1;
      if (!first) await this.mark([step.name], { status: 'running', attempts: attempt, cache_key: key, started_ms: clock.now(), error: null, pgid: null });
      const trackingRunId = this.row(step.name).tracking_run_id ?? undefined;
      const task: StepTask = { runId: this.run.id, pipeline: this.run.pipeline.name, step, params: this.run.params, inputs, dir: this.run.pipeline.dir, attempt, trackingRunId };
      let result: StepResult;
      try {
        result = await this.deps.queue.submit(`${this.run.id}:${step.name}:${attempt}`, task, this.deps.signal, { gpu: step.resources.gpu > 0 });
      } catch (err) {
        result = { ok: false, error: (err as Error).message, files: 0, metrics: {}, ranOn: 'queue' };
      }
      const logs = { stdout_sha: result.stdoutSha ?? null, stderr_sha: result.stderrSha ?? null, ran_on: result.ranOn, pgid: null };
      if (result.ok) {
        const metrics = JSON.stringify(result.metrics);
        const now = clock.now();
        const cache = key ? (trx: Trx) => trx.insertInto('pl_cache').values({ cache_key: key, outputs_sha: result.outputsSha!, metrics_json: metrics, run_id: this.run.id, step: step.name, created_ms: now }).onConflict((oc) => oc.column('cache_key').doNothing()).execute().then(() => undefined) : undefined;
        await this.end(
          step,
          { status: 'succeeded', outputs_sha: result.outputsSha!, metrics_json: metrics, ended_ms: now, ...logs },
          { status: 'FINISHED', metrics: result.metrics, tags: { 'modelport.pipeline.cache': key ? 'miss' : 'off', 'modelport.pipeline.outputs': result.outputsSha!, 'modelport.pipeline.ran_on': result.ranOn } },
          cache,
        );
        return;
      }
      if (this.deps.detached()) return;
      if (this.deps.signal.aborted) {
        await this.end(step, { status: 'cancelled', error: 'cancelled', ended_ms: clock.now(), ...logs }, { status: 'KILLED' });
        return;
      }
      if (attempt > step.retries) {
        await this.end(step, { status: 'failed', error: result.error ?? 'failed', ended_ms: clock.now(), ...logs }, { status: 'FAILED', tags: { 'modelport.pipeline.error': (result.error ?? 'failed').slice(0, 5000) } });
        return;
      }
      await this.mark([step.name], { status: 'retrying', error: result.error ?? 'failed', ...logs });
      const wait = Math.min(MAX_BACKOFF_MS, step.retryDelayMs * 2 ** (attempt - 1));
      await Promise.race([clock.sleep(wait), new Promise((resolve) => this.deps.signal.addEventListener('abort', resolve, { once: true }))]);
      if (this.deps.detached()) return;
      if (this.deps.signal.aborted) {
        await this.end(step, { status: 'cancelled', ended_ms: clock.now() }, { status: 'KILLED' });
        return;
      }
    }
  }

  /** The experiment of the pipeline's tracking run, where the steps' nested runs go (read once). */
  private parentExperiment(): Promise<Experiment | undefined> {
    const { tracking } = this.deps;
    this.experiment ??= tracking.getRun(this.run.trackingRunId!).then((parent) => tracking.getExperiment(parent.info.experiment_id));
    return this.experiment;
  }

  private insertTracking(trx: Trx, experiment: Experiment, step: Step, inputs: Record<string, string>): Promise<string> {
    const tags = [
      { key: 'mlflow.parentRunId', value: this.run.trackingRunId! },
      { key: 'modelport.pipeline', value: this.run.pipeline.name },
      { key: 'modelport.pipeline.run', value: this.run.id },
      { key: 'modelport.pipeline.step', value: step.name },
      ...Object.entries(inputs).map(([from, sha]) => ({ key: `modelport.pipeline.input.${from}`, value: sha })),
    ];
    const params = step.params.map((p) => ({ key: p, value: String(this.run.params[p]) }));
    return this.deps.tracking.insertRun(trx as Transaction<any>, experiment, { run_name: step.name, start_time: this.deps.clock.now(), tags, params });
  }
}

/**
 * What a new driver makes of steps a dead driver left unfinished: a command it ran here is
 * killed; a step that was running goes back to pending under the same attempt number, so that
 * on a queue the new driver waits for the job already there rather than running the step again.
 */
export function adoptSteps(rows: PlStepTable[], hostname: string): { name: string; patch: Partial<PlStepTable> }[] {
  const out: { name: string; patch: Partial<PlStepTable> }[] = [];
  for (const r of rows) {
    if (r.status === 'running') {
      // A process group id means something only on the host that recorded it.
      if (r.pgid && r.ran_on?.startsWith(`${hostname}:`)) killGroup(r.pgid);
      out.push({ name: r.name, patch: { status: 'pending', attempts: Math.max(0, r.attempts - 1), pgid: null } });
    } else if (r.status === 'retrying') out.push({ name: r.name, patch: { status: 'pending' } });
  }
  return out;
}
