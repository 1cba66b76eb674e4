/**
 * The MLflow scoring protocol (`mlflow models serve`): a JSON body with exactly one of
 * `dataframe_split`, `dataframe_records`, `instances` or `inputs` (plus optional `params`), or
 * a CSV body; the answer is `{"predictions": ...}` shaped as MLflow's pyfunc flavors shape it.
 * Unknown body fields and columns the model does not take are dropped, as MLflow drops them,
 * and named in `warnings` so the route can say so.
 */
import { invalidArgument } from '../../core/errors.js';
import { Batch, conform, fromColumns, fromRecords, toBatch, type Signature } from '../../models/index.js';
import { rowValues } from './tensors.js';

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmpty(batch: Batch, field: string): Batch {
  if (batch.rows === 0) throw invalidArgument(`${field}: no rows to score`);
  return batch;
}

/**
 * The columns a request may carry that the model does not take: pandas' index column (`""` or
 * `Unnamed: 0`, which `DataFrame.to_csv()` writes) always, and any other column once every input
 * the signature names is present. A single tensor input fed by many scalar columns keeps them all.
 */
function extraColumns(names: readonly string[], signature: Signature): Set<string> {
  const inputs = new Set(signature.inputs.map((s) => s.name));
  const allNamed = inputs.size > 0 && [...inputs].every((n) => names.includes(n));
  return new Set(names.filter((n) => !inputs.has(n) && (allNamed || n === '' || /^Unnamed: \d+$/.test(n))));
}

function warnIgnored(extra: ReadonlySet<string>, warnings: string[]): void {
  if (extra.size > 0) warnings.push(`ignored column${extra.size > 1 ? 's' : ''} the model does not take: ${[...extra].map((n) => `'${n}'`).join(', ')}`);
}

/**
 * Columns in a Map, in the order given, as pandas keeps them: an object would put integer-like
 * names ("0", "2") first, and a vector input stacks its columns in that order.
 */
function dropColumns<T>(columns: Map<string, T>, signature: Signature, warnings: string[]): Map<string, T> {
  const extra = extraColumns([...columns.keys()], signature);
  warnIgnored(extra, warnings);
  for (const n of extra) columns.delete(n);
  return columns;
}

