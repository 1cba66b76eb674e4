/**
 * The pipelines domain: saved pipelines, runs and their steps, drivers that hold a lease on the
 * runs they drive (so that a replica or a restart takes over a run whose driver died), and the
 * task queues steps run through.
 */
import type { Singleton } from '../core/singleton.js';
import { Leadership, Leases } from '../cluster/leases.js';
import { hostname, totalmem } from 'node:os';
import { cpuCount } from '../core/cpus.js';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { failedPrecondition, invalidArgument, isModelportError, notFound } from '../core/errors.js';
import { timeOrderedId } from '../core/ids.js';
import type { BlobStore } from '../storage/blobs.js';
import { readBlob } from '../storage/blobs.js';
import type { MetadataStore } from '../storage/metadata.js';
import { localQueue, type TaskQueue } from '../storage/queue.js';
import type { TrackingService } from '../tracking/service.js';
import { GroupWriter } from '../tracking/writer.js';
import type { StepFunction, StepServices } from './context.js';
import { normalizePipeline, resolveParams, type ParamValue, type Pipeline, type PipelineSpec, type Resources } from './definition.js';
import { defaultSteps, type StepRegistry } from './builtins.js';
import { adoptSteps, RunDriver } from './executor.js';
import { executeTask, type StepResult, type StepTask } from './task.js';
import type { PipelineTables, PlRunTable, PlStepTable, RunStatus, StepStatus } from './tables.js';
import { readManifest, type OutputsManifest } from './outputs.js';
import { Triggers, type TriggerSources } from './triggers.js';

type Db = Kysely<PipelineTables>;

/** How long a driver's claim on a run lasts without renewal; it renews every third of it. */
const LEASE_MS = 15_000;
/** Path segments of the REST API that a saved pipeline's name would shadow. */
const RESERVED_NAMES = new Set(['runs', 'schedules', 'triggers']);
const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export interface PipelinesDeps {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  services: StepServices;
  tracking: TrackingService;
  /** Scratch space for steps run in this process. */
  workDir: string;
  /** What the local executor may use at once (default: this machine's cores and memory, no GPU). */
  capacity?: Resources;
  sources: TriggerSources;
  /** Where runs that name no queue send their steps (the server's --queue). */
  defaultQueue?: string;
  /** Which replica evaluates schedules and triggers (default: a lease in the store held by this process). */
  leader?: Singleton;
}

export interface StartRunInput {
  /** A definition to run, or the name of a saved pipeline. */
  spec?: PipelineSpec;
  pipeline?: string;
  params?: Record<string, unknown>;
  trigger?: string;
  /** `local` (default) or the redis:// URI of a BullMQ queue. */
  queue?: string;
  parallelism?: number;
}

export interface StepView {
  name: string;
  needs: string[];
  status: StepStatus;
  attempts: number;
  cached: boolean;
  outputsSha?: string;
  metrics: Record<string, number>;
  error?: string;
  trackingRunId?: string;
  ranOn?: string;
  startedAt?: number;
  endedAt?: number;
}

export interface RunView {
  id: string;
  pipeline: string;
  status: RunStatus;
  trigger: string;
  queue: string;
  params: Record<string, ParamValue>;
  trackingRunId?: string;
  error?: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  progress: { done: number; total: number };
  steps: StepView[];
}

export interface PipelineView {
  name: string;
  description: string;
  params: Pipeline['params'];
  steps: { name: string; needs: string[]; kind: string }[];
  concurrency: Pipeline['concurrency'];
  createdAt: number;
  updatedAt: number;
}

export class PipelinesService {
  readonly steps: StepRegistry = defaultSteps();
  readonly hostname = hostname();
  readonly triggers: Triggers;
  private readonly db: Db;
  private readonly driverId: string;
  /** Function steps of runs started here, by run id. */
  private readonly functions = new Map<string, Map<string, StepFunction>>();
  private readonly driving = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly queues = new Map<string, Promise<TaskQueue<StepTask, StepResult>>>();
  /**
   * Group commit for every run driven here. One transaction at a time, on both engines: a step's
   * end and the starts it releases must commit in the order they were queued.
   */
  private readonly writer: GroupWriter;
  private closing = false;

