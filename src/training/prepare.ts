/**
 * From a table (typed columns as readTable gives them) to a training matrix: numeric columns as
 * float32 features (a missing cell is NaN, which the trees learn a direction for), text columns
 * either as category codes (one feature each, split natively by the GBDT) or one-hot encoded as
 * `column=level` features (the names the quickstart's loans encoding uses), and the target as
 * labels. Every problem is found here, before training.
 */
import { invalidArgument } from '../core/errors.js';
import { categoryCode, categoryCodes } from '../models/preprocess.js';
import type { Table, TableColumn } from '../data/read-table.js';
import type { FeatureMatrix, TrainingData } from './types.js';

export type Task = 'binary' | 'multiclass' | 'regression' | 'count';

export interface Encoding {
  target: string;
  task: Task;
  /** Feature names in the model's order. */
  featureNames: string[];
  numeric: { feature: string; column: string }[];
  oneHot: { column: string; levels: { level: string; feature: string }[] }[];
  /** Text columns as category codes: the code of a category is its index in `categories` (sorted). */
  categorical: { column: string; feature: string; categories: string[] }[];
  /** Class names by label index (classification). */
  classes?: string[];
}

export interface PrepareOptions {
  target: string;
  task: Task;
  /** Use only these columns as features (default: every column but the target and `drop`). */
  features?: string[];
  drop?: string[];
  /** Text columns as category codes (`categorical`, for GBDTs) or one-hot features (default). */
  text?: TextEncoding;
  /** Text columns with more distinct values than this are refused (default 50 one-hot, 1000 categorical). */
  maxLevels?: number;
}

export type TextEncoding = 'categorical' | 'one-hot';
export const TEXT_ENCODINGS: readonly TextEncoding[] = ['categorical', 'one-hot'];

const columnOf = (table: Table, name: string, what: string): TableColumn => {
  const c = table.columns.find((x) => x.name === name);
  if (!c) throw invalidArgument(`${what} "${name}" is not a column of ${table.source} (columns: ${table.columns.map((x) => x.name).join(', ')})`);
  return c;
};

const isNumberText = (s: string) => s.trim() !== '' && Number.isFinite(Number(s));

/** Text columns whose values are mostly numbers hold a typo, not categories: say where. */
function checkNotNumericText(table: Table, c: TableColumn & { type: 'string' }): void {
  let numbers = 0;
  let present = 0;
  let firstBad = -1;
  for (let i = 0; i < c.values.length; i++) {
    const v = c.values[i];
    if (v === null || v === '') continue;
    present++;
    if (isNumberText(v)) numbers++;
    else if (firstBad < 0) firstBad = i;
  }
  if (present > 0 && numbers / present >= 0.9) {
    throw invalidArgument(`${table.source}: column "${c.name}" is numeric but row ${firstBad + 1} holds "${c.values[firstBad]}" (a non-numeric value in a numeric feature)`);
  }
}

function labelsOf(table: Table, encoding: Pick<Encoding, 'target' | 'task' | 'classes'>, fit: boolean): { labels: Float64Array; classes?: string[] } {
  const c = columnOf(table, encoding.target, 'target');
  const n = table.rowCount;
  const labels = new Float64Array(n);
  const missing = (i: number) => invalidArgument(`${table.source}: target "${encoding.target}" is missing in row ${i + 1}`);
  if (encoding.task === 'regression' || encoding.task === 'count') {
    if (c.type !== 'number') throw invalidArgument(`${table.source}: target "${encoding.target}" must be numeric for ${encoding.task}, it holds text`);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(c.values[i])) throw missing(i);
      if (encoding.task === 'count' && c.values[i] < 0) throw invalidArgument(`${table.source}: target "${encoding.target}" is ${c.values[i]} in row ${i + 1}; counts must be ≥ 0`);
      labels[i] = c.values[i];
    }
    return { labels };
  }
  const text: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = c.values[i];
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) throw missing(i);
    text[i] = String(v);
  }
  let classes = encoding.classes;
  if (fit) {
    const distinct = [...new Set(text)];
    classes = c.type === 'number' ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
    if (classes.length < 2) throw invalidArgument(`${table.source}: target "${encoding.target}" holds one class only ("${classes[0] ?? ''}"); a classifier needs at least two`);
    if (encoding.task === 'binary' && classes.length > 2) {
      throw invalidArgument(`${table.source}: target "${encoding.target}" has ${classes.length} classes (${classes.slice(0, 5).join(', ')}${classes.length > 5 ? ', …' : ''}); binary:logistic needs two (use multi:softprob)`);
    }
  }
  const index = new Map(classes!.map((cls, i) => [cls, i]));
  for (let i = 0; i < n; i++) {
    const k = index.get(text[i]);
    if (k === undefined) throw invalidArgument(`${table.source}: target "${encoding.target}" holds "${text[i]}" in row ${i + 1}, a class the training data does not have (${classes!.join(', ')})`);
    labels[i] = k;
  }
  return { labels, classes };
}

