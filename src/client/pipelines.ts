/** Typed SDK for pipelines: saved pipelines, runs and their steps, schedules and triggers. */
import type { PipelineSpec } from '../pipelines/definition.js';
import type { PipelineView, RunView, StepView } from '../pipelines/service.js';
import type { ScheduleView, TriggerInput, TriggerView } from '../pipelines/triggers.js';
import type { GateOptions, GateReport } from '../pipelines/gate.js';
import type { ModelportClient } from './client.js';

export type { GateOptions, GateReport, PipelineSpec, PipelineView, RunView, StepView, ScheduleView, TriggerInput, TriggerView };

export interface RunOptions {
  params?: Record<string, string | number | boolean>;
  /** `local` (default) or redis://HOST:PORT?name=QUEUE. */
  queue?: string;
  parallelism?: number;
}

const enc = encodeURIComponent;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export class PipelinesClient {
  constructor(private readonly client: ModelportClient) {}

  save(definition: PipelineSpec): Promise<PipelineView> {
    return this.client.request({ method: 'PUT', path: `/api/v1/pipelines/${enc(definition.name)}`, body: { definition } });
  }

  get(name: string): Promise<PipelineView> {
    return this.client.request({ method: 'GET', path: `/api/v1/pipelines/${enc(name)}` });
  }

  list(): Promise<PipelineView[]> {
    return this.client.request<{ pipelines: PipelineView[] }>({ method: 'GET', path: '/api/v1/pipelines' }).then((r) => r.pipelines);
  }

  delete(name: string): Promise<void> {
    return this.client.request({ method: 'DELETE', path: `/api/v1/pipelines/${enc(name)}` });
  }

  /** Runs a definition (admins: it may hold shell commands). */
  run(definition: PipelineSpec, options: RunOptions = {}): Promise<RunView> {
    return this.client.request({ method: 'POST', path: '/api/v1/pipelines/runs', body: { definition, ...options } });
  }

  /** Runs a saved pipeline. */
  runSaved(name: string, options: RunOptions = {}): Promise<RunView> {
    return this.client.request({ method: 'POST', path: `/api/v1/pipelines/${enc(name)}/runs`, body: options });
  }

  getRun(id: string): Promise<RunView> {
    return this.client.request({ method: 'GET', path: `/api/v1/pipelines/runs/${enc(id)}` });
  }

  listRuns(query: { pipeline?: string; status?: string; limit?: number } = {}): Promise<RunView[]> {
    return this.client.request<{ runs: RunView[] }>({ method: 'GET', path: '/api/v1/pipelines/runs', query }).then((r) => r.runs);
  }

  cancel(id: string): Promise<RunView> {
    return this.client.request({ method: 'POST', path: `/api/v1/pipelines/runs/${enc(id)}/cancel` });
  }

  resume(id: string): Promise<RunView> {
    return this.client.request({ method: 'POST', path: `/api/v1/pipelines/runs/${enc(id)}/resume` });
  }

  async logs(id: string, step: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
    return (await this.client.request<string | undefined>({ method: 'GET', path: `/api/v1/pipelines/runs/${enc(id)}/steps/${enc(step)}/logs`, query: { stream } })) ?? '';
  }

  outputs(id: string, step: string): Promise<{ sha256: string; files: { path: string; sha256: string; size: number }[] }> {
    return this.client.request({ method: 'GET', path: `/api/v1/pipelines/runs/${enc(id)}/steps/${enc(step)}/outputs` });
  }

  /** Polls until the run ends, calling `onChange` whenever a step changes state. */
  async wait(id: string, onChange: (run: RunView) => void = () => undefined, pollMs = 250): Promise<RunView> {
    let last = '';
    for (;;) {
      const run = await this.getRun(id);
      const key = run.steps.map((s) => `${s.name}:${s.status}:${s.attempts}`).join(',') + run.status;
      if (key !== last) onChange(run);
      last = key;
      if (TERMINAL.has(run.status)) return run;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Scores candidate and champion on `columns` (the holdout) on the server and compares them. */
  gate(options: GateOptions, columns: Record<string, (string | number | null)[]>): Promise<GateReport> {
    return this.client.request({ method: 'POST', path: '/api/v1/pipelines/gate', body: { ...options, columns } });
  }

  schedule(name: string, input: { cron: string; timezone?: string; params?: Record<string, string | number | boolean> }): Promise<ScheduleView> {
    return this.client.request({ method: 'POST', path: `/api/v1/pipelines/${enc(name)}/schedules`, body: input });
  }

  schedules(pipeline?: string): Promise<ScheduleView[]> {
    return this.client.request<{ schedules: ScheduleView[] }>({ method: 'GET', path: '/api/v1/pipelines/schedules', query: { pipeline } }).then((r) => r.schedules);
  }

  deleteSchedule(id: string): Promise<void> {
    return this.client.request({ method: 'DELETE', path: `/api/v1/pipelines/schedules/${enc(id)}` });
  }

  trigger(name: string, input: TriggerInput): Promise<TriggerView> {
    return this.client.request({ method: 'POST', path: `/api/v1/pipelines/${enc(name)}/triggers`, body: input });
  }

  triggers(pipeline?: string): Promise<TriggerView[]> {
    return this.client.request<{ triggers: TriggerView[] }>({ method: 'GET', path: '/api/v1/pipelines/triggers', query: { pipeline } }).then((r) => r.triggers);
  }

  deleteTrigger(id: string): Promise<void> {
    return this.client.request({ method: 'DELETE', path: `/api/v1/pipelines/triggers/${enc(id)}` });
  }
}
