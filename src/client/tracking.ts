/**
 * Typed SDK for experiment tracking over modelport's MLflow-compatible REST API, and a metric
 * buffer that batches points (flushing by size, on an interval, and when the process is about
 * to exit) so a training loop never waits on the network.
 */
import { failedPrecondition, ModelportError } from '../core/errors.js';
import { ModelportClient, errorFromResponse } from './client.js';
import type {
  CreateRunInput,
  DatasetInput,
  Experiment,
  FileInfo,
  KeyValue,
  KeyValueInput,
  LogBatchInput,
  Metric,
  Run,
  RunInfo,
  RunStatus,
  SearchExperimentsInput,
  SearchRunsInput,
} from '../tracking/types.js';
import { artifactProxyRoot } from '../tracking/uri.js';

export type { CreateRunInput, DatasetInput, Experiment, FileInfo, KeyValue, Metric, Run, RunInfo, RunStatus, SearchExperimentsInput, SearchRunsInput };

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';
/** MLflow's log-batch limits. */
const BATCH = { metrics: 1000, paramsTags: 100 };

/** NaN and ±Infinity travel as proto JSON strings; JSON itself has no spelling for them. */
function wireValue(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function fromWire(v: unknown): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v);
}

function readMetrics<T extends { value: unknown }>(metrics: T[] | undefined): (T & { value: number })[] {
  return (metrics ?? []).map((m) => ({ ...m, value: fromWire(m.value) }));
}

function readRun(run: Run): Run {
  return {
    info: run.info,
    data: { metrics: readMetrics(run.data?.metrics), params: run.data?.params ?? [], tags: run.data?.tags ?? [] },
    inputs: { dataset_inputs: run.inputs?.dataset_inputs ?? [] },
  };
}

export interface MetricPointInput {
  key: string;
  value: number;
  step?: number;
  /** Epoch milliseconds; defaults to when the point was logged. */
  timestamp?: number;
}

export class TrackingClient {
  constructor(readonly client: ModelportClient) {}

  private post<T>(path: string, body: object): Promise<T> {
    return this.client.request<T>({ method: 'POST', path: `${API}${path}`, body });
  }

  private get<T>(path: string, query: Record<string, string | number | undefined | string[]>): Promise<T> {
    return this.client.request<T>({ method: 'GET', path: `${API}${path}`, query });
  }

  // ---- experiments ---------------------------------------------------------------------------

