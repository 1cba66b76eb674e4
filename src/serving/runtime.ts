/**
 * A model version loaded on this replica: its predictor, its batcher, and a count of the
 * requests using it, so a hot swap can wait for them before unloading.
 */
import type { Clock } from '../core/clock.js';
import { loadModel, resolveArtifact, type Batch, type Predictor, type Signature } from '../models/index.js';
import { DynamicBatcher, type BatcherHooks } from './batcher.js';
import { loadInWorker } from './worker-predictor.js';
import { AUTO_LOOP_MICROS, warmupBatch } from './warmup.js';
import type { ResolvedModel } from './source.js';
import type { DeploymentConfig } from './types.js';
import { cpuCount } from '../core/cpus.js';

export class LoadedVersion {
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  batcher: DynamicBatcher;
  retired = false;
  /** The settings the model was loaded with (see loadSettings): a change of them needs a new load. */
  readonly loadedWith: string;

  constructor(
    readonly model: string,
    readonly version: number,
    readonly sha256: string,
    readonly predictor: Predictor,
    readonly runsOn: RunsOn,
    config: DeploymentConfig,
    private readonly clock: Clock,
    private readonly hooks: BatcherHooks,
    private readonly label: string,
  ) {
    this.batcher = this.makeBatcher(config);
    this.loadedWith = loadSettings(config);
  }

  get signature(): Signature {
    return this.predictor.signature;
  }

  private makeBatcher(config: DeploymentConfig): DynamicBatcher {
    return new DynamicBatcher((b) => this.predictor.predict(b), config.batching, this.clock, this.hooks, this.label, this.predictor.concurrentCalls);
  }

  /** New batching settings take effect for new requests; queued ones finish in the old queue. */
  reconfigure(config: DeploymentConfig): void {
    this.batcher = this.makeBatcher(config);
  }

  /**
   * Runs one request through the batcher, counted so that `drained` can wait for it. The batcher's
   * promise is returned as it is: an async frame here cost every request a promise and its garbage.
   */
  predict(batch: Batch): Promise<Batch> {
    this.inFlight++;
    try {
      return this.batcher.submit(batch, this.release);
    } catch (err) {
      // A throw before the batcher took the request would leave it counted, and `drained` waiting.
      this.release();
      return Promise.reject(err);
    }
  }

  private readonly release = (): void => {
    if (--this.inFlight === 0) for (const w of this.drainWaiters.splice(0)) w();
  };

  /** Resolves once no request is using this version. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Waits for in-flight requests, then frees the model. */
  async retire(): Promise<void> {
    this.retired = true;
    await this.drained();
    this.batcher.close();
    await this.predictor.close();
  }
}

/**
 * Fetches, loads and warms one version. Tree models always evaluate on their worker threads
 * (parallelMinRows 1) so the event loop never runs tree walks; onnx and js models run where
 * the deployment's executor says, onnxruntime with the deployment's intra-op threads.
 */
export async function loadVersion(resolved: ResolvedModel, config: DeploymentConfig): Promise<{ predictor: Predictor; runsOn: RunsOn }> {
  const path = await resolved.materialize();
  const { flavor } = await resolveArtifact(path, resolved.flavor);
  let predictor: Predictor;
  let runsOn: RunsOn = 'worker';
  if (flavor === 'xgboost') {
    predictor = await loadModel(path, { flavor, threads: cpuCount(), parallelMinRows: 1 });
    runsOn = 'tree-pool';
  } else if (config.executor === 'event-loop') {
    predictor = await loadModel(path, { flavor, threads: config.threads, onnxEngine: config.onnxEngine });
    runsOn = 'event-loop';
  } else {
    const inWorker = await loadInWorker(path, { flavor, threads: config.threads, onnxEngine: config.onnxEngine });
    predictor = inWorker;
    // 'auto': a model whose one-row call costs less than handing it to a thread runs on the
    // event loop (measured in bench/serving); the copy in the worker is then dropped.
    if (config.executor === 'auto' && inWorker.singleRowMicros !== undefined && inWorker.singleRowMicros < AUTO_LOOP_MICROS) {
      predictor = await loadModel(path, { flavor, threads: config.threads, onnxEngine: config.onnxEngine });
      runsOn = 'event-loop';
      // Off the swap's path: the thread unloads (and becomes the spare) while the version warms.
      void inWorker.close();
    }
  }
  try {
    const warm = warmupBatch(predictor.signature);
    if (warm) await predictor.predict(warm);
  } catch (err) {
    await predictor.close().catch(() => undefined);
    throw err;
  }
  return { predictor, runsOn };
}

/** The part of a deployment's config that loadVersion reads, as one comparable string. */
export function loadSettings(config: DeploymentConfig): string {
  return JSON.stringify([config.executor, config.threads, config.onnxEngine ?? 'auto']);
}

/** Where a loaded version computes. */
export type RunsOn = 'worker' | 'event-loop' | 'tree-pool';
