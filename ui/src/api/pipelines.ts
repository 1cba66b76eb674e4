/** modelport's pipelines API: saved pipelines, runs with their steps' live states, logs, schedules and triggers. */
import { fetchRaw, getJson, sendJson } from './http';

export interface PipelineStep {
  name: string;
  needs: string[];
  status: string;
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
export interface PipelineRun {
  id: string;
  pipeline: string;
  status: string;
  trigger: string;
  queue: string;
  params: Record<string, string | number | boolean>;
  trackingRunId?: string;
  error?: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  progress: { done: number; total: number };
  steps: PipelineStep[];
}
export interface Pipeline {
  name: string;
  description: string;
  params: Record<string, string | number | boolean | null>;
  steps: { name: string; needs: string[]; kind: string }[];
  concurrency: string;
  createdAt: number;
  updatedAt: number;
}
export interface Schedule {
  id: string;
  pipeline: string;
  cron: string;
  timezone: string;
  params: Record<string, unknown>;
  nextAt: number;
}
export interface Trigger {
  id: string;
  pipeline: string;
  kind: string;
  config: Record<string, unknown>;
  params: Record<string, unknown>;
}

export const listPipelines = async () => (await getJson<{ pipelines: Pipeline[] }>('/api/v1/pipelines')).pipelines;
export const listPipelineRuns = async (limit = 100) => (await getJson<{ runs: PipelineRun[] }>('/api/v1/pipelines/runs', { limit })).runs;
export const getPipelineRun = (id: string) => getJson<PipelineRun>(`/api/v1/pipelines/runs/${encodeURIComponent(id)}`);
export const listSchedules = async () => (await getJson<{ schedules: Schedule[] }>('/api/v1/pipelines/schedules')).schedules;
export const listTriggers = async () => (await getJson<{ triggers: Trigger[] }>('/api/v1/pipelines/triggers')).triggers;
export const runPipeline = (name: string) => sendJson<PipelineRun>('POST', `/api/v1/pipelines/${encodeURIComponent(name)}/runs`, {});
export const cancelRun = (id: string) => sendJson<PipelineRun>('POST', `/api/v1/pipelines/runs/${encodeURIComponent(id)}/cancel`);
export const stepLog = async (run: string, step: string, stream: 'stdout' | 'stderr') =>
  (await fetchRaw(`/api/v1/pipelines/runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}/logs?stream=${stream}`)).text();

/** A run or step is over once it reached one of these. */
export const FINISHED = new Set(['succeeded', 'cached', 'failed', 'cancelled', 'upstream_failed']);
