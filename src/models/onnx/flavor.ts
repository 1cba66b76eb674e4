/**
 * The `onnx` flavor: runs a model with onnxruntime-node. The signature comes from the graph's
 * inputs and outputs (the first dimension is the batch), ZipMap outputs become plain
 * probability tensors, and session options come from the load options.
 */
import { readFile } from 'node:fs/promises';
import type * as OrtTypes from 'onnxruntime-node';

// Loaded on first use: the native runtime costs start-up time a server without ONNX models need not pay.
let ort: typeof OrtTypes;
async function loadOrt(): Promise<typeof OrtTypes> {
  if (!ort) {
    const mod = (await import('onnxruntime-node')) as typeof OrtTypes & { default?: typeof OrtTypes };
    ort = mod.default ?? mod;
  }
  return ort;
}
import { failedPrecondition, invalidArgument } from '../../core/errors.js';
import { Batch, isDType, type Column, type ColumnData, type DType } from '../batch.js';
import type { Flavor, LoadOptions, Predictor } from '../predictor.js';
import { castData, conform, type Signature, type TensorSpec } from '../signature.js';
import type { DenseGraph } from './dense-graph.js';
import { chooseEngine } from './engine.js';
import { stripZipMap, type ZipMapInfo } from './zipmap.js';
import { cpuCount } from '../../core/cpus.js';

interface Port extends TensorSpec {
  /** A fixed batch dimension the graph insists on (often 1), if it has one. */
  fixedBatch?: number;
}

function toPort(meta: OrtTypes.InferenceSession.ValueMetadata, where: string): Port {
  if (!meta.isTensor) throw failedPrecondition(`ONNX ${where} "${meta.name}" is not a tensor; only tensor inputs and outputs are supported`);
  const dtype = meta.type as string;
  if (!isDType(dtype)) throw failedPrecondition(`ONNX ${where} "${meta.name}" has type ${dtype}, which modelport does not support`);
  const [first, ...rest] = meta.shape;
  return {
    name: meta.name,
    dtype,
    shape: rest.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    fixedBatch: typeof first === 'number' && first > 0 ? first : undefined,
  };
}

function sessionOptions(options: LoadOptions): OrtTypes.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.threads ?? cpuCount(),
    interOpNumThreads: options.interOpThreads ?? 1,
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    executionMode: options.executionMode ?? 'sequential',
  };
}

class OnnxPredictor implements Predictor {
  readonly flavor = 'onnx';
  private closed = false;
  /** The JavaScript evaluator and the batches it takes (see engine.ts); larger ones go to the session. */
  private graph: DenseGraph | undefined;
  private graphMaxRows = 0;
  /** The graph's input arrays of the current call, kept from call to call. */
  private readonly inputData: Float32Array[];

  constructor(
    private readonly session: OrtTypes.InferenceSession,
    private readonly inputs: Port[],
    private readonly outputs: Port[],
    readonly signature: Signature,
    readonly metadata: Record<string, unknown>,
    private readonly options: LoadOptions,
  ) {
    this.inputData = inputs.map(() => new Float32Array(0));
  }

  /** Evaluates batches of up to `maxRows` rows with `graph` from now on. */
  useGraph(graph: DenseGraph, maxRows: number): void {
    this.graph = graph;
    this.graphMaxRows = maxRows;
  }

  async predict(batch: Batch): Promise<Batch> {
    if (this.closed) throw failedPrecondition('predictor is closed');
    let conformed = conform(batch, this.signature.inputs, this.options);
    if (this.options.signature) conformed = this.toModelTypes(conformed);
    const fixed = this.inputs.find((p) => p.fixedBatch)?.fixedBatch;
    if (fixed && conformed.rows !== fixed) {
      if (conformed.rows % fixed !== 0) {
        throw invalidArgument(`the model takes batches of exactly ${fixed} rows; got ${conformed.rows}`);
      }
      const parts: Promise<Batch>[] = [];
      for (let r = 0; r < conformed.rows; r += fixed) parts.push(this.run(conformed.slice(r, r + fixed)));
      return Batch.concat(await Promise.all(parts));
    }
    return this.run(conformed);
  }