  constructor(private readonly deps: PipelinesDeps) {
    this.db = deps.metadata.db as Db;
    this.writer = new GroupWriter(this.db, 1, 512);
    this.driverId = `${this.hostname}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const leader = deps.leader ?? new Leadership(new Leases(deps.metadata.db, deps.clock), 'pipelines.triggers', this.driverId, 30_000);
    this.triggers = new Triggers(this.db, deps.clock, this, deps.sources, leader);
  }

  normalize(spec: PipelineSpec): Pipeline {
    return normalizePipeline(spec, this.steps);
  }

  // ---- saved pipelines -----------------------------------------------------------------------

  /** Saves (or replaces) a pipeline; `expectedName` is the name the caller addressed it by. */
  async savePipeline(spec: PipelineSpec, expectedName?: string): Promise<PipelineView> {
    const pipeline = this.normalize(spec);
    if (expectedName !== undefined && expectedName !== pipeline.name) throw invalidArgument(`name: the definition is named "${pipeline.name}", not "${expectedName}"`);
    if (RESERVED_NAMES.has(pipeline.name)) throw invalidArgument(`name: "${pipeline.name}" is reserved; choose another pipeline name`);
    if (pipeline.steps.some((s) => s.kind === 'function')) throw invalidArgument(`pipeline ${pipeline.name}: function steps cannot be saved (they live in the process that defined them); use commands or built-in steps`);
    const now = this.deps.clock.now();
    const definition_json = JSON.stringify(pipeline);
    await this.db
      .insertInto('pl_pipeline')
      .values({ name: pipeline.name, definition_json, created_ms: now, updated_ms: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ definition_json, updated_ms: now }))
      .execute();
    return this.getPipeline(pipeline.name);
  }

  private async pipelineRow(name: string) {
    const row = await this.db.selectFrom('pl_pipeline').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound(`pipeline "${name}" does not exist`);
    return row;
  }

  async getPipeline(name: string): Promise<PipelineView> {
    return pipelineView(await this.pipelineRow(name));
  }

  async listPipelines(): Promise<PipelineView[]> {
    return (await this.db.selectFrom('pl_pipeline').selectAll().orderBy('name').execute()).map(pipelineView);
  }

  async deletePipeline(name: string): Promise<void> {
    await this.pipelineRow(name);
    await this.db.deleteFrom('pl_schedule').where('pipeline', '=', name).execute();
    await this.db.deleteFrom('pl_trigger').where('pipeline', '=', name).execute();
    await this.db.deleteFrom('pl_pipeline').where('name', '=', name).execute();
  }

  // ---- runs ----------------------------------------------------------------------------------

  /** Records a run and starts driving it here, unless `queued` (a trigger's queue policy). */
  async startRun(input: StartRunInput, options: { queued?: boolean } = {}): Promise<RunView> {
    if (this.closing) throw failedPrecondition('the pipelines service is shutting down');
    if ((input.spec === undefined) === (input.pipeline === undefined)) throw invalidArgument('give either a pipeline definition or the name of a saved pipeline');
    const pipeline = input.spec ? this.normalize(input.spec) : (JSON.parse((await this.pipelineRow(input.pipeline!)).definition_json) as Pipeline);
    const params = resolveParams(pipeline, input.params ?? {});
    const queue = input.queue ?? this.deps.defaultQueue ?? 'local';
    if (queue !== 'local' && !/^rediss?:\/\//.test(queue)) throw invalidArgument(`queue: "${queue}" must be local or redis://HOST:PORT`);
    const parallelism = input.parallelism ?? (queue === 'local' ? Math.max(1, Math.min(8, cpuCount())) : 64);
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 10_000) throw invalidArgument('parallelism: must be a whole number from 1 to 10000');
    const functionSteps = pipeline.steps.filter((s) => s.kind === 'function');
    if (functionSteps.length > 0 && queue !== 'local') throw invalidArgument(`step ${functionSteps[0].name}: function steps run only on the local executor; use a command or built-in step for queue ${queue}`);
    if (queue === 'local') {
      const cap = this.capacity();
      const gpuStep = pipeline.steps.find((s) => s.resources.gpu > cap.gpu);
      if (gpuStep) throw invalidArgument(`step ${gpuStep.name}: needs gpu=${gpuStep.resources.gpu}, but the local executor has ${cap.gpu}; run it on a queue whose workers have GPUs`);
    }
    const id = timeOrderedId(this.deps.clock.now());
    const now = this.deps.clock.now();
    const trackingRunId = options.queued ? null : await this.createTrackingRun(pipeline, params, id, input.trigger ?? 'manual');
    const run: PlRunTable = {
      id,
      pipeline: pipeline.name,
      definition_json: JSON.stringify(pipeline),
      params_json: JSON.stringify(params),
      status: options.queued ? 'queued' : 'running',
      trigger: input.trigger ?? 'manual',
      queue,
      parallelism,
      tracking_run_id: trackingRunId,
      driver: options.queued ? null : this.driverId,
      lease_until_ms: options.queued ? null : now + LEASE_MS,
      cancel_requested: 0,
      error: null,
      created_ms: now,
      started_ms: options.queued ? null : now,
      ended_ms: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('pl_run').values(run).execute();
      await trx
        .insertInto('pl_step')
        .values(pipeline.steps.map((s) => ({ run_id: id, name: s.name, status: 'pending' as const, attempts: 0, cache_key: null, outputs_sha: null, stdout_sha: null, stderr_sha: null, metrics_json: null, error: null, tracking_run_id: null, pgid: null, ran_on: null, started_ms: null, ended_ms: null })))
        .execute();
    });
    if (functionSteps.length > 0 && input.spec) {
      this.functions.set(id, new Map(input.spec.steps.filter((s) => typeof s.run === 'function').map((s) => [s.name, s.run as StepFunction])));
    }
    if (!options.queued) this.spawnDriver(id);
    return this.getRun(id);
  }

  private async createTrackingRun(pipeline: Pipeline, params: Record<string, ParamValue>, runId: string, trigger: string): Promise<string> {
    const { tracking } = this.deps;
    const experimentName = `pipeline/${pipeline.name}`;
    let experimentId: string;
    try {
      experimentId = (await tracking.getExperimentByName(experimentName)).experiment_id;
    } catch (err) {
      if (!(isModelportError(err) && err.code === 'NotFound')) throw err;
      experimentId = await tracking.createExperiment({ name: experimentName }).catch(async (e) => {
        if (isModelportError(e) && e.code === 'AlreadyExists') return (await tracking.getExperimentByName(experimentName)).experiment_id;
        throw e;
      });
    }
    const run = await tracking.createRun({
      experiment_id: experimentId,
      run_name: `${pipeline.name}-${runId.slice(-8)}`,
      start_time: this.deps.clock.now(),
      tags: [
        { key: 'modelport.pipeline', value: pipeline.name },
        { key: 'modelport.pipeline.run', value: runId },
        { key: 'modelport.pipeline.trigger', value: trigger },
      ],
    });
    const entries = Object.entries(params);
    if (entries.length > 0) await tracking.logBatch(run.info.run_id, { params: entries.map(([key, value]) => ({ key, value: String(value) })) });
    return run.info.run_id;
  }

  private capacity(): Resources {
    return this.deps.capacity ?? { cpu: cpuCount(), memory: totalmem(), gpu: 0 };
  }

  private queueFor(uri: string): Promise<TaskQueue<StepTask, StepResult>> {
    let q = this.queues.get(uri);
    if (!q) {
      q = uri === 'local' ? Promise.resolve(localQueue((task, signal) => this.runLocally(task, signal))) : import('../storage/queue-bullmq.js').then((m) => m.openBullQueue<StepTask, StepResult>(uri));
      // A queue that failed to open is retried by the next run instead of failing every run.
      q.catch(() => this.queues.delete(uri));
      this.queues.set(uri, q);
    }
    return q;
  }

  /** A step attempt in this process (the local executor, or a worker). */
  runLocally(task: StepTask, signal: AbortSignal): Promise<StepResult> {
    return executeTask(
      task,
      {
        blobs: this.deps.blobs,
        services: this.deps.services,
        builtins: this.steps.map,
        functionFor: (runId, step) => this.functions.get(runId)?.get(step),
        workDir: this.deps.workDir,
        hostname: this.hostname,
      },
      signal,
      (pgid) => {
        void this.db.updateTable('pl_step').set({ pgid, ran_on: `${this.hostname}:${process.pid}` }).where('run_id', '=', task.runId).where('name', '=', task.step.name).where('status', '=', 'running').execute().catch(() => undefined);
      },
    );
  }

  private spawnDriver(runId: string): void {
    const abort = new AbortController();
    const done = this.driveRun(runId, abort)
      .catch(async (err) => {
        // The driver's own failure (the store went away, say) fails the run rather than leaving it hanging.
        await this.db.updateTable('pl_run').set({ status: 'failed', error: (err as Error).message, ended_ms: this.deps.clock.now(), driver: null, lease_until_ms: null }).where('id', '=', runId).execute().catch(() => undefined);
      })
      .finally(() => {
        this.driving.delete(runId);
        this.functions.delete(runId);
      });
    this.driving.set(runId, { abort, done });
  }

  private async driveRun(runId: string, abort: AbortController): Promise<void> {
    const row = await this.runRow(runId);
    const pipeline = JSON.parse(row.definition_json) as Pipeline;
    const steps = await this.db.selectFrom('pl_step').selectAll().where('run_id', '=', runId).execute();
    const queue = await this.queueFor(row.queue);
    const cancelled = new AbortController();
    let lost = false;
    // Renew the lease and notice cancel requests made by other processes.
    const timer = setInterval(() => {
      void (async () => {
        const now = this.deps.clock.now();
        const res = await this.db.updateTable('pl_run').set({ lease_until_ms: now + LEASE_MS }).where('id', '=', runId).where('driver', '=', this.driverId).executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) {
          lost = true;
          abort.abort();
        }
        const r = await this.db.selectFrom('pl_run').select('cancel_requested').where('id', '=', runId).executeTakeFirst();
        if (r && Number(r.cancel_requested) === 1) cancelled.abort();
      })().catch(() => undefined);
    }, Math.min(1000, LEASE_MS / 3));
    const signal = AbortSignal.any([abort.signal, cancelled.signal]);
    // Every step in flight listens for the run's cancellation.
    setMaxListeners(0, signal);
    if (Number(row.cancel_requested) === 1) cancelled.abort();
    try {
      const driver = new RunDriver(
        { id: runId, pipeline, params: JSON.parse(row.params_json), parallelism: row.parallelism, trackingRunId: row.tracking_run_id ?? undefined },
        steps,
        {
          clock: this.deps.clock,
          tracking: this.deps.tracking,
          queue,
          writer: this.writer,
          capacity: row.queue === 'local' ? this.capacity() : undefined,
          functionSource: (step) => this.functions.get(runId)?.get(step)?.toString(),
          signal,
          detached: () => abort.signal.aborted && !cancelled.signal.aborted,
        },
      );
      const status = await driver.drive();
      // Shut down or lost the lease: the run stays running for the next driver.
      if (abort.signal.aborted && !cancelled.signal.aborted) {
        if (!lost) await this.db.updateTable('pl_run').set({ lease_until_ms: 0 }).where('id', '=', runId).where('driver', '=', this.driverId).execute();
        return;
      }
      const failed = (await this.db.selectFrom('pl_step').select(['name', 'error']).where('run_id', '=', runId).where('status', '=', 'failed').execute())[0];
      const now = this.deps.clock.now();
      await this.db
        .updateTable('pl_run')
        .set({ status, ended_ms: now, driver: null, lease_until_ms: null, error: status === 'failed' && failed ? `step ${failed.name}: ${failed.error}` : status === 'cancelled' ? 'cancelled' : null })
        .where('id', '=', runId)
        .execute();
      if (row.tracking_run_id) await this.deps.tracking.updateRun(row.tracking_run_id, { status: status === 'succeeded' ? 'FINISHED' : status === 'cancelled' ? 'KILLED' : 'FAILED', end_time: now });
    } finally {
      clearInterval(timer);
    }
  }

  private async runRow(runId: string): Promise<PlRunTable> {
    const row = await this.db.selectFrom('pl_run').selectAll().where('id', '=', runId).executeTakeFirst();
    if (!row) throw notFound(`pipeline run "${runId}" does not exist`);
    return row;
  }

  /**
   * Takes over a run whose driver is gone (its lease ran out, or it was a process on this host
   * that no longer exists) and continues it after its last completed step.
   */
  async resume(runId: string): Promise<RunView> {
    const row = await this.runRow(runId);
    if (TERMINAL.has(row.status)) throw failedPrecondition(`pipeline run ${runId} is ${row.status}; only a running run can be resumed`);
    if (row.status === 'queued') throw failedPrecondition(`pipeline run ${runId} is queued; it starts when the run before it ends`);
    if (this.driving.has(runId)) return this.getRun(runId);
    const now = this.deps.clock.now();
    if (!this.driverGone(row, now)) throw failedPrecondition(`pipeline run ${runId} is being driven by ${row.driver} (lease until ${new Date(Number(row.lease_until_ms)).toISOString()})`);
    const claimed = await this.db
      .updateTable('pl_run')
      .set({ driver: this.driverId, lease_until_ms: now + LEASE_MS })
      .where('id', '=', runId)
      .where('status', '=', 'running')
      .where((eb) => (row.driver === null ? eb('driver', 'is', null) : eb('driver', '=', row.driver)))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) throw failedPrecondition(`pipeline run ${runId} was taken over by another driver`);
    const steps = await this.db.selectFrom('pl_step').selectAll().where('run_id', '=', runId).execute();
    for (const { name, patch } of adoptSteps(steps, this.hostname)) await this.db.updateTable('pl_step').set(patch).where('run_id', '=', runId).where('name', '=', name).execute();
    this.spawnDriver(runId);
    return this.getRun(runId);
  }

  private driverGone(row: PlRunTable, now: number): boolean {
    if (!row.driver || row.lease_until_ms === null || Number(row.lease_until_ms) < now) return true;
    const [host, pid] = row.driver.split(':');
    if (host !== this.hostname || Number(pid) === process.pid) return false;
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }

  /** Runs left by drivers that are gone: what a server takes over when it starts and as it runs. */
  async resumeOrphans(): Promise<string[]> {
    const now = this.deps.clock.now();
    const rows = await this.db.selectFrom('pl_run').selectAll().where('status', '=', 'running').execute();
    const resumed: string[] = [];
    for (const row of rows) {
      if (this.driving.has(row.id) || !this.driverGone(row, now)) continue;
      try {
        await this.resume(row.id);
        resumed.push(row.id);
      } catch (err) {
        if (!(isModelportError(err) && err.code === 'FailedPrecondition')) throw err;
      }
    }
    return resumed;
  }

  /** Asks the run to stop: running steps are killed, pending ones never start. */
  async cancel(runId: string): Promise<RunView> {
    const row = await this.runRow(runId);
    if (TERMINAL.has(row.status)) throw failedPrecondition(`pipeline run ${runId} is already ${row.status}`);
    await this.db.updateTable('pl_run').set({ cancel_requested: 1 }).where('id', '=', runId).execute();
    if (row.status === 'queued') {
      await this.db.updateTable('pl_run').set({ status: 'cancelled', error: 'cancelled', ended_ms: this.deps.clock.now() }).where('id', '=', runId).where('status', '=', 'queued').execute();
      await this.db.updateTable('pl_step').set({ status: 'cancelled' }).where('run_id', '=', runId).execute();
    }
    return this.getRun(runId);
  }

  async getRun(runId: string): Promise<RunView> {
    const row = await this.runRow(runId);
    const pipeline = JSON.parse(row.definition_json) as Pipeline;
    const rows = new Map((await this.db.selectFrom('pl_step').selectAll().where('run_id', '=', runId).execute()).map((r) => [r.name, r]));
    const steps = pipeline.steps.map((s) => stepView(rows.get(s.name)!, s.needs));
    return {
      id: row.id,
      pipeline: row.pipeline,
      status: row.status,
      trigger: row.trigger,
      queue: row.queue,
      params: JSON.parse(row.params_json),
      trackingRunId: row.tracking_run_id ?? undefined,
      error: row.error ?? undefined,
      createdAt: Number(row.created_ms),
      startedAt: row.started_ms === null ? undefined : Number(row.started_ms),
      endedAt: row.ended_ms === null ? undefined : Number(row.ended_ms),
      progress: { done: steps.filter((s) => s.status === 'succeeded' || s.status === 'cached').length, total: steps.length },
      steps,
    };
  }

  async listRuns(query: { pipeline?: string; status?: RunStatus; limit?: number } = {}): Promise<RunView[]> {
    let q = this.db.selectFrom('pl_run').select('id').orderBy('created_ms', 'desc').orderBy('id', 'desc').limit(query.limit ?? 100);
    if (query.pipeline) q = q.where('pipeline', '=', query.pipeline);
    if (query.status) q = q.where('status', '=', query.status);
    return Promise.all((await q.execute()).map((r) => this.getRun(r.id)));
  }

  /**
   * Resolves once the run has ended: at once when it ends under this process's driver, else by
   * polling the store (a run driven elsewhere).
   */
  async wait(runId: string, pollMs = 200): Promise<RunView> {
    for (;;) {
      const here = this.driving.get(runId);
      if (here) await here.done;
      const run = await this.getRun(runId);
      if (TERMINAL.has(run.status)) return run;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async stepLog(runId: string, step: string, stream: 'stdout' | 'stderr'): Promise<Buffer> {
    const row = await this.stepRow(runId, step);
    const sha = stream === 'stdout' ? row.stdout_sha : row.stderr_sha;
    return sha ? readBlob(this.deps.blobs, sha) : Buffer.alloc(0);
  }

  async stepOutputs(runId: string, step: string): Promise<OutputsManifest & { sha256: string }> {
    const row = await this.stepRow(runId, step);
    if (!row.outputs_sha) throw failedPrecondition(`step ${step} of run ${runId} has no outputs (it is ${row.status})`);
    return { sha256: row.outputs_sha, ...(await readManifest(this.deps.blobs, row.outputs_sha)) };
  }

  private async stepRow(runId: string, step: string): Promise<PlStepTable> {
    await this.runRow(runId);
    const row = await this.db.selectFrom('pl_step').selectAll().where('run_id', '=', runId).where('name', '=', step).executeTakeFirst();
    if (!row) throw notFound(`pipeline run ${runId} has no step "${step}"`);
    return row;
  }

  /** Runs of a pipeline that are running or waiting their turn. */
  async activeRuns(pipeline: string): Promise<{ id: string; status: RunStatus }[]> {
    return this.db.selectFrom('pl_run').select(['id', 'status']).where('pipeline', '=', pipeline).where('status', 'in', ['running', 'queued']).orderBy('created_ms').execute();
  }

  /** Starts the oldest queued run of each pipeline that has nothing running. */
  async startQueued(): Promise<string[]> {
    const queued = await this.db.selectFrom('pl_run').selectAll().where('status', '=', 'queued').where('cancel_requested', '=', 0).orderBy('created_ms').execute();
    const started: string[] = [];
    const busy = new Set((await this.db.selectFrom('pl_run').select('pipeline').where('status', '=', 'running').execute()).map((r) => r.pipeline));
    for (const row of queued) {
      if (busy.has(row.pipeline)) continue;
      busy.add(row.pipeline);
      const now = this.deps.clock.now();
      const pipeline = JSON.parse(row.definition_json) as Pipeline;
      const claimed = await this.db
        .updateTable('pl_run')
        .set({ status: 'running', driver: this.driverId, lease_until_ms: now + LEASE_MS, started_ms: now })
        .where('id', '=', row.id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) continue;
      const trackingRunId = await this.createTrackingRun(pipeline, JSON.parse(row.params_json), row.id, row.trigger);
      await this.db.updateTable('pl_run').set({ tracking_run_id: trackingRunId }).where('id', '=', row.id).execute();
      this.spawnDriver(row.id);
      started.push(row.id);
    }
    return started;
  }

  /** Stops driving: steps running here are killed, and their runs are left for the next driver. */
  async close(): Promise<void> {
    this.closing = true;
    await this.triggers.stop();
    for (const { abort } of this.driving.values()) abort.abort();
    await Promise.all([...this.driving.values()].map((d) => d.done));
    for (const q of this.queues.values()) await (await q.catch(() => undefined))?.close();
  }
}

function pipelineView(row: { name: string; definition_json: string; created_ms: number; updated_ms: number }): PipelineView {
  const p = JSON.parse(row.definition_json) as Pipeline;
  return {
    name: p.name,
    description: p.description,
    params: p.params,
    steps: p.steps.map((s) => ({ name: s.name, needs: s.needs, kind: s.uses ?? s.kind })),
    concurrency: p.concurrency,
    createdAt: Number(row.created_ms),
    updatedAt: Number(row.updated_ms),
  };
}

function stepView(r: PlStepTable, needs: string[]): StepView {
  return {
    name: r.name,
    needs,
    status: r.status,
    attempts: Number(r.attempts),
    cached: r.status === 'cached',
    outputsSha: r.outputs_sha ?? undefined,
    metrics: r.metrics_json ? JSON.parse(r.metrics_json) : {},
    error: r.error ?? undefined,
    trackingRunId: r.tracking_run_id ?? undefined,
    ranOn: r.ran_on ?? undefined,
    startedAt: r.started_ms === null ? undefined : Number(r.started_ms),
    endedAt: r.ended_ms === null ? undefined : Number(r.ended_ms),
  };
}
