/**
 * A pure-JavaScript evaluator for the small dense graphs tabular models export to (a scaler,
 * Gemm/MatMul layers, activations, softmax, argmax). For such a graph onnxruntime's fixed cost
 * per call (N-API, its thread pool, a promise) dwarfs the arithmetic; here a call is a few
 * loops over preallocated Float32Arrays. Every value is either a constant (an initializer or a
 * Constant node) or a batched tensor of one row per input row: [N] or [N, width]. Operators,
 * attributes, dtypes or shapes outside what is handled below make the graph Unsupported rather
 * than evaluated by a guess, and the flavor keeps onnxruntime for it.
 */
import { allocate, allocatePooled, type Column } from '../batch.js';
import { Unsupported, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor } from './graph.js';

type Dtype = 'float32' | 'int64';
type Data = Float32Array | BigInt64Array;

/** A batched value: per-row shape [] (the tensor is [N]) or [width]. */
interface Rows {
  kind: 'rows';
  slot: number;
  dtype: Dtype;
  shape: [] | [number];
}
interface Const {
  kind: 'const';
  dtype: Dtype;
  dims: number[];
  data: Data;
}
type Value = Rows | Const;

type Buffers = Data[];
type Step = (rows: number, buf: Buffers) => void;

/** A graph input or output as the flavor sees it: per-row shape, as in the signature. */
export interface DensePort {
  name: string;
  dtype: string;
  shape: readonly number[];
}

/**
 * What a row costs here, measured with the breast-cancer logistic regression and the 30-64-32-2
 * MLP in batches of several rows: about 0.4 µs a row for the first (some 70 element-wise
 * operations and a 30-term dot product), 2.9 µs for the second (4,000 multiply-adds).
 * Estimates, not timings: they only place the batch size above which onnxruntime's faster
 * arithmetic repays its call.
 */
const NANOS_PER_ELEMENT = 5;
const NANOS_PER_MULTIPLY_ADD = 0.6;

const width = (v: Rows): number => (v.shape.length === 0 ? 1 : v.shape[0]);
const EMPTY = new Float32Array(0);

/** The ai.onnx operator-set versions whose semantics the operators below follow. */
const MIN_OPSET = 7;
const MAX_OPSET = 22;

/**
 * Element-wise operators by code. Each kernel switches on its code per element: a call through
 * a per-operator function there is not inlined and cost five times the arithmetic.
 */
const UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg'] as const;
const BINARY = ['Add', 'Sub', 'Mul', 'Div'] as const;

function unaryOf(op: number, x: number): number {
  switch (op) {
    case 0:
      // NaN stays NaN, as in onnxruntime.
      return x < 0 ? 0 : x;
    case 1:
      return 1 / (1 + Math.exp(-x));
    case 2:
      return Math.tanh(x);
    case 3:
      return Math.exp(x);
    case 4:
      return Math.log(x);
    case 5:
      return Math.sqrt(x);
    case 6:
      return Math.abs(x);
    default:
      return -x;
  }
}

/** How a binary operand is read for output element (r, c): data[r * rowStride + c * colStride]. */
interface Operand {
  slot: number;
  data: Float32Array;
  rowStride: number;
  colStride: number;
}

class Compiler {
  readonly values = new Map<string, Value>();
  readonly slots: { dtype: Dtype; width: number }[] = [];
  readonly steps: Step[] = [];
  /** Estimated nanoseconds one row of the steps so far costs. */
  nanosPerRow = 0;

  /** Counts `n` element-wise operations per row. */
  elements(n: number): void {
    this.nanosPerRow += NANOS_PER_ELEMENT * n;
  }

  rows(dtype: Dtype, shape: [] | [number]): Rows {
    this.slots.push({ dtype, width: shape.length === 0 ? 1 : shape[0] });
    return { kind: 'rows', slot: this.slots.length - 1, dtype, shape };
  }

