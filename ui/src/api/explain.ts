/** modelport's explanations API: a model version's stored global importance and its HTML report. */
import { getJson } from './http';

export interface Importance {
  model: string;
  version: number;
  shap?: { method: string; output: string; dataset: string; rows: number; featureNames: string[]; mean: number[] };
  permutation?: { metric: string; output: string; dataset: string; label: string; rows: number; repeats: number; baseline: number; featureNames: string[]; mean: number[]; std: number[] };
}

const versionPath = (name: string, version: number) => `/api/v1/explain/models/${encodeURIComponent(name)}/versions/${version}`;
export const importance = (name: string, version: number) => getJson<Importance>(`${versionPath(name, version)}/importance`);
export const reportPath = (name: string, version: number) => `${versionPath(name, version)}/report`;
