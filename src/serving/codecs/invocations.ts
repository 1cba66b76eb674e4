/**
 * The MLflow scoring protocol (`mlflow models serve`): a JSON body with exactly one of
 * `dataframe_split`, `dataframe_records`, `instances` or `inputs` (plus optional `params`), or
 * a CSV body; the answer is `{"predictions": ...}`. As with MLflow's pyfunc, a model with one
 * output answers one value per row; several outputs answer one record per row.
 */
import { invalidArgument } from '../../core/errors.js';
import { fromColumns, fromRecords, toBatch, type Batch, type Signature } from '../../models/index.js';
import { rowValues } from './tensors.js';

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmpty(batch: Batch, field: string): Batch {
  if (batch.rows === 0) throw invalidArgument(`${field}: no rows to score`);
  return batch;
}

/** Decodes a parsed JSON body into a Batch for `signature`. */
export function decodeInvocation(body: unknown, signature: Signature): Batch {
  if (!isObject(body)) throw invalidArgument(`body: expected a JSON object with one of ${FORMATS.join(', ')}`);
  const given = FORMATS.filter((f) => f in body);
  const unknown = Object.keys(body).filter((k) => !(FORMATS as readonly string[]).includes(k) && k !== 'params');
  if (given.length !== 1 || unknown.length > 0) {
    throw invalidArgument(
      `body: must contain exactly one of ${FORMATS.join(', ')}${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}${unknown.length > 0 ? `; unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` : ''}`,
    );
  }
  const field = given[0];
  const value = body[field];
  const prefix = (err: unknown): never => {
    if (err instanceof Error) err.message = `${field}: ${err.message}`;
    throw err;
  };
  try {
    switch (field) {
      case 'dataframe_split':
        return nonEmpty(fromSplit(value, signature), field);
      case 'dataframe_records':
        if (!Array.isArray(value)) throw invalidArgument('expected a list of records');
        return nonEmpty(fromRecords(value, signature), field);
      case 'instances':
      case 'inputs':
        if (!Array.isArray(value) && !isObject(value)) throw invalidArgument('expected a list of rows or an object of named tensors');
        if (Array.isArray(value) && value.length === 0) throw invalidArgument('no rows to score');
        return nonEmpty(isObject(value) ? fromColumns(value, signature) : toBatch(value, signature), field);
    }
  } catch (err) {
    return prefix(err);
  }
}

/** pandas' orient="split": `{columns?, data: [[...], ...], index?}`. */
function fromSplit(value: unknown, signature: Signature): Batch {
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
  const cols: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, new Array<unknown>(data.length)]));
  data.forEach((row, r) => {
    if (!Array.isArray(row)) throw invalidArgument(`data[${r}]: expected a list of ${names.length} values`);
    if (row.length !== names.length) throw invalidArgument(`data[${r}]: has ${row.length} values, expected ${names.length} (one per column)`);
    names.forEach((n, j) => (cols[n][r] = row[j]));
  });
  return fromColumns(cols, signature);
}

/** A CSV body (header row first), as MLflow reads it with pandas.read_csv. */
export function decodeCsv(text: string, signature: Signature): Batch {
  const rows = parseCsv(text);
  if (rows.length < 2) throw invalidArgument('body: CSV needs a header row and at least one data row');
  const header = rows[0];
  if (new Set(header).size !== header.length) throw invalidArgument('body: CSV header names a column twice');
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const cols: Record<string, unknown[]> = {};
  header.forEach((name, j) => {
    const textual = specs.get(name)?.dtype === 'string';
    cols[name] = rows.slice(1).map((row, r) => {
      if (row.length !== header.length) throw invalidArgument(`body: CSV line ${r + 2} has ${row.length} fields, expected ${header.length}`);
      return textual ? row[j] : csvValue(row[j]);
    });
  });
  try {
    return fromColumns(cols, signature);
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

/** `{"predictions": ...}`: one value per row for one output, else one record per row. */
export function encodePredictions(out: Batch): { predictions: unknown } {
  const cols = [...out.columns];
  if (cols.length === 1) return { predictions: rowValues(cols[0][1], out.rows) };
  const values = cols.map(([, col]) => rowValues(col, out.rows));
  const records = new Array<Record<string, unknown>>(out.rows);
  for (let r = 0; r < out.rows; r++) {
    const rec: Record<string, unknown> = {};
    cols.forEach(([name], j) => (rec[name] = values[j][r]));
    records[r] = rec;
  }
  return { predictions: records };
}