  async createExperiment(name: string, options: { artifactLocation?: string; tags?: Record<string, string> } = {}): Promise<string> {
    const tags = Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value }));
    const { experiment_id } = await this.post<{ experiment_id: string }>('/experiments/create', { name, artifact_location: options.artifactLocation, tags });
    return experiment_id;
  }

  /**
   * The id of the experiment named `name`, created when it does not exist: what MLflow's
   * `set_experiment` does, so a script can run twice. A deleted one must be restored first.
   */
  async setExperiment(name: string, options: { artifactLocation?: string; tags?: Record<string, string> } = {}): Promise<string> {
    const found = await this.getExperimentByName(name).catch((err: unknown) => {
      if (err instanceof ModelportError && err.code === 'NotFound') return undefined;
      throw err;
    });
    if (found?.lifecycle_stage === 'deleted') {
      throw failedPrecondition(`experiment "${name}" is deleted; restore it (restoreExperiment ${found.experiment_id}) or choose another name`);
    }
    if (found) return found.experiment_id;
    try {
      return await this.createExperiment(name, options);
    } catch (err) {
      // Another process created it between the two calls.
      if (err instanceof ModelportError && err.code === 'AlreadyExists') return (await this.getExperimentByName(name)).experiment_id;
      throw err;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.get<{ experiment: Experiment }>('/experiments/get', { experiment_id: experimentId })).experiment;
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    return (await this.get<{ experiment: Experiment }>('/experiments/get-by-name', { experiment_name: name })).experiment;
  }

  async searchExperiments(query: SearchExperimentsInput = {}): Promise<{ experiments: Experiment[]; next_page_token?: string }> {
    const res = await this.post<{ experiments?: Experiment[]; next_page_token?: string }>('/experiments/search', query);
    return { experiments: res.experiments ?? [], next_page_token: res.next_page_token };
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.post('/experiments/update', { experiment_id: experimentId, new_name: newName });
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.post('/experiments/delete', { experiment_id: experimentId });
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.post('/experiments/restore', { experiment_id: experimentId });
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.post('/experiments/set-experiment-tag', { experiment_id: experimentId, key, value });
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    await this.post('/experiments/delete-experiment-tag', { experiment_id: experimentId, key });
  }

  // ---- runs ----------------------------------------------------------------------------------

  /** Starts a run; `parentRunId` nests it under another run (MLflow's `mlflow.parentRunId` tag). */
  async createRun(input: CreateRunInput & { parentRunId?: string } = {}): Promise<Run> {
    const { parentRunId, ...rest } = input;
    const tags: KeyValueInput[] = [...(rest.tags ?? [])];
    if (parentRunId) tags.push({ key: 'mlflow.parentRunId', value: parentRunId });
    return readRun((await this.post<{ run: Run }>('/runs/create', { ...rest, tags })).run);
  }

  async getRun(runId: string): Promise<Run> {
    return readRun((await this.get<{ run: Run }>('/runs/get', { run_id: runId })).run);
  }

  async updateRun(runId: string, update: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const body = { run_id: runId, status: update.status, end_time: update.endTime, run_name: update.runName };
    return (await this.post<{ run_info: RunInfo }>('/runs/update', body)).run_info;
  }

  /** Marks a run finished (or failed/killed) now. */
  endRun(runId: string, status: RunStatus = 'FINISHED'): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime: Date.now() });
  }

  async deleteRun(runId: string): Promise<void> {
    await this.post('/runs/delete', { run_id: runId });
  }

  async restoreRun(runId: string): Promise<void> {
    await this.post('/runs/restore', { run_id: runId });
  }

  async searchRuns(query: SearchRunsInput): Promise<{ runs: Run[]; next_page_token?: string }> {
    const res = await this.post<{ runs?: Run[]; next_page_token?: string }>('/runs/search', query);
    return { runs: (res.runs ?? []).map(readRun), next_page_token: res.next_page_token };
  }

  // ---- logging -------------------------------------------------------------------------------

  async logMetric(runId: string, key: string, value: number, options: { step?: number; timestamp?: number } = {}): Promise<void> {
    await this.post('/runs/log-metric', { run_id: runId, key, value: wireValue(value), step: options.step ?? 0, timestamp: options.timestamp ?? Date.now() });
  }

  async logParam(runId: string, key: string, value: string | number | boolean): Promise<void> {
    await this.post('/runs/log-parameter', { run_id: runId, key, value: String(value) });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.post('/runs/set-tag', { run_id: runId, key, value });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.post('/runs/delete-tag', { run_id: runId, key });
  }

  /** One log-batch call; larger inputs are split into calls within MLflow's limits. */
  async logBatch(runId: string, input: { metrics?: MetricPointInput[]; params?: Record<string, string | number | boolean>; tags?: Record<string, string> }): Promise<void> {
    const now = Date.now();
    const metrics = (input.metrics ?? []).map((m) => ({ key: m.key, value: wireValue(m.value), step: m.step ?? 0, timestamp: m.timestamp ?? now }));
    const params = Object.entries(input.params ?? {}).map(([key, value]) => ({ key, value: String(value) }));
    const tags = Object.entries(input.tags ?? {}).map(([key, value]) => ({ key, value }));
    let m = 0;
    let p = 0;
    let t = 0;
    do {
      const body: LogBatchInput & { run_id: string } = { run_id: runId };
      body.params = params.slice(p, (p += BATCH.paramsTags));
      body.tags = tags.slice(t, (t += BATCH.paramsTags));
      const room = BATCH.metrics - body.params.length - body.tags.length;
      body.metrics = metrics.slice(m, (m += room));
      await this.post('/runs/log-batch', body);
    } while (m < metrics.length || p < params.length || t < tags.length);
  }

  async logInputs(runId: string, datasets: DatasetInput[]): Promise<void> {
    await this.post('/runs/log-inputs', { run_id: runId, datasets });
  }

  /** A buffer for training loops: `log()` returns at once; points go out in batches. */
  metricBuffer(runId: string, options?: MetricBufferOptions): MetricBuffer {
    return new MetricBuffer(this, runId, options);
  }

  /** Every point of a metric, in step order (follows page tokens). */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let page_token: string | undefined;
    do {
      const res = await this.get<{ metrics?: Metric[]; next_page_token?: string }>('/metrics/get-history', { run_id: runId, metric_key: key, max_results: 100_000, page_token });
      out.push(...readMetrics(res.metrics));
      page_token = res.next_page_token;
    } while (page_token);
    return out;
  }

  // ---- artifacts -----------------------------------------------------------------------------

  private async artifactRoot(runId: string): Promise<string> {
    const run = await this.getRun(runId);
    const root = artifactProxyRoot(run.info.artifact_uri);
    if (root === undefined) throw errorFromResponse(400, `run ${runId} keeps its artifacts at ${run.info.artifact_uri}, outside this server`);
    return root;
  }

  async listArtifacts(runId: string, path = ''): Promise<FileInfo[]> {
    return (await this.get<{ files?: FileInfo[] }>('/artifacts/list', { run_id: runId, path: path || undefined })).files ?? [];
  }

  async uploadArtifact(runId: string, path: string, data: Buffer | string): Promise<void> {
    const root = await this.artifactRoot(runId);
    await this.client.request({
      method: 'PUT',
      path: `${ARTIFACTS}/${root}/${path.split('/').map(encodeURIComponent).join('/')}`,
      body: typeof data === 'string' ? Buffer.from(data) : data,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }

  async downloadArtifact(runId: string, path: string): Promise<Buffer> {
    const root = await this.artifactRoot(runId);
    const res = await this.client.transport.request({ method: 'GET', path: `${ARTIFACTS}/${root}/${path.split('/').map(encodeURIComponent).join('/')}` });
    if (res.status >= 400) {
      const text = res.body.toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // plain text error
      }
      throw errorFromResponse(res.status, body);
    }
    return res.body;
  }
}

