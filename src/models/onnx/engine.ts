/**
 * Which engine evaluates an ONNX model's batches. onnxruntime costs a fixed amount a call
 * whatever the graph (N-API, its tensors, a promise answered through setImmediate, native
 * output buffers for the collector) and little per row; the JavaScript dense-graph evaluator
 * costs nothing per call and more per row. So a graph the evaluator handles, and that agrees
 * with onnxruntime on a probe batch, runs in JavaScript for batches up to the rows where the two
 * costs meet, and in onnxruntime above.
 */
import { Batch, isFloatDType, type Column } from '../batch.js';
import type { OnnxEngine } from '../predictor.js';
import { compileDenseGraph, type DenseGraph, type DensePort } from './dense-graph.js';
import { readGraph, Unsupported } from './graph.js';

/**
 * What a call to onnxruntime costs a serving process, in the units of DenseGraph.nanosPerRow.
 * Alone, in a loop, a one-row call of these graphs takes 11-16 µs; in a server under load it
 * costs far more. Served with default settings, the 30-64-32-2 MLP (2.9 µs a row here) answered
 * 7% more requests with two processes and 7-17% more with one (paired rounds, bench/serving's
 * load) when batches of up to 24 or 72 rows ran in JavaScript instead of up to 3, and the two
 * larger crossovers measured alike.
 */
const ORT_CALL_NANOS = 100_000;
/** Float outputs must agree within this, absolute plus relative. */
const PROBE_TOLERANCE = 1e-5;
const PROBE_ROWS = 64;
/**
 * A graph that one call of onnxruntime outweighs holds at most some 20,000 weights (80 KB);
 * larger models are not decoded here at all, so a big network costs its load nothing extra.
 */
const MAX_MODEL_BYTES = 1 << 20;

export type EngineChoice = { engine: 'js'; graph: DenseGraph; maxRows: number } | { engine: 'onnxruntime'; reason: string };

/**
 * Rows spanning what a tabular model meets: zeros, ones, values of every magnitude from 1e-3 to
 * 1e4 and both signs (features are rarely standardised before the graph's own scaler), and
 * missing values (NaN). Seeded, so every load probes alike. Not larger: onnxruntime sums in
 * float32 where this evaluator sums in float64, and sums of huge terms that cancel differ.
 */
export function probeBatch(inputs: readonly DensePort[]): Batch {
  let seed = 12345;
  const random = () => (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff;
  const columns = inputs.map((p): [string, Column] => {
    const size = p.shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(PROBE_ROWS * size);
    for (let r = 0; r < PROBE_ROWS; r++) {
      for (let i = 0; i < size; i++) {
        const at = r * size + i;
        if (r === 0) data[at] = 0;
        else if (r === 1) data[at] = 1;
        else if (r === 2) data[at] = i % 2 ? 1e4 : -1e4;
        else if (r === 3) data[at] = i % 3 === 0 ? NaN : random();
        else data[at] = (random() * 2 - 1) * 10 ** (((r + i) % 8) - 3);
      }
    }
    return [p.name, { dtype: 'float32', shape: p.shape, data }];
  });
  return Batch.from(columns, PROBE_ROWS);
}

/** Why `got` differs from onnxruntime's `want`, or undefined when every output agrees. */
export function disagreement(got: Batch, want: Batch): string | undefined {
  for (const [name, w] of want.columns) {
    const g = got.column(name);
    if (g.dtype !== w.dtype || g.shape.join() !== w.shape.join() || g.data.length !== w.data.length) {
      return `output ${name} is ${g.dtype}[${g.shape.join(', ')}] here, ${w.dtype}[${w.shape.join(', ')}] in onnxruntime`;
    }
    const float = isFloatDType(w.dtype);
    for (let i = 0; i < w.data.length; i++) {
      const a = g.data[i] as number;
      const b = w.data[i] as number;
      const same = float ? a === b || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= PROBE_TOLERANCE * (1 + Math.abs(b)) : a === b;
      if (!same) return `output ${name}[${i}] is ${a} here, ${b} in onnxruntime`;
    }
  }
  return undefined;
}

/**
 * Picks the engine for `model` (the bytes onnxruntime loaded), given the session's inputs and
 * outputs and a way to run the session.
 */
export async function chooseEngine(
  wanted: OnnxEngine | undefined,
  model: Uint8Array,
  inputs: readonly DensePort[],
  outputs: readonly DensePort[],
  runOrt: (batch: Batch) => Promise<Batch>,
): Promise<EngineChoice> {
  if (wanted === 'onnxruntime') return { engine: 'onnxruntime', reason: 'asked for' };
  if (model.byteLength > MAX_MODEL_BYTES) return { engine: 'onnxruntime', reason: `the model (${model.byteLength} bytes) is larger than graphs JavaScript evaluates faster (${MAX_MODEL_BYTES} bytes)` };
  let graph: DenseGraph;
  try {
    graph = compileDenseGraph(readGraph(model), inputs, outputs);
  } catch (err) {
    // Whatever this reader cannot follow, onnxruntime (which loaded the model) still can.
    const why = err instanceof Unsupported ? err.message : `unreadable graph (${(err as Error).message})`;
    return { engine: 'onnxruntime', reason: `not evaluated in JavaScript: ${why}` };
  }
  const maxRows = Math.floor(ORT_CALL_NANOS / graph.nanosPerRow);
  if (maxRows < 1) return { engine: 'onnxruntime', reason: `one row costs more in JavaScript than a call to onnxruntime (about ${Math.round(graph.nanosPerRow / 1000)} µs)` };
  const probe = probeBatch(inputs);
  let want: Batch;
  try {
    want = await runOrt(probe);
  } catch (err) {
    return { engine: 'onnxruntime', reason: `onnxruntime refused the probe batch: ${(err as Error).message}` };
  }
  let got: Batch;
  try {
    got = Batch.from(graph.run(inputs.map((p) => probe.column(p.name).data as Float32Array), probe.rows), probe.rows);
  } catch (err) {
    return { engine: 'onnxruntime', reason: `JavaScript failed on the probe batch: ${(err as Error).message}` };
  }
  const differs = disagreement(got, want);
  return differs ? { engine: 'onnxruntime', reason: `JavaScript disagrees with onnxruntime: ${differs}` } : { engine: 'js', graph, maxRows };
}
