/**
 * The `xgboost` flavor in pure TypeScript: a model saved by XGBoost as JSON or UBJSON,
 * evaluated from flat typed arrays, on the calling thread for small batches and across worker
 * threads for large ones. Outputs `margin` (predict(output_margin=True)) and `prediction`
 * (predict()).
 */
import { readFile } from 'node:fs/promises';
import { failedPrecondition, invalidArgument } from '../../core/errors.js';
import { Batch, rowSize, type Column, type NumericArray } from '../batch.js';
import type { Flavor, LoadOptions, Predictor } from '../predictor.js';
import { formatSpec, type Signature, type TensorSpec } from '../signature.js';
import { accumulateMargins, compileForest, fillBase, type Forest } from './forest.js';
import { parseXgboost, transformOf, type Transform, type XgbModel } from './model.js';
import { SharedBuffers, TreePool } from './pool.js';
import { cpuCount } from '../../core/cpus.js';

/**
 * Tree steps (rows × summed tree depths) below which a batch stays on the calling thread:
 * about a millisecond of work, well above the cost of handing a batch to the workers.
 */
const PARALLEL_MIN_STEPS = 500_000;

/** Boosting rounds to evaluate: an explicit range, else up to best_iteration, else all. */
export function treeRange(model: XgbModel, options: LoadOptions): [number, number] {
  const rounds = model.roundStart.length - 1;
  let [begin, end] = [0, rounds];
  if (options.iterationRange && !(options.iterationRange[0] === 0 && options.iterationRange[1] === 0)) {
    [begin, end] = options.iterationRange;
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > rounds || begin >= end) {
      throw invalidArgument(`iterationRange [${begin}, ${end}) is not within the model's ${rounds} boosting rounds`);
    }
  } else if (options.useBestIteration !== false && model.bestIteration !== undefined && model.bestIteration + 1 < rounds) {
    end = model.bestIteration + 1;
  }
  return [model.roundStart[begin], model.roundStart[end]];
}

function applyTransform(transform: Transform, margins: Float32Array, rows: number, k: number): Float32Array {
  const out = new Float32Array(transform === 'argmax' ? rows : margins.length);
  switch (transform) {
    case 'identity':
      out.set(margins);
      break;
    case 'sigmoid':
      for (let i = 0; i < margins.length; i++) out[i] = 1 / (1 + Math.exp(-margins[i]));
      break;
    case 'exp':
      for (let i = 0; i < margins.length; i++) out[i] = Math.exp(margins[i]);
      break;
    case 'hinge':
      for (let i = 0; i < margins.length; i++) out[i] = margins[i] > 0 ? 1 : 0;
      break;
    case 'softmax':
      for (let r = 0; r < rows; r++) {
        const o = r * k;
        let max = -Infinity;
        for (let j = 0; j < k; j++) max = Math.max(max, margins[o + j]);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += out[o + j] = Math.exp(margins[o + j] - max);
        for (let j = 0; j < k; j++) out[o + j] /= sum;
      }
      break;
    case 'argmax':
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (margins[r * k + j] > margins[r * k + best]) best = j;
        out[r] = best;
      }
      break;
  }
  return out;
}

class XgboostPredictor implements Predictor {
  readonly flavor = 'xgboost';
  private readonly pool: TreePool | undefined;
  private readonly featureNames: readonly string[];
  private readonly parallelMinRows: number;
  private readonly buffers = new SharedBuffers();
  private closed = false;
  /** matrix() takes a lone vector column not named as a feature as the rows themselves. */
  readonly rowMajorInput: TensorSpec;

  constructor(
    readonly forest: Forest,
    private readonly transform: Transform,
    readonly signature: Signature,
    readonly metadata: Record<string, unknown>,
    private readonly options: LoadOptions,
  ) {
    this.featureNames = signature.inputs.map((s) => s.name);
    let name = 'features';
    while (this.featureNames.includes(name)) name = `_${name}`;
    this.rowMajorInput = { name, dtype: 'float32', shape: [forest.numFeature] };
    const threads = options.threads ?? cpuCount();
    this.pool = threads > 0 ? new TreePool(forest, threads) : undefined;
    const stepsPerRow = forest.depth.reduce((a, d) => a + d, 0);
    this.parallelMinRows = options.parallelMinRows ?? Math.max(64, Math.ceil(PARALLEL_MIN_STEPS / Math.max(1, stepsPerRow)));
  }

