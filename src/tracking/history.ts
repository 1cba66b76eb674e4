/**
 * Metric history blocks: encoding the points of one key from one request, and reading a whole
 * history back as columns in MLflow's order (step, then timestamp, then value) with identical
 * points collapsed, as MLflow's primary key collapses them.
 */

/** A history as columns; `value` keeps NaN as NaN. */
export interface History {
  length: number;
  step: Float64Array;
  timestamp: Float64Array;
  value: Float64Array;
}

function before(h: History, i: number, j: number): number {
  return h.step[i] - h.step[j] || h.timestamp[i] - h.timestamp[j] || compareValue(h.value[i], h.value[j]);
}

/** NaN sorts after every number so identical NaN points sit together. */
function compareValue(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a - b;
}

/** Sorts (when needed) and removes repeated identical points, in place where possible. */
function normalise(h: History): History {
  let sorted = true;
  for (let i = 1; i < h.length && sorted; i++) if (before(h, i - 1, i) > 0) sorted = false;
  let src = h;
  if (!sorted) {
    const order = Array.from({ length: h.length }, (_, i) => i).sort((a, b) => before(h, a, b));
    src = { length: h.length, step: new Float64Array(h.length), timestamp: new Float64Array(h.length), value: new Float64Array(h.length) };
    order.forEach((from, to) => {
      src.step[to] = h.step[from];
      src.timestamp[to] = h.timestamp[from];
      src.value[to] = h.value[from];
    });
  }
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    if (n > 0 && src.step[i] === src.step[n - 1] && src.timestamp[i] === src.timestamp[n - 1] && Object.is(src.value[i], src.value[n - 1])) continue;
    src.step[n] = src.step[i];
    src.timestamp[n] = src.timestamp[i];
    src.value[n] = src.value[i];
    n++;
  }
  return { length: n, step: src.step.subarray(0, n), timestamp: src.timestamp.subarray(0, n), value: src.value.subarray(0, n) };
}

export function emptyHistory(): History {
  return { length: 0, step: new Float64Array(0), timestamp: new Float64Array(0), value: new Float64Array(0) };
}

/** Packs points (already validated; ±Infinity already clamped) into one block. */
export function encodeBlock(step: number[], timestamp: number[], value: number[]): { count: number; minStep: number; maxStep: number; data: Buffer } {
  const h = normalise({ length: step.length, step: Float64Array.from(step), timestamp: Float64Array.from(timestamp), value: Float64Array.from(value) });
  const data = Buffer.alloc(h.length * 24);
  const out = new Float64Array(data.buffer, data.byteOffset, h.length * 3);
  out.set(h.step, 0);
  out.set(h.timestamp, h.length);
  out.set(h.value, 2 * h.length);
  return { count: h.length, minStep: h.step[0], maxStep: h.step[h.length - 1], data };
}

/** Joins blocks into one history in MLflow's order. */
export function decodeBlocks(blocks: { count: number; data: Uint8Array }[]): History {
  const total = blocks.reduce((n, b) => n + Number(b.count), 0);
  const h: History = { length: total, step: new Float64Array(total), timestamp: new Float64Array(total), value: new Float64Array(total) };
  let at = 0;
  for (const b of blocks) {
    const n = Number(b.count);
    // Drivers hand back Buffers at any byte offset; copy into an aligned array to read doubles.
    const cols = new Float64Array(n * 3);
    new Uint8Array(cols.buffer).set(b.data.subarray(0, n * 24));
    h.step.set(cols.subarray(0, n), at);
    h.timestamp.set(cols.subarray(n, 2 * n), at);
    h.value.set(cols.subarray(2 * n, 3 * n), at);
    at += n;
  }
  return normalise(h);
}
