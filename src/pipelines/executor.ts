/**
 * Drives one pipeline run: starts every step whose needs have succeeded, up to the run's
 * parallelism and the executor's resources, through the task queue (this process or BullMQ
 * workers); retries failed attempts with exponential backoff; skips steps whose cache key has
 * stored outputs; and records every transition in the store before acting on it, so a driver
 * that dies is replaced by one that continues after the last completed step.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { TrackingService } from '../tracking/service.js';
import type { TaskQueue } from '../storage/queue.js';
import { killGroup } from './command.js';
import { substituteParams, type Pipeline, type ParamValue, type Resources, type Step } from './definition.js';
import type { PipelineTables, PlStepTable, RunStatus, StepStatus } from './tables.js';
import type { StepResult, StepTask } from './task.js';

type Db = Kysely<PipelineTables>;

const DONE: ReadonlySet<StepStatus> = new Set(['succeeded', 'cached']);
const BROKEN: ReadonlySet<StepStatus> = new Set(['failed', 'cancelled', 'upstream_failed']);
/** Longest wait between two retries of a step. */
const MAX_BACKOFF_MS = 10 * 60_000;

export interface DriverDeps {
  db: Db;
  clock: Clock;
  tracking: TrackingService;
  queue: TaskQueue<StepTask, StepResult>;
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

export class RunDriver {
  private readonly steps: Map<string, PlStepTable>;
  private readonly inUse: Resources = { cpu: 0, memory: 0, gpu: 0 };

  constructor(
    private readonly run: RunInfo,
    rows: PlStepTable[],
    private readonly deps: DriverDeps,
  ) {
    this.steps = new Map(rows.map((r) => [r.name, r]));
  }

  /** Runs the steps that are not done yet; resolves with the run's final status. */
  async drive(): Promise<RunStatus> {
    const active = new Map<string, Promise<void>>();
    for (;;) {
      if (!this.deps.signal.aborted) {
        for (const step of this.run.pipeline.steps) {
          const row = this.steps.get(step.name)!;
          if (row.status === 'pending' && step.needs.some((n) => BROKEN.has(this.steps.get(n)!.status))) await this.update(step.name, { status: 'upstream_failed', ended_ms: this.deps.clock.now() });
        }
        for (const step of this.run.pipeline.steps) {
          if (active.size >= this.run.parallelism) break;
          const row = this.steps.get(step.name)!;
          if (row.status !== 'pending' || active.has(step.name) || !step.needs.every((n) => DONE.has(this.steps.get(n)!.status))) continue;
          const need = this.demand(step);
          if (!this.fits(need) && active.size > 0) continue;
          this.take(need, 1);
          active.set(step.name, this.runStep(step).finally(() => {
            this.take(need, -1);
            active.delete(step.name);
          }));
        }
      }
      if (active.size === 0) break;
      await Promise.race(active.values());
    }
    const cancelled = this.deps.signal.aborted;
    if (this.deps.detached()) return 'running';
    for (const [name, row] of this.steps) {
      if (row.status === 'pending') await this.update(name, { status: cancelled ? 'cancelled' : 'upstream_failed', ended_ms: this.deps.clock.now() });
    }
    if (cancelled) return 'cancelled';
    return [...this.steps.values()].every((r) => DONE.has(r.status)) ? 'succeeded' : 'failed';
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

  private async update(name: string, patch: Partial<PlStepTable>): Promise<void> {
    await this.deps.db.updateTable('pl_step').set(patch).where('run_id', '=', this.run.id).where('name', '=', name).execute();
    Object.assign(this.steps.get(name)!, patch);
  }

  private async runStep(step: Step): Promise<void> {
    const { clock, db } = this.deps;
    const inputs = Object.fromEntries(step.needs.map((n) => [n, this.steps.get(n)!.outputs_sha!]));
    const key = step.cache ? cacheKey(step, this.run.params, inputs, this.run.pipeline.dir, this.deps.functionSource(step.name)) : null;
    const trackingRunId = await this.trackingRun(step, inputs);
    if (key) {
      const hit = await db.selectFrom('pl_cache').selectAll().where('cache_key', '=', key).executeTakeFirst();
      if (hit) {
        await this.update(step.name, { status: 'cached', cache_key: key, outputs_sha: hit.outputs_sha, metrics_json: hit.metrics_json, error: null, started_ms: clock.now(), ended_ms: clock.now() });
        await this.finishTracking(trackingRunId, JSON.parse(hit.metrics_json) as Record<string, number>, { 'modelport.pipeline.cache': `hit (run ${hit.run_id}, step ${hit.step})`, 'modelport.pipeline.outputs': hit.outputs_sha }, 'FINISHED');
        return;
      }
    }
    for (;;) {
      const attempt = this.steps.get(step.name)!.attempts + 1;
      await this.update(step.name, { status: 'running', attempts: attempt, cache_key: key, started_ms: clock.now(), error: null, pgid: null });
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
        await this.update(step.name, { status: 'succeeded', outputs_sha: result.outputsSha!, metrics_json: metrics, ended_ms: clock.now(), ...logs });
        if (key) {
          await db.insertInto('pl_cache').values({ cache_key: key, outputs_sha: result.outputsSha!, metrics_json: metrics, run_id: this.run.id, step: step.name, created_ms: clock.now() }).onConflict((oc) => oc.column('cache_key').doNothing()).execute();
        }
        await this.finishTracking(trackingRunId, result.metrics, { 'modelport.pipeline.cache': key ? 'miss' : 'off', 'modelport.pipeline.outputs': result.outputsSha!, 'modelport.pipeline.ran_on': result.ranOn }, 'FINISHED');
        return;
      }
      if (this.deps.detached()) return;
      if (this.deps.signal.aborted) {
        await this.update(step.name, { status: 'cancelled', error: 'cancelled', ended_ms: clock.now(), ...logs });
        await this.finishTracking(trackingRunId, {}, {}, 'KILLED');
        return;
      }
      if (attempt > step.retries) {
        await this.update(step.name, { status: 'failed', error: result.error ?? 'failed', ended_ms: clock.now(), ...logs });
        await this.finishTracking(trackingRunId, {}, { 'modelport.pipeline.error': (result.error ?? 'failed').slice(0, 5000) }, 'FAILED');
        return;
      }
      await this.update(step.name, { status: 'retrying', error: result.error ?? 'failed', ...logs });
      const wait = Math.min(MAX_BACKOFF_MS, step.retryDelayMs * 2 ** (attempt - 1));
      await Promise.race([clock.sleep(wait), new Promise((resolve) => this.deps.signal.addEventListener('abort', resolve, { once: true }))]);
      if (this.deps.detached()) return;
      if (this.deps.signal.aborted) {
        await this.update(step.name, { status: 'cancelled', ended_ms: clock.now() });
        await this.finishTracking(trackingRunId, {}, {}, 'KILLED');
        return;
      }
    }
  }

