/**
 * A preprocessing step stored with a model version (`preprocess.json` beside the model file):
 * callers send the raw columns (numbers and category names) and the step turns them into the
 * features the model was trained on — numeric columns, optionally scaled, `column=level`
 * one-hot features and category codes — at serving, batch scoring and explanation alike. The encoding belongs to
 * the model, so no caller repeats it.
 *
 * preprocess.json:
 *   { "numeric": [{"column": "amount", "feature": "amount", "center": 0, "scale": 1}, ...],
 *     "one_hot": [{"column": "purpose", "levels": [{"level": "car", "feature": "purpose=car"}, ...]}],
 *     "categorical": [{"column": "city", "categories": ["Lyon", "Paris", ...]}] }
 * `feature` defaults to the column (numeric) and `column=level` (one-hot); `center`/`scale` give
 * (x - center) / scale. The features must be exactly the model's inputs. A missing number or
 * category is NaN in its features (XGBoost's missing value); an unknown level is 0 in all of them.
 * A categorical column is one feature (default: the column) holding the category's index in
 * `categories`, as XGBoost's categorical splits read it; an unknown or missing category is NaN.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import { Batch, type Column, type NumericArray } from './batch.js';
import type { Predictor } from './predictor.js';
import { conform, markPii, type Signature, type TensorSpec } from './signature.js';

export const PREPROCESS_FILE = 'preprocess.json';

export interface NumericStep {
  column: string;
  feature: string;
  center?: number;
  scale?: number;
}

export interface OneHotStep {
  column: string;
  levels: { level: string; feature: string }[];
}

export interface CategoricalStep {
  column: string;
  feature: string;
  categories: string[];
}

export interface PreprocessSpec {
  numeric: NumericStep[];
  one_hot: OneHotStep[];
  categorical?: CategoricalStep[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${where} must be a non-empty string`);
  return value;
}

/** Checks a parsed preprocess.json field by field; `source` names it in errors. */
export function parsePreprocess(value: unknown, source = PREPROCESS_FILE): PreprocessSpec {
  if (!isRecord(value)) throw invalidArgument(`${source}: expected a JSON object with "numeric", "one_hot" or "categorical"`);
  const unknown = Object.keys(value).filter((k) => k !== 'numeric' && k !== 'one_hot' && k !== 'categorical');
  if (unknown.length > 0) throw invalidArgument(`${source}: unknown field "${unknown[0]}" (expected "numeric", "one_hot" and "categorical")`);
  const list = (field: string) => {
    const v = value[field] ?? [];
    if (!Array.isArray(v)) throw invalidArgument(`${source}: "${field}" must be an array`);
    return v as unknown[];
  };
  const numeric = list('numeric').map((s, i): NumericStep => {
    const at = `${source}: numeric[${i}]`;
    if (!isRecord(s)) throw invalidArgument(`${at} must be an object`);
    const column = text(s.column, `${at}.column`);
    const step: NumericStep = { column, feature: s.feature === undefined ? column : text(s.feature, `${at}.feature`) };
    for (const k of ['center', 'scale'] as const) {
      if (s[k] === undefined) continue;
      if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw invalidArgument(`${at}.${k} must be a finite number`);
      step[k] = s[k] as number;
    }
    if (step.scale === 0) throw invalidArgument(`${at}.scale must not be 0`);
    return step;
  });
  const oneHot = list('one_hot').map((s, i): OneHotStep => {
    const at = `${source}: one_hot[${i}]`;
    if (!isRecord(s)) throw invalidArgument(`${at} must be an object`);
    const column = text(s.column, `${at}.column`);
    if (!Array.isArray(s.levels) || s.levels.length === 0) throw invalidArgument(`${at}.levels must be a non-empty array`);
    const levels = s.levels.map((l, j) => {
      if (typeof l === 'string') return { level: l, feature: `${column}=${l}` };
      if (!isRecord(l)) throw invalidArgument(`${at}.levels[${j}] must be a string or {"level", "feature"}`);
      const level = text(l.level, `${at}.levels[${j}].level`);
      return { level, feature: l.feature === undefined ? `${column}=${level}` : text(l.feature, `${at}.levels[${j}].feature`) };
    });
    return { column, levels };
  });
  const categorical = list('categorical').map((s, i): CategoricalStep => {
    const at = `${source}: categorical[${i}]`;
    if (!isRecord(s)) throw invalidArgument(`${at} must be an object`);
    const column = text(s.column, `${at}.column`);
    if (!Array.isArray(s.categories) || s.categories.length === 0) throw invalidArgument(`${at}.categories must be a non-empty array`);
    const categories = s.categories.map((c, j) => text(c, `${at}.categories[${j}]`));
    const twice = categories.find((c, j) => categories.indexOf(c) !== j);
    if (twice !== undefined) throw invalidArgument(`${at}.categories holds "${twice}" twice`);
    return { column, feature: s.feature === undefined ? column : text(s.feature, `${at}.feature`), categories };
  });
  const columns = [...numeric.map((s) => s.column), ...oneHot.map((s) => s.column), ...categorical.map((s) => s.column)];
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice) throw invalidArgument(`${source}: column "${twice}" has two steps`);
  if (columns.length === 0) throw invalidArgument(`${source}: no steps ("numeric", "one_hot" and "categorical" are all empty)`);
  return { numeric, one_hot: oneHot, ...(categorical.length > 0 ? { categorical } : {}) };
}