export interface MetricBufferOptions {
  /** Send as soon as this many points are waiting (at most 1000 go in one request). Default 1000. */
  maxPoints?: number;
  /** Send whatever is waiting at least this often, in ms. Default 2000. */
  intervalMs?: number;
  /** Flush when the event loop empties at process exit. Default true. */
  flushOnExit?: boolean;
  /**
   * Called when a background flush fails. Points the server refused (4xx) are dropped; after
   * other failures they stay buffered for the next try.
   */
  onError?: (err: unknown) => void;
}

/**
 * Buffers metric points for one run. `log()` never waits; flushes run one at a time in the
 * background, in the order points were logged. Call `close()` at the end of training to send
 * the rest and stop the timer.
 */
export class MetricBuffer {
  private points: MetricPointInput[] = [];
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly maxPoints: number;
  private readonly onExit = () => void this.flush().catch((err) => this.report(err));
  private closed = false;

  constructor(
    private readonly tracking: TrackingClient,
    readonly runId: string,
    private readonly options: MetricBufferOptions = {},
  ) {
    this.maxPoints = Math.max(1, Math.min(options.maxPoints ?? 1000, BATCH.metrics));
    this.timer = setInterval(() => void this.flush().catch((err) => this.report(err)), options.intervalMs ?? 2000);
    this.timer.unref();
    if (options.flushOnExit ?? true) process.once('beforeExit', this.onExit);
  }

  /** Points logged but not yet handed to a request (failed sends come back here). */
  get pending(): number {
    return this.points.length;
  }

  log(key: string, value: number, step = 0, timestamp = Date.now()): void {
    if (this.closed) throw new Error('MetricBuffer.log after close()');
    this.points.push({ key, value, step, timestamp });
    if (this.points.length >= this.maxPoints) void this.flush().catch((err) => this.report(err));
  }

  /** Sends everything logged so far; resolves when the server has acknowledged it. */
  flush(): Promise<void> {
    const taken = this.points.splice(0);
    const done = this.sending.then(async () => {
      for (let i = 0; i < taken.length; i += BATCH.metrics) {
        const batch = taken.slice(i, i + BATCH.metrics);
        try {
          await this.tracking.logBatch(this.runId, { metrics: batch });
        } catch (err) {
          // The server refused these points (a bad key or value): resending cannot help.
          // Anything else (network, 5xx, 429) keeps the unsent points for the next flush.
          const status = (err as { details?: { httpStatus?: number } }).details?.httpStatus;
          const refused = status !== undefined && status >= 400 && status < 500 && status !== 429;
          this.points.unshift(...taken.slice(refused ? i + BATCH.metrics : i));
          throw err;
        }
      }
    });
    // Flushes go out one at a time; a failed one must not block the ones after it.
    this.sending = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    process.off('beforeExit', this.onExit);
    await this.flush();
  }

  private report(err: unknown): void {
    if (this.options.onError) this.options.onError(err);
    else process.emitWarning(`modelport metric buffer: flush failed, ${this.points.length} points kept: ${(err as Error).message}`);
  }
}
