/** MLflow's tracking REST API (the same routes MLflow's own clients call). */
import { getJson, sendJson } from './http';

const BASE = '/api/2.0/mlflow';

export interface KeyValue {
  key: string;
  value: string;
}
export interface MetricPoint {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}
export interface Experiment {
  experiment_id: string;
  name: string;
  lifecycle_stage: string;
  creation_time?: number;
  last_update_time?: number;
  tags?: KeyValue[];
}
export interface RunInfo {
  run_id: string;
  run_name: string;
  experiment_id: string;
  status: string;
  start_time: number;
  end_time?: number;
  user_id?: string;
  artifact_uri: string;
  lifecycle_stage: string;
}
export interface DatasetInput {
  dataset: { name: string; digest: string; source_type: string; source: string };
  tags?: KeyValue[];
}
export interface Run {
  info: RunInfo;
  data: { metrics?: MetricPoint[]; params?: KeyValue[]; tags?: KeyValue[] };
  inputs?: { dataset_inputs?: DatasetInput[] };
}
export interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export async function searchExperiments(): Promise<Experiment[]> {
  const out: Experiment[] = [];
  let page_token: string | undefined;
  do {
    const res = await sendJson<{ experiments?: Experiment[]; next_page_token?: string }>('POST', `${BASE}/experiments/search`, { max_results: 1000, page_token });
    out.push(...(res.experiments ?? []));
    page_token = res.next_page_token;
  } while (page_token);
  return out;
}

export async function getExperiment(id: string): Promise<Experiment> {
  return (await getJson<{ experiment: Experiment }>(`${BASE}/experiments/get`, { experiment_id: id })).experiment;
}

/**
 * Every run matching a filter (the MLflow search grammar), page after page: a small first page
 * so a table can show rows at once, then large ones. `onPage` sees the runs so far.
 */
export async function searchRuns(
  experimentIds: string[],
  filter: string,
  orderBy: string[] = [],
  onPage?: (runs: Run[], done: boolean) => void,
): Promise<Run[]> {
  const out: Run[] = [];
  let page_token: string | undefined;
  do {
    const res: { runs?: Run[]; next_page_token?: string } = await sendJson('POST', `${BASE}/runs/search`, {
      experiment_ids: experimentIds,
      filter: filter || undefined,
      order_by: orderBy,
      max_results: out.length === 0 ? 200 : 5000,
      page_token,
    });
    out.push(...(res.runs ?? []));
    page_token = res.next_page_token;
    onPage?.(out, !page_token);
  } while (page_token);
  return out;
}

export async function getRun(id: string): Promise<Run> {
  return (await getJson<{ run: Run }>(`${BASE}/runs/get`, { run_id: id })).run;
}

/** One metric's history, downsampled by the server (LTTB) to at most `maxPoints` points. */
export async function metricHistory(runId: string, key: string, maxPoints = 2000): Promise<MetricPoint[]> {
  return (await getJson<{ metrics?: MetricPoint[] }>(`${BASE}/metrics/get-history`, { run_id: runId, metric_key: key, max_points: maxPoints })).metrics ?? [];
}

export async function listArtifacts(runId: string, path = ''): Promise<ArtifactFile[]> {
  return (await getJson<{ files?: ArtifactFile[] }>(`${BASE}/artifacts/list`, { run_id: runId, path: path || undefined })).files ?? [];
}

export function artifactUrl(runId: string, path: string): string {
  return `/get-artifact?run_id=${encodeURIComponent(runId)}&path=${encodeURIComponent(path)}`;
}

/** Proto JSON writes NaN and ±Infinity as strings. */
export function metricValue(v: number | string): number {
  return typeof v === 'number' ? v : Number(v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN);
}