  value(name: string): Value {
    const v = this.values.get(name);
    if (!v) throw new Unsupported(`value "${name}" is not a float32 or int64 tensor computed before its use`);
    return v;
  }

  node(node: OnnxNode): void {
    if (node.domain !== '' && node.domain !== 'ai.onnx') throw new Unsupported(`operator ${node.domain}.${node.op}`);
    const op = OPS[node.op];
    if (!op) throw new Unsupported(`operator ${node.op}`);
    for (const name of node.attributes.keys()) {
      if (!op.attributes.includes(name)) throw new Unsupported(`${node.op} attribute ${name}`);
    }
    const inputs = node.inputs.map((name) => (name === '' ? undefined : this.value(name)));
    const outputs = op.compile(this, inputs, new Attributes(node));
    if (node.outputs.length !== outputs.length) throw new Unsupported(`${node.op} with ${node.outputs.length} outputs`);
    node.outputs.forEach((name, i) => {
      if (this.values.has(name)) throw new Unsupported(`value "${name}" is assigned twice`);
      this.values.set(name, outputs[i]);
    });
  }
}

class Attributes {
  constructor(private readonly node: OnnxNode) {}

  private get(name: string, kind: OnnxAttribute['kind']): OnnxAttribute | undefined {
    const a = this.node.attributes.get(name);
    if (a && a.kind !== kind) throw new Unsupported(`${this.node.op} attribute ${name} of type ${a.kind}`);
    return a;
  }

  int(name: string, fallback: number): number {
    const a = this.get(name, 'int');
    return a ? Number(a.value) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.get(name, 'float');
    return a ? (a.value as number) : fallback;
  }

  tensor(name: string): OnnxTensor | undefined {
    return this.get(name, 'tensor')?.value as OnnxTensor | undefined;
  }
}

interface Op {
  attributes: readonly string[];
  compile(c: Compiler, inputs: (Value | undefined)[], attrs: Attributes): Value[];
}

function arity(inputs: (Value | undefined)[], min: number, max = min): void {
  if (inputs.length < min || inputs.length > max || inputs.slice(0, min).some((v) => !v)) {
    throw new Unsupported(`${inputs.length} inputs where ${min === max ? min : `${min} to ${max}`} are expected`);
  }
}

function floatRows(v: Value | undefined): Rows {
  if (!v || v.kind !== 'rows' || v.dtype !== 'float32') throw new Unsupported('an operand is not a batched float32 tensor');
  return v;
}

function floatConst(v: Value | undefined): Const & { data: Float32Array } {
  if (!v || v.kind !== 'const' || v.dtype !== 'float32') throw new Unsupported('an operand is not a float32 constant');
  return v as Const & { data: Float32Array };
}

/** Resolves an axis of a rank-`rank` tensor (counting the batch), failing unless it is `want`. */
function axisIs(axis: number, rank: number, want: number): boolean {
  return (axis < 0 ? axis + rank : axis) === want;
}

function binaryOperand(v: Value, rank: number, outWidth: number): Operand {
  if (v.kind === 'rows') {
    const w = width(v);
    return { slot: v.slot, data: EMPTY, rowStride: w, colStride: w === outWidth ? 1 : 0 };
  }
  const c = floatConst(v);
  // A constant broadcasts along the batch only when it has no batch extent of its own.
  if (c.dims.length > rank || (c.dims.length === 2 && c.dims[0] !== 1)) throw new Unsupported(`a constant of dims [${c.dims.join(', ')}] against a batch`);
  return { slot: -1, data: c.data, rowStride: 0, colStride: c.data.length === 1 ? 0 : 1 };
}

