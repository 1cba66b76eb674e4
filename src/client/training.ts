/**
 * Training through the SDK: the TrainingTracker port over the tracking, registry and datasets
 * clients, so `trainFile`, `runStudy` and the quickstart track runs and register models the
 * same way embedded and against a server.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { isModelportError } from '../core/errors.js';
import type { MetricPoint, RunStatus, TrackedRun, TrainingTracker } from '../training/tracker.js';
import type { ModelportClient } from './client.js';
import { DatasetsClient, type UploadTarget } from './datasets.js';
import { RegistryClient, httpBlobUploader } from './registry.js';
import { TrackingClient, type Run } from './tracking.js';

export { trainFile, type TrainRequest, type TrainResult } from '../training/session.js';

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const record = (list: { key: string; value: string }[]) => Object.fromEntries(list.map((p) => [p.key, p.value]));

function tracked(run: Run): TrackedRun {
  return {
    runId: run.info.run_id,
    name: run.info.run_name,
    status: run.info.status as RunStatus,
    params: record(run.data.params),
    tags: record(run.data.tags),
    metrics: Object.fromEntries(run.data.metrics.map((m) => [m.key, Number(m.value)])),
  };
}

export class ClientTrainingTracker implements TrainingTracker {
  private readonly tracking: TrackingClient;
  private readonly registry: RegistryClient;
  private readonly datasets: DatasetsClient;
  private readonly experiments = new Map<string, string>();

  /** `server` (the URL of a running server) streams model and dataset files instead of buffering them. */
  constructor(client: ModelportClient, server?: UploadTarget) {
    this.tracking = new TrackingClient(client);
    this.registry = new RegistryClient(client, server ? { uploader: httpBlobUploader(server) } : {});
    this.datasets = new DatasetsClient(client, server);
  }

  private async experimentId(name: string): Promise<string> {
    const known = this.experiments.get(name);
    if (known) return known;
    let id: string;
    try {
      id = (await this.tracking.getExperimentByName(name)).experiment_id;
    } catch (err) {
      if (!isModelportError(err) || err.code !== 'NotFound') throw err;
      try {
        id = await this.tracking.createExperiment(name);
      } catch (again) {
        // Another trial or process created it first.
        if (!isModelportError(again) || again.code !== 'AlreadyExists') throw again;
        id = (await this.tracking.getExperimentByName(name)).experiment_id;
      }
    }
    this.experiments.set(name, id);
    return id;
  }

  async startRun(input: { experiment: string; name: string; parentRunId?: string; tags?: Record<string, string> }): Promise<string> {
    const run = await this.tracking.createRun({
      experiment_id: await this.experimentId(input.experiment),
      run_name: input.name,
      parentRunId: input.parentRunId,
      tags: Object.entries({ 'mlflow.source.name': 'modelport train', ...(input.tags ?? {}) }).map(([key, value]) => ({ key, value })),
    });
    return run.info.run_id;
  }

  async log(runId: string, input: { params?: Record<string, string>; metrics?: MetricPoint[]; tags?: Record<string, string> }): Promise<void> {
    const now = Date.now();
    await this.tracking.logBatch(runId, { params: input.params, tags: input.tags, metrics: input.metrics?.map((m) => ({ ...m, timestamp: now })) });
  }

  async logArtifact(runId: string, path: string, bytes: Uint8Array): Promise<void> {
    await this.tracking.uploadArtifact(runId, path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  async endRun(runId: string, status: RunStatus): Promise<void> {
    await this.tracking.endRun(runId, status);
  }

  async getRun(runId: string): Promise<TrackedRun> {
    return tracked(await this.tracking.getRun(runId));
  }

  async findRun(experiment: string, tags: Record<string, string>): Promise<string | undefined> {
    const filter = Object.entries(tags).map(([k, v]) => `tags.${k} = '${v.replace(/'/g, "''")}'`).join(' and ');
    const page = await this.tracking.searchRuns({ experiment_ids: [await this.experimentId(experiment)], filter, order_by: ['attributes.start_time DESC'], max_results: 1 });
    return page.runs[0]?.info.run_id;
  }

  async childRuns(parentRunId: string): Promise<TrackedRun[]> {
    const parent = await this.tracking.getRun(parentRunId);
    const out: TrackedRun[] = [];
    let page_token: string | undefined;
    do {
      const page = await this.tracking.searchRuns({ experiment_ids: [parent.info.experiment_id], filter: `tags.mlflow.parentRunId = '${parentRunId}'`, max_results: 1000, page_token });
      out.push(...page.runs.map(tracked));
      page_token = page.next_page_token;
    } while (page_token);
    return out.sort((a, b) => Number(a.tags.modelport_trial ?? 0) - Number(b.tags.modelport_trial ?? 0));
  }

  async history(runId: string, key: string): Promise<{ step: number; value: number }[]> {
    return (await this.tracking.getMetricHistory(runId, key)).map((m) => ({ step: Number(m.step), value: Number(m.value) })).sort((a, b) => a.step - b.step);
  }

  async recordDataset(runId: string | undefined, file: string, dataset?: string): Promise<string> {
    let ref: string;
    let digest: string;
    if (dataset) {
      const { version } = await this.datasets.register(dataset, file, { description: `training data (${basename(file)})` });
      ref = `${dataset}@${version.version}`;
      digest = version.digest;
      if (runId) await this.datasets.linkRun(ref, runId, 'training');
    } else {
      digest = await sha256File(file);
      ref = `sha256:${digest}`;
    }
    if (runId) {
      await this.tracking.logInputs(runId, [
        { dataset: { name: dataset ?? basename(file), digest: digest.slice(0, 36), source_type: dataset ? 'modelport' : 'local', source: dataset ? `modelport:/datasets/${ref}` : file }, tags: [{ key: 'mlflow.data.context', value: 'training' }] },
      ]);
    }
    return ref;
  }

  async registerModel(name: string, file: string, options: { runId?: string; flavor: 'xgboost' | 'onnx'; description?: string; tags?: Record<string, string>; dataset?: string }): Promise<{ version: number }> {
    const version = await this.registry.register(name, file, { flavor: options.flavor, runId: options.runId, description: options.description, tags: options.tags });
    if (options.dataset && !options.dataset.startsWith('sha256:')) {
      await this.datasets.linkModel(options.dataset, { modelName: name, modelVersion: String(version.version), runId: options.runId });
    }
    return { version: Number(version.version) };
  }
}
export { runStudy, type StudyRequest, type StudyResult } from '../training/search/study.js';
