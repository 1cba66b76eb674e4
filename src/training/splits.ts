/**
 * Row splits for validation: a held-out fraction (stratified random, or the last rows of a
 * time-ordered table), stratified k-fold and time-series split as scikit-learn defines them.
 * Too few rows for the requested split is an error before any training starts.
 */
import { invalidArgument } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';

export interface Split {
  train: Uint32Array;
  valid: Uint32Array;
}

function shuffle(a: number[], rand: () => number): number[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function byClass(labels: ArrayLike<number>): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups.get(labels[i]);
    if (g) g.push(i);
    else groups.set(labels[i], [i]);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, rows]) => rows);
}

const sorted = (rows: number[]) => Uint32Array.from(rows).sort();

/**
 * Holds out `fraction` of the rows: the last ones (`tail`, for time-ordered data), or a random
 * share of each class (`stratify`) or of all rows.
 */
export function holdOut(labels: ArrayLike<number>, fraction: number, options: { mode?: 'random' | 'tail'; stratify?: boolean; seed?: number } = {}): Split {
  const n = labels.length;
  if (!(fraction > 0 && fraction < 1)) throw invalidArgument(`validation fraction ${fraction} must be between 0 and 1`);
  const nValid = Math.round(n * fraction);
  if (nValid < 1 || n - nValid < 2) throw invalidArgument(`${n} rows are too few to hold out ${fraction} of them for validation`);
  if (options.mode === 'tail') {
    return { train: Uint32Array.from({ length: n - nValid }, (_, i) => i), valid: Uint32Array.from({ length: nValid }, (_, i) => n - nValid + i) };
  }
  const rand = mulberry32(options.seed ?? 0);
  const groups = options.stratify ? byClass(labels) : [Array.from({ length: n }, (_, i) => i)];
  const train: number[] = [];
  const valid: number[] = [];
  for (const g of groups) {
    const rows = shuffle([...g], rand);
    const take = Math.round(rows.length * fraction);
    valid.push(...rows.slice(0, take));
    train.push(...rows.slice(take));
  }
  return { train: sorted(train), valid: sorted(valid) };
}

/** Stratified k-fold: every class spread over the folds as evenly as it divides (scikit-learn's StratifiedKFold with shuffle). */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, seed = 0): Split[] {
  if (!Number.isInteger(k) || k < 2) throw invalidArgument(`folds: ${k} must be a whole number ≥ 2`);
  const groups = byClass(labels);
  const smallest = Math.min(...groups.map((g) => g.length));
  if (labels.length < k) throw invalidArgument(`${labels.length} rows are too few for ${k} folds`);
  if (smallest < k) throw invalidArgument(`the smallest class has ${smallest} rows, too few for ${k} stratified folds`);
  const rand = mulberry32(seed);
  const fold = new Int32Array(labels.length);
  let offset = 0;
  for (const g of groups) {
    shuffle([...g], rand).forEach((row, i) => (fold[row] = (i + offset) % k));
    offset += g.length;
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const valid: number[] = [];
    for (let i = 0; i < labels.length; i++) (fold[i] === f ? valid : train).push(i);
    return { train: Uint32Array.from(train), valid: Uint32Array.from(valid) };
  });
}

/**
 * Time-series split (scikit-learn's TimeSeriesSplit): k validation blocks of n / (k + 1) rows at
 * the end, each trained on every row before it.
 */
export function timeSeriesSplit(rows: number, k: number): Split[] {
  if (!Number.isInteger(k) || k < 2) throw invalidArgument(`splits: ${k} must be a whole number ≥ 2`);
  const size = Math.floor(rows / (k + 1));
  if (size < 1) throw invalidArgument(`${rows} rows are too few for ${k} time-series splits`);
  const first = rows - k * size;
  return Array.from({ length: k }, (_, i) => {
    const start = first + i * size;
    return { train: Uint32Array.from({ length: start }, (_, r) => r), valid: Uint32Array.from({ length: size }, (_, r) => start + r) };
  });
}