function binary(name: string): Op {
  const op = BINARY.indexOf(name as (typeof BINARY)[number]);
  return {
    attributes: [],
    compile(c, inputs) {
      arity(inputs, 2);
      const [a, b] = inputs as Value[];
      const batched = [a, b].filter((v): v is Rows => v.kind === 'rows');
      if (batched.length === 0) throw new Unsupported(`${name} of two constants`);
      for (const v of [a, b]) if (v.dtype !== 'float32') throw new Unsupported(`${name} of ${v.dtype}`);
      const rank = batched[0].shape.length + 1;
      if (batched.some((v) => v.shape.length + 1 !== rank)) throw new Unsupported(`${name} of [N] and [N, k]`);
      const widths = [a, b].map((v) => (v.kind === 'rows' ? width(v) : v.data.length));
      const outWidth = Math.max(...widths);
      if (widths.some((w) => w !== 1 && w !== outWidth) || (rank === 1 && outWidth !== 1)) throw new Unsupported(`${name} of incompatible shapes`);
      const x = binaryOperand(a, rank, outWidth);
      const y = binaryOperand(b, rank, outWidth);
      const out = c.rows('float32', rank === 1 ? [] : [outWidth]);
      c.elements(outWidth);
      c.steps.push(binaryStep(op, x, y, out.slot, outWidth));
      return [out];
    },
  };
}

function binaryStep(op: number, x: Operand, y: Operand, out: number, w: number): Step {
  const { slot: xSlot, data: xData, rowStride: xRow, colStride: xCol } = x;
  const { slot: ySlot, data: yData, rowStride: yRow, colStride: yCol } = y;
  return (rows, buf) => {
    const xs = xSlot < 0 ? xData : (buf[xSlot] as Float32Array);
    const ys = ySlot < 0 ? yData : (buf[ySlot] as Float32Array);
    const o = buf[out] as Float32Array;
    for (let r = 0; r < rows; r++) {
      const i = r * xRow;
      const j = r * yRow;
      const k = r * w;
      for (let col = 0; col < w; col++) {
        const a = xs[i + col * xCol];
        const b = ys[j + col * yCol];
        o[k + col] = op === 0 ? a + b : op === 1 ? a - b : op === 2 ? a * b : a / b;
      }
    }
  };
}

function unary(name: string): Op {
  const op = UNARY.indexOf(name as (typeof UNARY)[number]);
  return {
    attributes: [],
    compile(c, inputs) {
      arity(inputs, 1);
      const x = floatRows(inputs[0]);
      const out = c.rows('float32', x.shape);
      const w = width(x);
      c.elements(w);
      c.steps.push((rows, buf) => {
        const xs = buf[x.slot] as Float32Array;
        const o = buf[out.slot] as Float32Array;
        for (let i = 0, n = rows * w; i < n; i++) o[i] = unaryOf(op, xs[i]);
      });
      return [out];
    },
  };
}

/**
 * out[r, m] = alpha * sum_k a[r, k] * wT[m, k] + bias[m]. Two rows by four output columns at a
 * time: each load of a weight serves two rows and each load of an input four columns, with eight
 * independent sums in flight (0.43 against 0.66 ns a multiply-add for one row by four, measured
 * on the 30-64-32-2 MLP's first layer). Every sum still runs over k in order from 0, so the
 * answers are the same bits whatever the batch size.
 */