  /**
   * The input as a row-major float32 matrix (shared memory when workers will read it). A row-major
   * column already in shared memory is used as it is, not copied (a batch job reads its rows there).
   */
  matrix(batch: Batch, shared: boolean): Float32Array {
    const nf = this.forest.numFeature;
    const n = batch.rows;
    const alloc = (len: number) => (shared ? this.buffers.take(len) : new Float32Array(len));
    const only = batch.columns.size === 1 ? [...batch.columns][0] : undefined;
    if (only && only[1].shape.length === 1 && !this.featureNames.includes(only[0])) {
      const [name, col] = only;
      if (col.shape[0] !== nf) throw invalidArgument(`column "${name}": expected float32[${nf}] (one value per feature), got ${formatSpec(col)}`);
      if (shared && col.data instanceof Float32Array && col.data.buffer instanceof SharedArrayBuffer && col.data.length === n * nf) return col.data;
      return toFloat32(name, col, alloc(n * nf), 0, 1);
    }
    if (this.options.extraColumns !== 'ignore') {
      const known = new Set(this.featureNames);
      const extra = batch.names.filter((c) => !known.has(c));
      if (extra.length > 0) {
        throw invalidArgument(`column${extra.length > 1 ? 's' : ''} ${extra.map((c) => `"${c}"`).join(', ')} not in the model signature (expected the ${nf} feature columns ${this.featureNames.slice(0, 3).map((c) => `"${c}"`).join(', ')}${nf > 3 ? ', ...' : ''})`);
      }
    }
    const x = alloc(n * nf);
    this.featureNames.forEach((name, f) => {
      const col = batch.columns.get(name);
      if (!col) throw invalidArgument(`column "${name}" is missing: expected float32 (feature ${f} of ${nf})`);
      if (rowSize(col.shape) !== 1) throw invalidArgument(`column "${name}": expected float32, got ${formatSpec(col)}`);
      toFloat32(name, col, x, f, nf);
    });
    return x;
  }

  async predict(batch: Batch): Promise<Batch> {
    if (this.closed) throw failedPrecondition('predictor is closed');
    const n = batch.rows;
    const k = this.forest.numGroups;
    const parallel = this.pool !== undefined && n >= this.parallelMinRows;
    const x = this.matrix(batch, parallel);
    // The caller's own shared rows, which matrix() took as they are, stay the caller's.
    const borrowed = [...batch.columns.values()].some((c) => c.data === x);
    const margins = parallel ? this.buffers.take(n * k) : new Float32Array(n * k);
    fillBase(this.forest, margins);
    if (parallel) {
      try {
        await this.pool!.run(x, this.forest.numFeature, n, margins);
      } finally {
        if (!borrowed) this.buffers.give(x);
      }
    } else accumulateMargins(this.forest, x, this.forest.numFeature, 0, n, margins);
    const prediction = applyTransform(this.transform, margins, n, k);
    const shape = k > 1 ? [k] : [];
    const margin = parallel ? margins.slice() : margins;
    if (parallel) this.buffers.give(margins);
    return Batch.from(
      [
        ['margin', { dtype: 'float32', shape, data: margin }],
        ['prediction', { dtype: 'float32', shape: this.transform === 'argmax' ? [] : shape, data: prediction }],
      ],
      n,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool?.close();
  }
}

/**
 * Copies a numeric column into `out` as float32, element i of the column going to
 * out[offset + i * stride] (rows of a vector column are contiguous, so stride 1 copies it whole).
 */
function toFloat32(name: string, col: Column, out: Float32Array, offset: number, stride: number): Float32Array {
  if (col.dtype === 'string' || col.dtype === 'float16') {
    throw invalidArgument(`column "${name}": expected float32, got ${col.dtype}`);
  }
  const src = col.data as NumericArray;
  if (stride === 1 && offset === 0 && !(src instanceof BigInt64Array || src instanceof BigUint64Array)) {
    out.set(src as Float64Array);
    return out;
  }
  for (let i = 0; i < src.length; i++) out[offset + i * stride] = Number(src[i]);
  return out;
}

function xgboostSignature(model: XgbModel, options: LoadOptions): Signature {
  const k = model.numGroups;
  const transform = transformOf(model.objective);
  let inputs: TensorSpec[];
  if (options.signature) {
    if (options.signature.inputs.length !== model.numFeature) {
      throw invalidArgument(`signature has ${options.signature.inputs.length} inputs but the model has ${model.numFeature} features`);
    }
    inputs = options.signature.inputs.map((s) => ({ name: s.name, dtype: 'float32', shape: [] }));
  } else {
    const names = model.featureNames ?? Array.from({ length: model.numFeature }, (_, i) => `f${i}`);
    inputs = names.map((name) => ({ name, dtype: 'float32', shape: [] }));
  }
  const shape = k > 1 ? [k] : [];
  return {
    inputs,
    outputs: [
      { name: 'margin', dtype: 'float32', shape },
      { name: 'prediction', dtype: 'float32', shape: transform === 'argmax' ? [] : shape },
    ],
  };
}

export function xgboostPredictor(model: XgbModel, options: LoadOptions = {}): Predictor {
  const transform = transformOf(model.objective);
  const [begin, end] = treeRange(model, options);
  const forest = compileForest(model, begin, end);
  const metadata = {
    objective: model.objective,
    booster: model.booster,
    xgboostVersion: model.version.join('.'),
    numTrees: end - begin,
    numClass: model.objective.startsWith('multi:') ? model.numGroups : 0,
    baseScore: model.baseScore,
    bestIteration: model.bestIteration,
    featureTypes: model.featureTypes,
  };
  return new XgboostPredictor(forest, transform, xgboostSignature(model, options), metadata, options);
}

async function loadXgboost(path: string, options: LoadOptions): Promise<Predictor> {
  const bytes = await readFile(path);
  let model: XgbModel;
  try {
    model = parseXgboost(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    if (err instanceof Error) err.message = `${path}: ${err.message}`;
    throw err;
  }
  return xgboostPredictor(model, options);
}

export const xgboostFlavor: Flavor = { name: 'xgboost', load: loadXgboost };