/** Decodes a parsed JSON body into a Batch for `signature`; what was ignored goes to `warnings`. */
export function decodeInvocation(body: unknown, signature: Signature, warnings: string[] = []): Batch {
  if (!isObject(body)) throw invalidArgument(`body: expected a JSON object with one of ${FORMATS.join(', ')}`);
  const given = FORMATS.filter((f) => f in body);
  if (given.length !== 1) {
    throw invalidArgument(`body: must contain exactly one of ${FORMATS.join(', ')}${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`);
  }
  const unknown = Object.keys(body).filter((k) => !(FORMATS as readonly string[]).includes(k) && k !== 'params');
  if (unknown.length > 0) warnings.push(`ignored unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  const field = given[0];
  const value = body[field];
  const prefix = (err: unknown): never => {
    if (err instanceof Error) err.message = `${field}: ${err.message}`;
    throw err;
  };
  try {
    switch (field) {
      case 'dataframe_split':
        return nonEmpty(fromSplit(value, signature, warnings), field);
      case 'dataframe_records': {
        if (!Array.isArray(value)) throw invalidArgument('expected a list of records');
        const keys = [...new Set(value.flatMap((r) => (isObject(r) ? Object.keys(r) : [])))];
        const extra = extraColumns(keys, signature);
        const records = extra.size === 0 ? value : value.map((r) => (isObject(r) ? Object.fromEntries(Object.entries(r).filter(([n]) => !extra.has(n))) : r));
        warnIgnored(extra, warnings);
        return nonEmpty(fromRecords(records, signature), field);
      }
      case 'instances':
      case 'inputs':
        if (!Array.isArray(value) && !isObject(value)) throw invalidArgument('expected a list of rows or an object of named tensors');
        if (Array.isArray(value) && value.length === 0) throw invalidArgument('no rows to score');
        return nonEmpty(isObject(value) ? fromColumns(value, signature) : fromRows(value, signature), field);
    }
  } catch (err) {
    return prefix(err);
  }
}

/** pandas' orient="split": `{columns?, data: [[...], ...], index?}`. */
function fromSplit(value: unknown, signature: Signature, warnings: string[]): Batch {
  if (!isObject(value)) throw invalidArgument('expected {"columns": [...], "data": [[...], ...]}');
  const data = value.data;
  if (!Array.isArray(data)) throw invalidArgument('data: expected a list of rows');
  const width = data.length > 0 && Array.isArray(data[0]) ? (data[0] as unknown[]).length : 0;
  let columns = value.columns;
  if (columns === undefined) {
    const names = signature.inputs.map((s) => s.name);
    columns = names.length === width ? names : Array.from({ length: width }, (_, i) => String(i));
  }
  if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string' && typeof c !== 'number')) {
    throw invalidArgument('columns: expected a list of column names');
  }
  const names = (columns as (string | number)[]).map(String);
  if (new Set(names).size !== names.length) throw invalidArgument('columns: a column name appears twice');
  const stacked = splitAsVector(names, data, signature);
  if (stacked) return stacked;
  const cols = names.map(() => new Array<unknown>(data.length));
  data.forEach((row, r) => {
    if (!Array.isArray(row)) throw invalidArgument(`data[${r}]: expected a list of ${names.length} values`);
    if (row.length !== names.length) throw invalidArgument(`data[${r}]: has ${row.length} values, expected ${names.length} (one per column)`);
    for (let j = 0; j < cols.length; j++) cols[j][r] = row[j];
  });
  return fromColumns(dropColumns(new Map(names.map((n, j) => [n, cols[j]])), signature, warnings), signature);
}

/**
 * The common request to a model with one float vector input (ONNX `input: float32[N, 30]`): k
 * numeric columns, none of them the input's name or pandas' index, read straight into the
 * vector's typed array row by row, as conform() would stack them, instead of k column arrays
 * first. Anything else (a null, a short row, an index column) is undefined: the general path
 * reads it and words its errors.
 */
function splitAsVector(names: readonly string[], data: readonly unknown[], signature: Signature): Batch | undefined {
  if (signature.inputs.length !== 1 || extraColumns(names, signature).size > 0 || names.includes(signature.inputs[0].name)) return undefined;
  return rowsAsVector(data, names.length, signature);
}

const isFloat = (dtype: string): dtype is 'float32' | 'float64' => dtype === 'float32' || dtype === 'float64';

/**
 * Rows of k numbers read straight into one typed array: the vector of a model with one float
 * vector input of width k, or, for a model of k float scalar inputs of one dtype (XGBoost
 * features), a vector that conform() gives those inputs in signature order, as the general path
 * reads a row's values, without an object per row and an array per column. Anything else (a
 * null, a short row, a string) is undefined: the general path reads it and words its errors.
 */
function rowsAsVector(data: readonly unknown[], k: number, signature: Signature): Batch | undefined {
  const inputs = signature.inputs;
  if (data.length === 0 || k < 2) return undefined;
  const spec = inputs[0];
  const vector = inputs.length === 1 && spec.shape.length === 1 && (spec.shape[0] < 0 || spec.shape[0] === k);
  const scalars = inputs.length === k && inputs.every((s) => s.shape.length === 0 && s.dtype === spec.dtype && s.name !== '');
  if ((!vector && !scalars) || !isFloat(spec.dtype)) return undefined;
  const out = spec.dtype === 'float32' ? new Float32Array(data.length * k) : new Float64Array(data.length * k);
  for (let r = 0; r < data.length; r++) {
    const row = data[r];
    if (!Array.isArray(row) || row.length !== k) return undefined;
    for (let j = 0; j < k; j++) {
      const v: unknown = row[j];
      if (typeof v !== 'number') return undefined;
      out[r * k + j] = v;
    }
  }
  // The scalars' vector takes a name none of them has, which conform() reads as "unstack me".
  const batch = Batch.from([[vector ? spec.name : '', { dtype: spec.dtype, shape: [k], data: out }]], data.length);
  return vector ? batch : conform(batch, inputs);
}

/** `inputs` or `instances` as a list of rows: the direct read when it takes them, else the general path. */
function fromRows(rows: unknown[], signature: Signature): Batch {
  const first = rows[0];
  return (Array.isArray(first) ? rowsAsVector(rows, first.length, signature) : undefined) ?? toBatch(rows, signature);
}

/** A CSV body (header row first), as MLflow reads it with pandas.read_csv. */
export function decodeCsv(text: string, signature: Signature, warnings: string[] = []): Batch {
  const rows = parseCsv(text);
  if (rows.length < 2) throw invalidArgument('body: CSV needs a header row and at least one data row');
  const header = rows[0];
  if (new Set(header).size !== header.length) throw invalidArgument('body: CSV header names a column twice');
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const cols = new Map<string, unknown[]>();
  header.forEach((name, j) => {
    const textual = specs.get(name)?.dtype === 'string';
    cols.set(name, rows.slice(1).map((row, r) => {
      if (row.length !== header.length) throw invalidArgument(`body: CSV line ${r + 2} has ${row.length} fields, expected ${header.length}`);
      return textual ? row[j] : csvValue(row[j]);
    }));
  });
  try {
    return fromColumns(dropColumns(cols, signature, warnings), signature);
  } catch (err) {
    if (err instanceof Error) err.message = `body (CSV): ${err.message}`;
    throw err;
  }
}

function csvValue(cell: string): unknown {
  const t = cell.trim();
  if (t === '' || t === 'NaN' || t === 'nan' || t === 'NA') return null;
  if (t === 'True' || t === 'true') return true;
  if (t === 'False' || t === 'false') return false;
  const n = Number(t);
  return Number.isNaN(n) ? cell : n;
}

/** RFC 4180 fields: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const body = text.replace(/^\uFEFF/, '');
  while (i < body.length) {
    const c = body[i];
    if (quoted) {
      if (c === '"') {
        if (body[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (quoted) throw invalidArgument('body: CSV ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** How `{"predictions": ...}` is shaped: as the model's MLflow flavor answers, or one record per row. */
export type PredictionsShape = 'flavor' | 'records';

/**
 * `{"predictions": ...}` as MLflow's pyfunc answers: one output is a plain list; XGBoost answers
 * its predictions (probabilities, or classes for softmax objectives) as a plain list, as MLflow's
 * xgboost pyfunc does; ONNX and other multi-output models a dict of output columns. `records`
 * answers one `{output: value}` object per row instead.
 */
export function encodePredictions(out: Batch, flavor: string, shape: PredictionsShape = 'flavor'): { predictions: unknown } {
  const cols = [...out.columns];
  if (cols.length === 1) return { predictions: rowValues(cols[0][1], out.rows) };
  const prediction = out.columns.get('prediction');
  if (shape === 'flavor' && flavor === 'xgboost' && prediction) return { predictions: rowValues(prediction, out.rows) };
  const values = cols.map(([, col]) => rowValues(col, out.rows));
  if (shape === 'flavor') return { predictions: Object.fromEntries(cols.map(([name], j) => [name, values[j]])) };
  const records = new Array<Record<string, unknown>>(out.rows);
  for (let r = 0; r < out.rows; r++) {
    const rec: Record<string, unknown> = {};
    cols.forEach(([name], j) => (rec[name] = values[j][r]));
    records[r] = rec;
  }
  return { predictions: records };
}