function denseStep(a: number, out: number, k: number, m: number, wT: Float64Array, bias: Float64Array, alpha: number): Step {
  return (rows, buf) => {
    const x = buf[a] as Float32Array;
    const o = buf[out] as Float32Array;
    let r = 0;
    for (; r + 2 <= rows; r += 2) {
      const b0 = r * k;
      const b1 = b0 + k;
      const o0 = r * m;
      const o1 = o0 + m;
      let j = 0;
      for (; j + 4 <= m; j += 4) {
        const w0 = j * k;
        const w1 = w0 + k;
        const w2 = w1 + k;
        const w3 = w2 + k;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let t0 = 0;
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        for (let i = 0; i < k; i++) {
          const u = x[b0 + i];
          const v = x[b1 + i];
          const c0 = wT[w0 + i];
          const c1 = wT[w1 + i];
          const c2 = wT[w2 + i];
          const c3 = wT[w3 + i];
          s0 += u * c0;
          s1 += u * c1;
          s2 += u * c2;
          s3 += u * c3;
          t0 += v * c0;
          t1 += v * c1;
          t2 += v * c2;
          t3 += v * c3;
        }
        o[o0 + j] = alpha * s0 + bias[j];
        o[o0 + j + 1] = alpha * s1 + bias[j + 1];
        o[o0 + j + 2] = alpha * s2 + bias[j + 2];
        o[o0 + j + 3] = alpha * s3 + bias[j + 3];
        o[o1 + j] = alpha * t0 + bias[j];
        o[o1 + j + 1] = alpha * t1 + bias[j + 1];
        o[o1 + j + 2] = alpha * t2 + bias[j + 2];
        o[o1 + j + 3] = alpha * t3 + bias[j + 3];
      }
      for (; j < m; j++) {
        const w0 = j * k;
        let s = 0;
        let t = 0;
        for (let i = 0; i < k; i++) {
          s += x[b0 + i] * wT[w0 + i];
          t += x[b1 + i] * wT[w0 + i];
        }
        o[o0 + j] = alpha * s + bias[j];
        o[o1 + j] = alpha * t + bias[j];
      }
    }
    if (r < rows) denseRow(x, o, r, k, m, wT, bias, alpha);
  };
}

/** One row of denseStep's product: four output columns at a time. */
function denseRow(x: Float32Array, o: Float32Array, r: number, k: number, m: number, wT: Float64Array, bias: Float64Array, alpha: number): void {
  const base = r * k;
  const ob = r * m;
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const w0 = j * k;
    const w1 = w0 + k;
    const w2 = w1 + k;
    const w3 = w2 + k;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < k; i++) {
      const v = x[base + i];
      s0 += v * wT[w0 + i];
      s1 += v * wT[w1 + i];
      s2 += v * wT[w2 + i];
      s3 += v * wT[w3 + i];
    }
    o[ob + j] = alpha * s0 + bias[j];
    o[ob + j + 1] = alpha * s1 + bias[j + 1];
    o[ob + j + 2] = alpha * s2 + bias[j + 2];
    o[ob + j + 3] = alpha * s3 + bias[j + 3];
  }
  for (; j < m; j++) {
    const w0 = j * k;
    let s = 0;
    for (let i = 0; i < k; i++) s += x[base + i] * wT[w0 + i];
    o[ob + j] = alpha * s + bias[j];
  }
}

/** A batched [N, k] times a constant weight matrix, with an optional constant bias. */
function dense(c: Compiler, a: Rows, weights: Const & { data: Float32Array }, transB: boolean, alpha: number, bias: Float64Array | undefined, vectorOut: boolean): Rows {
  const k = width(a);
  const [rowsB, colsB] = weights.dims.length === 1 ? [weights.dims[0], 1] : weights.dims;
  const [kB, m] = transB ? [colsB, rowsB] : [rowsB, colsB];
  if (a.shape.length !== 1 || kB !== k) throw new Unsupported(`a product of a batch of shape [${a.shape.join(', ')}] and [${weights.dims.join(', ')}]`);
  const wT = new Float64Array(m * k);
  for (let j = 0; j < m; j++) for (let i = 0; i < k; i++) wT[j * k + i] = transB ? weights.data[j * k + i] : weights.data[i * m + j];
  const out = c.rows('float32', vectorOut ? [] : [m]);
  c.nanosPerRow += NANOS_PER_MULTIPLY_ADD * k * m;
  c.steps.push(denseStep(a.slot, out.slot, k, m, wT, bias ?? new Float64Array(m), alpha));
  return out;
}