  /** The step's nested tracking run (made once per run and step, kept across retries and resumes). */
  private async trackingRun(step: Step, inputs: Record<string, string>): Promise<string | undefined> {
    const row = this.steps.get(step.name)!;
    if (row.tracking_run_id || !this.run.trackingRunId) return row.tracking_run_id ?? undefined;
    const parent = await this.deps.tracking.getRun(this.run.trackingRunId);
    const tags = [
      { key: 'mlflow.parentRunId', value: this.run.trackingRunId },
      { key: 'modelport.pipeline', value: this.run.pipeline.name },
      { key: 'modelport.pipeline.run', value: this.run.id },
      { key: 'modelport.pipeline.step', value: step.name },
      ...Object.entries(inputs).map(([from, sha]) => ({ key: `modelport.pipeline.input.${from}`, value: sha })),
    ];
    const created = await this.deps.tracking.createRun({ experiment_id: parent.info.experiment_id, run_name: step.name, start_time: this.deps.clock.now(), tags });
    const params = step.params.map((p) => ({ key: p, value: String(this.run.params[p]) }));
    if (params.length > 0) await this.deps.tracking.logBatch(created.info.run_id, { params });
    await this.update(step.name, { tracking_run_id: created.info.run_id });
    return created.info.run_id;
  }

  private async finishTracking(runId: string | undefined, metrics: Record<string, number>, tags: Record<string, string>, status: 'FINISHED' | 'FAILED' | 'KILLED'): Promise<void> {
    if (!runId) return;
    const now = this.deps.clock.now();
    await this.deps.tracking.logBatch(runId, {
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: now, step: 0 })),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    await this.deps.tracking.updateRun(runId, { status, end_time: now });
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