/** The columns callers send: numbers, then category names. */
export function rawInputs(spec: PreprocessSpec): TensorSpec[] {
  return [
    ...spec.numeric.map((s): TensorSpec => ({ name: s.column, dtype: 'float64', shape: [] })),
    ...spec.one_hot.map((s): TensorSpec => ({ name: s.column, dtype: 'string', shape: [] })),
    ...(spec.categorical ?? []).map((s): TensorSpec => ({ name: s.column, dtype: 'string', shape: [] })),
  ];
}

/** The features a spec produces, in the model's input order. */
function featureOrder(spec: PreprocessSpec, model: Signature, source: string): string[] {
  const produced = [...spec.numeric.map((s) => s.feature), ...spec.one_hot.flatMap((s) => s.levels.map((l) => l.feature)), ...(spec.categorical ?? []).map((s) => s.feature)];
  const scalars = model.inputs.every((s) => s.shape.length === 0);
  const names = scalars ? model.inputs.map((s) => s.name) : undefined;
  const vector = model.inputs.length === 1 && model.inputs[0].shape.length === 1 ? model.inputs[0].shape[0] : undefined;
  if (names) {
    const missing = names.filter((n) => !produced.includes(n));
    const extra = produced.filter((n) => !names.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw invalidArgument(
        `${source}: its features do not match the model's inputs (${missing.length ? `not produced: ${missing.map((n) => `"${n}"`).join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `not model inputs: ${extra.map((n) => `"${n}"`).join(', ')}` : ''})`,
      );
    }
    return names;
  }
  if (vector !== undefined && (vector < 0 || vector === produced.length)) return produced;
  throw invalidArgument(`${source}: produces ${produced.length} features, but the model takes ${model.inputs.map((s) => `"${s.name}" [${s.shape.join(', ')}]`).join(', ')}`);
}

/** A categorical column's codes: each category's index in `categories`. */
export const categoryCodes = (categories: readonly string[]): ReadonlyMap<string, number> => new Map(categories.map((c, i) => [c, i]));

/**
 * The code of one cell, the same in training and serving: a missing or empty cell, or a category
 * training never saw, is NaN (missing), which the trees send their learned default way.
 */
export const categoryCode = (codes: ReadonlyMap<string, number>, value: unknown): number =>
  value === null || value === undefined || value === '' ? NaN : codes.get(String(value)) ?? NaN;

/** A model behind its preprocessing step: the raw columns in, the model's outputs out. */
export class PreprocessedPredictor implements Predictor {
  readonly flavor: string;
  readonly signature: Signature;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The model's features in its input order, and for each the raw column it comes from. */
  readonly features: string[];
  readonly featureColumn: string[];
  /** The codes of each categorical step, built once rather than per request. */
  private readonly codes: ReadonlyMap<string, number>[];

  readonly concurrentCalls?: number;

  constructor(
    readonly inner: Predictor,
    readonly spec: PreprocessSpec,
    source = PREPROCESS_FILE,
    pii?: ReadonlyMap<string, 'hash' | 'drop'>,
  ) {
    this.flavor = inner.flavor;
    this.concurrentCalls = inner.concurrentCalls;
    this.features = featureOrder(spec, inner.signature, source);
    const columnOf = new Map<string, string>();
    for (const s of spec.numeric) columnOf.set(s.feature, s.column);
    for (const s of spec.one_hot) for (const l of s.levels) columnOf.set(l.feature, s.column);
    for (const s of spec.categorical ?? []) columnOf.set(s.feature, s.column);
    this.featureColumn = this.features.map((f) => columnOf.get(f)!);
    this.codes = (spec.categorical ?? []).map((s) => categoryCodes(s.categories));
    this.signature = { inputs: markPii(rawInputs(spec), pii), outputs: inner.signature.outputs };
    this.metadata = { ...inner.metadata, preprocess: spec, model_inputs: inner.signature.inputs.map((s) => s.name) };
  }

  /** The raw columns as the model's features: one float32 scalar column per feature, in model order. */
  encode(batch: Batch): Batch {
    const raw = conform(batch, this.signature.inputs);
    const n = raw.rows;
    const out = new Map<string, Float32Array>(this.features.map((f) => [f, new Float32Array(n)]));
    for (const s of this.spec.numeric) {
      const data = raw.column(s.column).data as NumericArray;
      const target = out.get(s.feature)!;
      const center = s.center ?? 0;
      const scale = s.scale ?? 1;
      for (let r = 0; r < n; r++) target[r] = (Number(data[r]) - center) / scale;
    }
    for (const s of this.spec.one_hot) {
      const data = raw.column(s.column).data as (string | null)[];
      const targets = s.levels.map((l) => out.get(l.feature)!);
      const at = new Map(s.levels.map((l, i) => [l.level, i]));
      for (let r = 0; r < n; r++) {
        const v = data[r];
        if (v === null || v === undefined || v === '') {
          for (const t of targets) t[r] = NaN;
          continue;
        }
        const hit = at.get(v);
        if (hit !== undefined) targets[hit][r] = 1;
      }
    }
    (this.spec.categorical ?? []).forEach((s, i) => {
      const data = raw.column(s.column).data as (string | null)[];
      const target = out.get(s.feature)!;
      const codes = this.codes[i];
      for (let r = 0; r < n; r++) target[r] = categoryCode(codes, data[r]);
    });
    return Batch.from(
      this.features.map((f): [string, Column] => [f, { dtype: 'float32', shape: [], data: out.get(f)! }]),
      n,
    );
  }

  async predict(batch: Batch): Promise<Batch> {
    return this.inner.predict(this.encode(batch));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The preprocessing step stored in a model folder, if it has one. */
export async function readPreprocess(dir: string): Promise<PreprocessSpec | undefined> {
  const file = join(dir, PREPROCESS_FILE);
  if (!existsSync(file)) return undefined;
  return parsePreprocessText(await readFile(file, 'utf8'));
}

/** A preprocessing step from its JSON text; `source` names it in errors. */
export function parsePreprocessText(text: string, source = PREPROCESS_FILE): PreprocessSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${source}: not valid JSON (${(err as Error).message})`);
  }
  return parsePreprocess(parsed, source);
}
