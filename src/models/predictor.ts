/**
 * The port every model runtime implements: load an artifact, get a Predictor that turns an
 * input Batch into an output Batch. Predictors are safe to call concurrently.
 */
import type { Batch } from './batch.js';
import type { ConformOptions, Signature, TensorSpec } from './signature.js';

export interface Predictor {
  /** The flavor that loaded the model: 'onnx', 'xgboost', 'js', ... */
  readonly flavor: string;
  readonly signature: Signature;
  /** Flavor-specific facts a caller may show or use (objective, class labels, best_iteration...). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Checks `batch` against the signature (InvalidArgument naming the column) and predicts. */
  predict(batch: Batch): Promise<Batch>;
  /**
   * A column predict() also takes in place of all the signature's inputs (float32 scalars): each
   * row's inputs side by side, in signature order, as a row-major matrix. A caller that holds rows
   * so (a batch job reading a file) then hands them over whole instead of split into columns that
   * the model would interleave again; rows in shared memory (a SharedArrayBuffer) go to the model's
   * worker threads as they are, without a copy.
   */
  readonly rowMajorInput?: TensorSpec;
  /** Frees native sessions and worker threads; predict must not be called afterwards. */
  close(): Promise<void>;
  /**
   * Calls worth running at once (default 2: one batch forms while the other computes). A model
   * that mostly waits (an async js predict) takes more, so one slow call does not hold the rest.
   */
  readonly concurrentCalls?: number;
}

export type OnnxEngine = 'auto' | 'onnxruntime';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface LoadOptions extends ConformOptions {
  /** Flavor to use instead of detecting one from the artifact. */
  flavor?: string;
  /** Overrides the signature the model declares (the ONNX graph, the XGBoost feature names). */
  signature?: Signature;
  /**
   * Threads for one prediction: onnxruntime's intra-op threads; for XGBoost, how many of the
   * process-wide tree worker threads (one per core) a large batch is split across (0 = always
   * evaluate on the calling thread). Default: all cores.
   */
  threads?: number;
  /** onnxruntime inter-op threads (only used with executionMode 'parallel'). */
  interOpThreads?: number;
  /** onnxruntime graph optimisation level; default 'all'. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** onnxruntime execution mode; default 'sequential'. */
  executionMode?: 'sequential' | 'parallel';
  /**
   * ONNX: 'auto' (default) evaluates a small dense graph in JavaScript when every operator is
   * one modelport implements and a probe batch agrees with onnxruntime; 'onnxruntime' always
   * runs onnxruntime.
   */
  onnxEngine?: OnnxEngine;
  /** XGBoost: use the trees up to the stored best_iteration (default true), as XGBoost's sklearn API does. */
  useBestIteration?: boolean;
  /** XGBoost: boosting rounds [begin, end) to use, like predict(iteration_range=...); overrides best_iteration. */
  iterationRange?: readonly [number, number];
  /**
   * XGBoost: batches with fewer rows than this run on the calling thread. Default: the rows
   * that make about a millisecond of work for this model (at least 64).
   */
  parallelMinRows?: number;
}

export interface Flavor {
  readonly name: string;
  /** Loads the model at `path` (a file or folder, already resolved from any MLmodel file). */
  load(path: string, options: LoadOptions): Promise<Predictor>;
}
