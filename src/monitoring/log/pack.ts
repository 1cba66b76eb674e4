/**
 * Logged requests in a compact, transferable form: numbers of every column of every request in
 * one Float64Array (moved to the writer thread without copying), text in one array, and the
 * column layouts once per distinct layout. Packing is the only per-request work the flusher does
 * on the serving thread; rows and their JSON are built from the packed form by the writer.
 */
import { fromFloat16Bits, nest, rowSize, type Batch } from '../../models/batch.js';
import type { MonPredictionTable } from './tables.js';
import type { PredictionRecord } from './types.js';

/** 'num': finite or NaN numbers; 'str': text; 'big': 64-bit integers as exact decimal text. */
type Kind = 'num' | 'str' | 'big';

interface ColumnLayout {
  name: string;
  kind: Kind;
  shape: readonly number[];
}

export interface PackedEntries {
  requestIds: string[];
  deployments: string[];
  models: string[];
  versions: number[];
  variants: string[];
  times: number[];
  latencies: number[];
  rows: number[];
  outputRows: number[];
  /** Per entry: index into `layouts` of its inputs and of its outputs. */
  inputLayout: number[];
  outputLayout: number[];
  layouts: ColumnLayout[][];
  nums: Float64Array;
  strs: string[];
}

const kindOf = (dtype: string): Kind => (dtype === 'string' ? 'str' : dtype === 'int64' || dtype === 'uint64' ? 'big' : 'num');

/** True when the batch's columns have exactly this layout (names, kinds and shapes, in order). */
function sameLayout(layout: ColumnLayout[], batch: Batch): boolean {
  if (layout.length !== batch.columns.size) return false;
  let i = 0;
  for (const [name, col] of batch.columns) {
    const l = layout[i++];
    if (l.name !== name || l.kind !== kindOf(col.dtype) || l.shape.length !== col.shape.length) return false;
    for (let d = 0; d < l.shape.length; d++) if (l.shape[d] !== col.shape[d]) return false;
  }
  return true;
}

function packBatch(batch: Batch, nums: Float64Array, k: number, strs: string[]): number {
  for (const col of batch.columns.values()) {
    const data = col.data as ArrayLike<number | bigint | string>;
    const kind = kindOf(col.dtype);
    if (kind === 'str') for (let i = 0; i < data.length; i++) strs.push(data[i] as string);
    else if (kind === 'big') for (let i = 0; i < data.length; i++) strs.push(String(data[i]));
    else if (col.dtype === 'float16') for (let i = 0; i < data.length; i++) nums[k++] = fromFloat16Bits(data[i] as number);
    else {
      nums.set(data as ArrayLike<number>, k);
      k += data.length;
    }
  }
  return k;
}

export function packEntries(entries: readonly PredictionRecord[]): PackedEntries {
  const layouts: ColumnLayout[][] = [];
  // Requests of one deployment nearly always share a layout: the last match is tried first.
  let last = -1;
  const layoutOf = (batch: Batch): number => {
    if (last >= 0 && sameLayout(layouts[last], batch)) return last;
    const found = layouts.findIndex((l) => sameLayout(l, batch));
    if (found >= 0) return (last = found);
    layouts.push([...batch.columns].map(([name, col]) => ({ name, kind: kindOf(col.dtype), shape: col.shape })));
    return (last = layouts.length - 1);
  };
  let numCount = 0;
  for (const e of entries) {
    for (const col of e.inputs.columns.values()) if (kindOf(col.dtype) === 'num') numCount += col.data.length;
    for (const col of e.outputs.columns.values()) if (kindOf(col.dtype) === 'num') numCount += col.data.length;
  }
  const nums = new Float64Array(numCount);
  const strs: string[] = [];
  let k = 0;
  const packed: PackedEntries = {
    requestIds: [], deployments: [], models: [], versions: [], variants: [], times: [], latencies: [], rows: [], outputRows: [],
    inputLayout: [], outputLayout: [], layouts, nums, strs,
  };
  for (const e of entries) {
    packed.requestIds.push(e.requestId);
    packed.deployments.push(e.deployment);
    packed.models.push(e.model);
    packed.versions.push(e.version);
    packed.variants.push(e.variant);
    packed.times.push(e.timeMs);
    packed.latencies.push(e.latencyMs);
    packed.rows.push(e.inputs.rows);
    packed.outputRows.push(e.outputs.rows);
    packed.inputLayout.push(layoutOf(e.inputs));
    packed.outputLayout.push(layoutOf(e.outputs));
    k = packBatch(e.inputs, nums, k, strs);
    k = packBatch(e.outputs, nums, k, strs);
  }
  return packed;
}

