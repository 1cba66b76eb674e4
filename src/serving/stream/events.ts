/**
 * Stream events to model inputs and predictions to stream entries. An event's fields are the
 * model's inputs by name (values as strings or JSON), or one field `data` holding a JSON object
 * of inputs. An event that cannot become a row is refused with the reason, never thrown.
 */
import { Batch, cellValue, conform, type Column, type Signature } from '../../models/index.js';

export type Row = Record<string, unknown>;

/** The event's inputs, or the reason it has none. */
export function decodeEvent(fields: readonly string[], signature: Signature): { row: Row } | { reason: string } {
  const raw: Row = {};
  for (let i = 0; i + 1 < fields.length; i += 2) raw[fields[i]] = fields[i + 1];
  let values: Row = raw;
  if (fields.length === 2 && fields[0] === 'data' && !signature.inputs.some((s) => s.name === 'data')) {
    try {
      values = JSON.parse(fields[1]) as Row;
    } catch {
      return { reason: 'field "data" is not valid JSON' };
    }
    if (values === null || typeof values !== 'object' || Array.isArray(values)) return { reason: 'field "data" must hold a JSON object of inputs' };
  }
  const row: Row = {};
  const missing: string[] = [];
  for (const spec of signature.inputs) {
    const v = values[spec.name];
    if (v === undefined) {
      missing.push(spec.name);
      continue;
    }
    if (spec.dtype === 'string') {
      row[spec.name] = String(v);
      continue;
    }
    let parsed: unknown = v;
    if (typeof v === 'string') {
      try {
        parsed = v.trim() === '' ? Number.NaN : JSON.parse(v);
      } catch {
        return { reason: `field "${spec.name}": "${v.slice(0, 40)}" is not a number` };
      }
    }
    if (spec.shape.length === 0) {
      if (parsed === null) parsed = Number.NaN;
      if (typeof parsed !== 'number') return { reason: `field "${spec.name}": expected a number, got ${JSON.stringify(parsed).slice(0, 40)}` };
    } else {
      const width = spec.shape[0];
      const ok = Array.isArray(parsed) && (width < 0 || parsed.length === width) && parsed.every((x) => typeof x === 'number' || x === null);
      if (!ok || spec.shape.length !== 1) return { reason: `field "${spec.name}": expected a JSON array of ${width < 0 ? '' : `${width} `}numbers` };
    }
    row[spec.name] = parsed;
  }
  if (missing.length > 0) return { reason: `missing field${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}` };
  return { row };
}

/** Rows already decoded against `signature` as one batch. */
export function rowsToBatch(rows: readonly Row[], signature: Signature): Batch {
  const n = rows.length;
  const cols: [string, Column][] = signature.inputs.map((spec) => {
    if (spec.dtype === 'string') return [spec.name, { dtype: 'string', shape: [], data: rows.map((r) => r[spec.name] as string) }];
    if (spec.shape.length === 0) return [spec.name, { dtype: 'float64', shape: [], data: Float64Array.from(rows, (r) => r[spec.name] as number) }];
    const width = (rows[0][spec.name] as unknown[]).length;
    const data = new Float64Array(n * width);
    rows.forEach((r, i) => (r[spec.name] as (number | null)[]).forEach((x, j) => (data[i * width + j] = x ?? Number.NaN)));
    return [spec.name, { dtype: 'float64', shape: [width], data }];
  });
  return conform(Batch.from(cols, n), signature.inputs);
}

/** One prediction as entry fields: `event_id`, then each output (JSON when not a scalar). */
export function predictionFields(eventId: string, out: Batch, index: number): string[] {
  const fields = ['event_id', eventId];
  for (const [name, col] of out.columns) {
    const v = cellValue(col, index);
    fields.push(name, typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));
  }
  return fields;
}