/** Learns the encoding from the training table and applies it. */
export function prepareTraining(table: Table, options: PrepareOptions): { data: TrainingData; encoding: Encoding } {
  if (table.rowCount === 0) throw invalidArgument(`${table.source}: the table has no rows`);
  columnOf(table, options.target, 'target');
  for (const d of options.drop ?? []) columnOf(table, d, '--drop column');
  const names = options.features ?? table.columns.map((c) => c.name).filter((n) => n !== options.target && !(options.drop ?? []).includes(n));
  if (names.includes(options.target)) throw invalidArgument(`the target "${options.target}" cannot also be a feature`);
  if (names.length === 0) throw invalidArgument(`${table.source}: no feature columns left besides the target "${options.target}"`);
  const text = options.text ?? 'one-hot';
  const maxLevels = options.maxLevels ?? (text === 'categorical' ? 1000 : 50);
  const encoding: Encoding = { target: options.target, task: options.task, featureNames: [], numeric: [], oneHot: [], categorical: [] };
  for (const name of names) {
    const c = columnOf(table, name, 'feature');
    if (c.type === 'number') {
      encoding.numeric.push({ feature: name, column: name });
      encoding.featureNames.push(name);
      continue;
    }
    checkNotNumericText(table, c);
    const levels = [...new Set(c.values.filter((v): v is string => v !== null && v !== ''))].sort();
    if (levels.length > maxLevels) {
      throw invalidArgument(`${table.source}: column "${name}" is text with ${levels.length} distinct values (more than ${maxLevels} to ${text === 'categorical' ? 'use as categories' : 'one-hot encode'}); leave it out with --drop ${name}`);
    }
    if (text === 'categorical') {
      encoding.categorical.push({ column: name, feature: name, categories: levels });
      encoding.featureNames.push(name);
      continue;
    }
    const oneHot = { column: name, levels: levels.map((level) => ({ level, feature: `${name}=${level}` })) };
    encoding.oneHot.push(oneHot);
    encoding.featureNames.push(...oneHot.levels.map((l) => l.feature));
  }
  const { labels, classes } = labelsOf(table, encoding, true);
  if (classes) encoding.classes = classes;
  return { data: { ...encodeFeatures(table, encoding), labels }, encoding };
}

/** Applies a learned encoding to another table (validation or scoring data) with labels. */
export function prepareWithEncoding(table: Table, encoding: Encoding): TrainingData {
  if (table.rowCount === 0) throw invalidArgument(`${table.source}: the table has no rows`);
  const { labels } = labelsOf(table, encoding, false);
  return { ...encodeFeatures(table, encoding), labels };
}

/** The feature matrix of a table under an encoding (the target is not needed). */
export function encodeFeatures(table: Table, encoding: Encoding): FeatureMatrix & Pick<TrainingData, 'categorical'> {
  const n = table.rowCount;
  const nf = encoding.featureNames.length;
  const x = new Float32Array(n * nf);
  const position = new Map(encoding.featureNames.map((f, i) => [f, i]));
  for (const { feature, column } of encoding.numeric) {
    const c = columnOf(table, column, 'feature');
    if (c.type !== 'number') checkNotNumericText(table, c);
    const f = position.get(feature)!;
    for (let i = 0; i < n; i++) {
      const v = c.values[i];
      x[i * nf + f] = c.type === 'number' ? (v as number) : v === null || v === '' ? NaN : Number(v);
    }
  }
  for (const { column, levels } of encoding.oneHot) {
    const c = columnOf(table, column, 'feature');
    const at = new Map(levels.map((l) => [l.level, position.get(l.feature)!]));
    for (let i = 0; i < n; i++) {
      const v = c.values[i];
      if (v === null || v === '' || (typeof v === 'number' && Number.isNaN(v))) {
        for (const l of levels) x[i * nf + position.get(l.feature)!] = NaN;
        continue;
      }
      const hit = at.get(String(v));
      if (hit !== undefined) x[i * nf + hit] = 1;
    }
  }
  for (const { column, feature, categories } of encoding.categorical) {
    const c = columnOf(table, column, 'feature');
    const codes = categoryCodes(categories);
    const f = position.get(feature)!;
    for (let i = 0; i < n; i++) x[i * nf + f] = categoryCode(codes, c.values[i]);
  }
  const out: FeatureMatrix = { rows: n, numFeature: nf, featureNames: encoding.featureNames, x };
  return encoding.categorical.length > 0 ? { ...out, categorical: categoricalMask(encoding) } : out;
}

/** Which of an encoding's features are category codes. */
export function categoricalMask(encoding: Encoding): boolean[] {
  const coded = new Set(encoding.categorical.map((c) => c.feature));
  return encoding.featureNames.map((f) => coded.has(f));
}

/**
 * Rows [from, to) or the listed rows of a training matrix, in shared memory: a fit on another
 * thread (a pipeline step's, a study's parallel trials) reads them where they are instead of
 * receiving a copy of the whole matrix.
 */
export function takeRows(data: TrainingData, rows: ArrayLike<number>): TrainingData {
  const nf = data.numFeature;
  const x = new Float32Array(new SharedArrayBuffer(rows.length * nf * 4));
  const labels = new Float64Array(new SharedArrayBuffer(rows.length * 8));
  const weights = data.weights ? new Float64Array(new SharedArrayBuffer(rows.length * 8)) : undefined;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    x.set(data.x.subarray(r * nf, (r + 1) * nf), i * nf);
    labels[i] = data.labels[r];
    if (weights) weights[i] = data.weights![r];
  }
  return { rows: rows.length, numFeature: nf, featureNames: data.featureNames, x, labels, weights, ...(data.categorical ? { categorical: data.categorical } : {}) };
}