const OPS: Record<string, Op> = {
  ...Object.fromEntries(BINARY.map((name) => [name, binary(name)])),
  ...Object.fromEntries(UNARY.map((name) => [name, unary(name)])),
  Gemm: {
    attributes: ['alpha', 'beta', 'transA', 'transB'],
    compile(c, inputs, attrs) {
      arity(inputs, 2, 3);
      if (attrs.int('transA', 0) !== 0) throw new Unsupported('Gemm with transA');
      const transB = attrs.int('transB', 0);
      if (transB !== 0 && transB !== 1) throw new Unsupported(`Gemm transB ${transB}`);
      const weights = floatConst(inputs[1]);
      if (weights.dims.length !== 2) throw new Unsupported('Gemm of a B that is not 2-D');
      const m = transB ? weights.dims[0] : weights.dims[1];
      let bias: Float64Array | undefined;
      if (inputs[2]) {
        const cc = floatConst(inputs[2]);
        const fits = cc.dims.length <= 2 && (cc.dims.length < 2 || cc.dims[0] === 1) && (cc.data.length === 1 || cc.data.length === m);
        if (!fits) throw new Unsupported(`Gemm bias of dims [${cc.dims.join(', ')}]`);
        const beta = attrs.float('beta', 1);
        bias = Float64Array.from({ length: m }, (_, j) => beta * cc.data[cc.data.length === 1 ? 0 : j]);
      }
      return [dense(c, floatRows(inputs[0]), weights, transB === 1, attrs.float('alpha', 1), bias, false)];
    },
  },
  MatMul: {
    attributes: [],
    compile(c, inputs) {
      arity(inputs, 2);
      const weights = floatConst(inputs[1]);
      if (weights.dims.length !== 1 && weights.dims.length !== 2) throw new Unsupported('MatMul of a B that is not 1-D or 2-D');
      return [dense(c, floatRows(inputs[0]), weights, false, 1, undefined, weights.dims.length === 1)];
    },
  },
  Softmax: {
    attributes: ['axis'],
    compile(c, inputs, attrs) {
      arity(inputs, 1);
      const x = floatRows(inputs[0]);
      // Opsets before 13 flatten from `axis` (default 1); later ones take one axis (default -1): on [N, k] both mean k.
      if (x.shape.length !== 1 || !axisIs(attrs.int('axis', -1), 2, 1)) throw new Unsupported('Softmax over other than the last axis of [N, k]');
      const w = width(x);
      const out = c.rows('float32', x.shape);
      c.elements(3 * w);
      c.steps.push((rows, buf) => {
        const xs = buf[x.slot] as Float32Array;
        const o = buf[out.slot] as Float32Array;
        for (let r = 0; r < rows; r++) {
          const base = r * w;
          let max = -Infinity;
          for (let i = 0; i < w; i++) if (xs[base + i] > max) max = xs[base + i];
          let sum = 0;
          for (let i = 0; i < w; i++) sum += o[base + i] = Math.exp(xs[base + i] - max);
          for (let i = 0; i < w; i++) o[base + i] /= sum;
        }
      });
      return [out];
    },
  },
  Concat: {
    attributes: ['axis'],
    compile(c, inputs, attrs) {
      arity(inputs, 1, Infinity);
      const parts = inputs.map(floatRows);
      if (parts.some((p) => p.shape.length !== 1) || !axisIs(attrs.int('axis', 0), 2, 1)) throw new Unsupported('Concat other than of [N, k] tensors along k');
      const widths = parts.map(width);
      const total = widths.reduce((s, w) => s + w, 0);
      const out = c.rows('float32', [total]);
      c.elements(total);
      c.steps.push((rows, buf) => {
        const o = buf[out.slot] as Float32Array;
        let offset = 0;
        for (let p = 0; p < parts.length; p++) {
          const xs = buf[parts[p].slot] as Float32Array;
          const w = widths[p];
          for (let r = 0; r < rows; r++) for (let i = 0; i < w; i++) o[r * total + offset + i] = xs[r * w + i];
          offset += w;
        }
      });
      return [out];
    },
  },
  ArgMax: {
    attributes: ['axis', 'keepdims', 'select_last_index'],
    compile(c, inputs, attrs) {
      arity(inputs, 1);
      const x = floatRows(inputs[0]);
      if (x.shape.length !== 1 || !axisIs(attrs.int('axis', 0), 2, 1)) throw new Unsupported('ArgMax other than along k of [N, k]');
      const last = attrs.int('select_last_index', 0) === 1;
      const w = width(x);
      const out = c.rows('int64', attrs.int('keepdims', 1) === 0 ? [] : [1]);
      c.elements(w);
      c.steps.push((rows, buf) => {
        const xs = buf[x.slot] as Float32Array;
        const o = buf[out.slot] as BigInt64Array;
        for (let r = 0; r < rows; r++) {
          const base = r * w;
          let best = 0;
          for (let i = 1; i < w; i++) {
            const v = xs[base + i];
            const b = xs[base + best];
            if (v > b || (last && v === b)) best = i;
          }
          o[r] = BigInt(best);
        }
      });
      return [out];
    },
  },
  Identity: {
    attributes: [],
    compile(c, inputs) {
      arity(inputs, 1);
      return [copy(c, inputs[0]!, undefined)];
    },
  },
  Flatten: {
    attributes: ['axis'],
    compile(c, inputs, attrs) {
      arity(inputs, 1);
      const x = inputs[0]!;
      if (x.kind !== 'rows' || attrs.int('axis', 1) !== 1) throw new Unsupported('Flatten other than of a batch at axis 1');
      return [copy(c, x, [width(x)])];
    },
  },
  Cast: {
    attributes: ['to', 'saturate'],
    compile(c, inputs, attrs) {
      arity(inputs, 1);
      const x = inputs[0]!;
      const to = attrs.int('to', 0);
      if (x.kind === 'rows' && ((to === 1 && x.dtype === 'float32') || (to === 7 && x.dtype === 'int64'))) return [copy(c, x, undefined)];
      if (x.kind !== 'rows' || to !== 1 || x.dtype !== 'int64') throw new Unsupported(`Cast to type ${to}`);
      const out = c.rows('float32', x.shape);
      const n = width(x);
      c.elements(n);
      c.steps.push((rows, buf) => {
        const xs = buf[x.slot] as BigInt64Array;
        const o = buf[out.slot] as Float32Array;
        for (let i = 0; i < rows * n; i++) o[i] = Number(xs[i]);
      });
      return [out];
    },
  },
  Constant: {
    attributes: ['value'],
    compile(_c, inputs, attrs) {
      arity(inputs, 0);
      const t = attrs.tensor('value');
      if (!t?.data) throw new Unsupported('a Constant that is not a float32 or int64 tensor');
      return [constant(t)];
    },
  },
};

