/**
 * Tracking entities in MLflow's wire shape (snake_case, ids as strings, times in epoch ms), so
 * the REST layer, the SDK and other domains share one form. A metric value may be NaN; the REST
 * layer writes it as "NaN" as MLflow's proto JSON does.
 */
export type LifecycleStage = 'active' | 'deleted';
export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export interface KeyValue {
  key: string;
  value: string;
}

/** A key-value pair as clients send it: proto JSON omits an empty value. */
export interface KeyValueInput {
  key: string;
  value?: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  last_update_time: number;
  creation_time: number;
  tags: KeyValue[];
}

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface RunInfo {
  run_id: string;
  /** Deprecated alias of run_id that MLflow still sends. */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags: KeyValueInput[];
  dataset: Dataset;
}

/** MLflow 3: a logged model a run used (ModelInput) or produced at a step (ModelOutput). */
export interface ModelInput {
  model_id: string;
}
export interface ModelOutput {
  model_id: string;
  step: number;
}

export interface Run {
  info: RunInfo;
  data: { metrics: Metric[]; params: KeyValue[]; tags: KeyValue[] };
  /** `model_inputs` and `outputs` appear only when the run has some, as MLflow's proto JSON omits empty lists. */
  inputs: { dataset_inputs: DatasetInput[]; model_inputs?: ModelInput[] };
  outputs?: { model_outputs: ModelOutput[] };
}

/** A metric point as a client sends it: values may be "NaN"/"Infinity" text, step may be absent. */
export interface MetricInput {
  key: string;
  /** A number, or "NaN", "Infinity", "-Infinity" or numeric text. */
  value: unknown;
  timestamp?: number;
  step?: number;
  /** MLflow 3: the logged model the point also belongs to, and the dataset it was measured on. */
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

export interface LogBatchInput {
  metrics?: MetricInput[];
  params?: KeyValueInput[];
  tags?: KeyValueInput[];
}

export interface CreateRunInput {
  experiment_id?: string;
  run_name?: string;
  start_time?: number;
  tags?: KeyValueInput[];
  user_id?: string;
}

export interface SearchRunsInput {
  experiment_ids?: string[];
  filter?: string;
  run_view_type?: ViewType;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

export interface SearchExperimentsInput {
  filter?: string;
  view_type?: ViewType;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** Tag keys MLflow gives meaning to. */
export const TAGS = {
  runName: 'mlflow.runName',
  user: 'mlflow.user',
  parentRunId: 'mlflow.parentRunId',
  datasetContext: 'mlflow.data.context',
  loggedModels: 'mlflow.log-model.history',
} as const;