  private toModelTypes(batch: Batch): Batch {
    return Batch.from(
      this.inputs.map((p) => {
        const col = batch.column(p.name);
        return [p.name, { dtype: p.dtype, shape: col.shape, data: castData(p.name, col, p.dtype) }] as const;
      }),
      batch.rows,
    );
  }

  private async run(batch: Batch): Promise<Batch> {
    if (this.graph && batch.rows <= this.graphMaxRows) {
      for (let i = 0; i < this.inputs.length; i++) this.inputData[i] = batch.column(this.inputs[i].name).data as Float32Array;
      return Batch.from(this.graph.run(this.inputData, batch.rows), batch.rows);
    }
    return this.runSession(batch);
  }

  /** Runs `batch` through onnxruntime. */
  async runSession(batch: Batch): Promise<Batch> {
    const feeds: Record<string, OrtTypes.Tensor> = {};
    for (const p of this.inputs) {
      const col = batch.column(p.name);
      feeds[p.name] = new ort.Tensor(p.dtype as OrtTypes.Tensor.Type, col.data as OrtTypes.Tensor.DataType, [batch.rows, ...col.shape]);
    }
    let results: OrtTypes.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds);
    } catch (err) {
      // Inputs already match the declared signature, so what is left is mostly a graph that
      // wants more than it declares (e.g. a fixed dimension it left symbolic).
      throw invalidArgument(`onnxruntime rejected the input: ${(err as Error).message}`);
    }
    const columns: [string, Column][] = [];
    for (const p of this.outputs) {
      const t = results[p.name];
      if (t.dims.length === 0 || t.dims[0] !== batch.rows) {
        throw failedPrecondition(`ONNX output "${p.name}" has shape [${t.dims.join(', ')}], not one row per input row (${batch.rows})`);
      }
      columns.push([p.name, { dtype: t.type as DType, shape: t.dims.slice(1), data: t.data as ColumnData }]);
    }
    return Batch.from(columns, batch.rows);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

export async function loadOnnx(path: string, options: LoadOptions): Promise<Predictor> {
  const ort = await loadOrt();
  const bytes = await readFile(path);
  let session: OrtTypes.InferenceSession;
  let zipmaps: ZipMapInfo[];
  let model: Uint8Array;
  try {
    const stripped = stripZipMap(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    zipmaps = stripped.zipmaps;
    model = stripped.model;
    // From the path when unchanged, so that tensors stored in external data files resolve.
    session = zipmaps.length === 0
      ? await ort.InferenceSession.create(path, sessionOptions(options))
      : await ort.InferenceSession.create(stripped.model, sessionOptions(options));
  } catch (err) {
    throw invalidArgument(`ONNX model ${path} could not be loaded: ${(err as Error).message}`);
  }
  const inputs = session.inputMetadata.map((m) => toPort(m, 'input'));
  const outputs = session.outputMetadata.map((m) => toPort(m, 'output'));
  const strip = ({ name, dtype, shape }: Port): TensorSpec => ({ name, dtype, shape });
  const signature: Signature = options.signature ?? { inputs: inputs.map(strip), outputs: outputs.map(strip) };
  const metadata: Record<string, unknown> = {};
  if (zipmaps.length > 0) {
    metadata.classLabels = Object.fromEntries(zipmaps.map((z) => [z.output, z.labels.map(String)]));
  }
  const predictor = new OnnxPredictor(session, inputs, outputs, signature, metadata, options);
  // A graph with a fixed batch size is run in slices of it; only onnxruntime is worth that.
  const choice = inputs.some((p) => p.fixedBatch)
    ? { engine: 'onnxruntime' as const, reason: 'the graph has a fixed batch size' }
    : await chooseEngine(options.onnxEngine, model, inputs, outputs, (b) => predictor.runSession(b));
  metadata.engine = choice.engine;
  if (choice.engine === 'js') {
    predictor.useGraph(choice.graph, choice.maxRows);
    metadata.jsMaxRows = choice.maxRows;
  } else {
    metadata.engineReason = choice.reason;
  }
  return predictor;
}

export const onnxFlavor: Flavor = { name: 'onnx', load: loadOnnx };