function constant(t: OnnxTensor): Const {
  return { kind: 'const', dtype: t.data instanceof Float32Array ? 'float32' : 'int64', dims: t.dims, data: t.data! };
}

/** A copy of a batched value, optionally with another per-row shape of the same size. */
function copy(c: Compiler, x: Value, shape: [] | [number] | undefined): Rows {
  if (x.kind !== 'rows') throw new Unsupported('a constant where a batch is expected');
  const out = c.rows(x.dtype, shape ?? x.shape);
  const n = width(x);
  c.elements(n);
  c.steps.push((rows, buf) => {
    const xs = buf[x.slot];
    const o = buf[out.slot];
    if (xs instanceof Float32Array) (o as Float32Array).set(xs.subarray(0, rows * n));
    else (o as BigInt64Array).set((xs as BigInt64Array).subarray(0, rows * n));
  });
  return out;
}

/**
 * A compiled graph. `run` reuses its intermediate buffers from call to call (growing them to
 * the largest batch seen) and returns freshly allocated outputs, which callers keep.
 */
export class DenseGraph {
  private capacity = 0;
  private readonly buf: Buffers;
  /** Slots neither an input nor an output: the buffers reused from call to call. */
  private readonly scratch: number[];

  constructor(
    private readonly inputs: readonly { name: string; slot: number }[],
    private readonly outputs: readonly { name: string; value: Rows }[],
    private readonly slots: readonly { dtype: Dtype; width: number }[],
    private readonly steps: readonly Step[],
    /** Estimated nanoseconds of one row (see NANOS_PER_ELEMENT). */
    readonly nanosPerRow: number,
  ) {
    this.buf = slots.map(() => EMPTY);
    const external = new Set([...inputs.map((i) => i.slot), ...outputs.map((o) => o.value.slot)]);
    this.scratch = slots.map((_, s) => s).filter((s) => !external.has(s));
  }

