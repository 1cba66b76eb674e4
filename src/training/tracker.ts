/**
 * What training needs from tracking, the registry and datasets, as a port: the SDK implements
 * it (src/client/training.ts) over a server or the embedded platform, so training runs the same
 * way in-process, from the CLI and against a remote server.
 */
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
}

export interface TrackedRun {
  runId: string;
  name: string;
  status: RunStatus;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
}

export interface TrainingTracker {
  /** Creates (or finds) the experiment and starts a run in it; a parent makes it a nested run. */
  startRun(input: { experiment: string; name: string; parentRunId?: string; tags?: Record<string, string> }): Promise<string>;
  log(runId: string, input: { params?: Record<string, string>; metrics?: MetricPoint[]; tags?: Record<string, string> }): Promise<void>;
  logArtifact(runId: string, path: string, bytes: Uint8Array): Promise<void>;
  endRun(runId: string, status: RunStatus): Promise<void>;
  getRun(runId: string): Promise<TrackedRun>;
  /** The newest run of the experiment carrying all of these tags (keys without dots), if any. */
  findRun(experiment: string, tags: Record<string, string>): Promise<string | undefined>;
  /** The nested runs of a parent, oldest first, with their curves' metric histories not included. */
  childRuns(parentRunId: string): Promise<TrackedRun[]>;
  /** Metric history of one key (a trial's intermediate values), ordered by step. */
  history(runId: string, key: string): Promise<{ step: number; value: number }[]>;
  /**
   * Records the training file as a dataset version (registering it under `dataset` when given)
   * and links the run to it; answers how the model refers to it ("loans@3" or "sha256:…").
   */
  recordDataset(runId: string | undefined, file: string, dataset?: string): Promise<string>;
  /** Registers a model folder as a new version of `name`. */
  registerModel(name: string, folder: string, options: { runId?: string; flavor: 'xgboost' | 'onnx'; description?: string; tags?: Record<string, string>; dataset?: string }): Promise<{ version: number }>;
}