const jsonNumber = (v: number) => (Number.isFinite(v) ? String(v) : 'null');
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** 64-bit integers are numbers while exact, decimal text beyond 2^53. */
const jsonBig = (s: string) => {
  const b = BigInt(s);
  return b <= SAFE && b >= -SAFE ? s : JSON.stringify(s);
};

/** `"name":` of each column, once per layout. */
const keysOf = (layout: ColumnLayout[]) => layout.map((c) => `${JSON.stringify(c.name)}:`);

function cellJson(col: ColumnLayout, packed: PackedEntries, cursor: { num: number; str: number }): string {
  if (col.shape.length === 0) {
    if (col.kind === 'num') return jsonNumber(packed.nums[cursor.num++]);
    const s = packed.strs[cursor.str++];
    return col.kind === 'big' ? jsonBig(s) : JSON.stringify(s);
  }
  const flat: unknown[] = [];
  for (let i = rowSize(col.shape); i > 0; i--) {
    if (col.kind === 'num') {
      const v = packed.nums[cursor.num++];
      flat.push(Number.isFinite(v) ? v : null);
    } else {
      const s = packed.strs[cursor.str++];
      flat.push(col.kind === 'big' ? JSON.parse(jsonBig(s)) : s);
    }
  }
  return JSON.stringify(nest(flat, col.shape));
}

/** Reads one batch's columns from the packed arrays (column after column); returns each row's JSON object text. */
function batchJson(layout: ColumnLayout[], keys: string[], rows: number, packed: PackedEntries, cursor: { num: number; str: number }): string[] {
  if (rows === 1) {
    // The common single-row request: one string built in place, no per-row arrays.
    let text = '{';
    for (let c = 0; c < layout.length; c++) text += (c === 0 ? '' : ',') + keys[c] + cellJson(layout[c], packed, cursor);
    return [`${text}}`];
  }
  const texts = Array.from({ length: rows }, () => '');
  for (let c = 0; c < layout.length; c++) {
    for (let r = 0; r < rows; r++) texts[r] += (c === 0 ? '' : ',') + keys[c] + cellJson(layout[c], packed, cursor);
  }
  return texts.map((t) => `{${t}}`);
}

/** One table row per row of every packed request. */
export function unpackRows(packed: PackedEntries): MonPredictionTable[] {
  const out: MonPredictionTable[] = [];
  const cursor = { num: 0, str: 0 };
  const keys = packed.layouts.map(keysOf);
  for (let e = 0; e < packed.requestIds.length; e++) {
    const rows = packed.rows[e];
    const li = packed.inputLayout[e];
    const lo = packed.outputLayout[e];
    const inputs = batchJson(packed.layouts[li], keys[li], rows, packed, cursor);
    const outputs = batchJson(packed.layouts[lo], keys[lo], packed.outputRows[e], packed, cursor);
    for (let r = 0; r < rows; r++) {
      out.push({
        request_id: packed.requestIds[e],
        row_index: r,
        deployment: packed.deployments[e],
        model: packed.models[e],
        version: packed.versions[e],
        variant: packed.variants[e],
        time_ms: packed.times[e],
        latency_ms: packed.latencies[e],
        inputs: inputs[r],
        outputs: outputs[r] ?? '{}',
      });
    }
  }
  return out;
}