  /** Evaluates `rows` rows; `columns` holds each input's data, in the order of the inputs given at compile. */
  run(columns: readonly Data[], rows: number): [string, Column][] {
    const buf = this.buf;
    if (rows > this.capacity) {
      this.capacity = rows;
      for (const s of this.scratch) buf[s] = allocate(this.slots[s].dtype, rows * this.slots[s].width);
    }
    for (let i = 0; i < this.inputs.length; i++) buf[this.inputs[i].slot] = columns[i];
    const result: [string, Column][] = [];
    for (const { name, value } of this.outputs) {
      const data = allocatePooled(value.dtype, rows * width(value));
      buf[value.slot] = data;
      result.push([name, { dtype: value.dtype, shape: value.shape, data }]);
    }
    for (let s = 0; s < this.steps.length; s++) this.steps[s](rows, buf);
    // Neither the caller's inputs nor the returned outputs stay referenced (or written) after the call.
    for (const { slot } of this.inputs) buf[slot] = EMPTY;
    for (const { value } of this.outputs) buf[value.slot] = EMPTY;
    return result;
  }
}

/**
 * Compiles `graph` for inputs and outputs shaped like `inputs` and `outputs` (the signature
 * onnxruntime reported); throws Unsupported for anything outside the handled subset.
 */
export function compileDenseGraph(graph: OnnxGraph, inputs: readonly DensePort[], outputs: readonly DensePort[]): DenseGraph {
  const opset = graph.opsets.get('') ?? graph.opsets.get('ai.onnx');
  if (opset === undefined || opset < MIN_OPSET || opset > MAX_OPSET) throw new Unsupported(`ai.onnx opset ${opset}`);
  const c = new Compiler();
  for (const [name, t] of graph.initializers) if (t.data) c.values.set(name, constant(t));
  const declared = graph.inputs.filter((name) => !graph.initializers.has(name));
  if (declared.length !== graph.inputs.length) throw new Unsupported('an initializer that is also a graph input');
  if (declared.length !== inputs.length || inputs.some((p, i) => p.name !== declared[i])) throw new Unsupported('graph inputs differ from the session inputs');
  const inputSlots = inputs.map((p) => {
    if (p.dtype !== 'float32' || p.shape.length > 1 || p.shape.some((d) => d < 0)) throw new Unsupported(`input ${p.name} of ${p.dtype}[${p.shape.join(', ')}]`);
    const v = c.rows('float32', p.shape.length === 0 ? [] : [p.shape[0]]);
    c.values.set(p.name, v);
    return { name: p.name, slot: v.slot };
  });
  for (const node of graph.nodes) c.node(node);
  const used = new Set<number>(inputSlots.map((i) => i.slot));
  const outs = outputs.map((p) => {
    const v = c.value(p.name);
    if (v.kind !== 'rows' || used.has(v.slot)) throw new Unsupported(`output ${p.name} is not computed from the batch`);
    used.add(v.slot);
    const fits = v.dtype === p.dtype && v.shape.length === p.shape.length && p.shape.every((d, i) => d < 0 || d === v.shape[i]);
    if (!fits) throw new Unsupported(`output ${p.name} is ${v.dtype}[${v.shape.join(', ')}], declared ${p.dtype}[${p.shape.join(', ')}]`);
    return { name: p.name, value: v };
  });
  return new DenseGraph(inputSlots, outs, c.slots, c.steps, c.nanosPerRow);
}
