/**
 * Columns that identify rows or stamp them in time are not features: an id is new in every
 * batch and a timestamp moves forward by definition, so both would always "drift". Evidently
 * asks for them in its column mapping; here they are also recognised, so the verdict does not
 * count them when nobody said.
 */
import type { TableColumn } from '../../data/read-table.js';

export type IdentityRole = 'id' | 'timestamp';

/** Fewer rows than this say too little about uniqueness to call a column an id. */
const MIN_ROWS_FOR_ID = 20;
/** Share of non-missing text values that must read as dates for a timestamp column. */
const DATE_SHARE = 0.95;

const ID_NAME = /(^|[_\-\s.])(id|uuid|guid|key)$|^id[_\-\s]/i;
const CAMEL_ID = /[a-z](Id|ID|Uuid|Key)$/;
const TIME_NAME = /(^|[_\-\s.])(timestamp|time|date|datetime|ts)$|_at$|^(timestamp|date|time)([_\-\s]|$)/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

function textValues(col: TableColumn): string[] {
  return col.type === 'string' ? col.values.filter((v): v is string => v !== null && v !== '') : [];
}

function allDistinct(values: string[]): boolean {
  return new Set(values).size === values.length;
}

function isIntegral(values: Float64Array): boolean {
  for (const v of values) if (!Number.isNaN(v) && !Number.isInteger(v)) return false;
  return true;
}

/** Why a column is an id or a timestamp, or undefined for a feature. */
export function identityRole(col: TableColumn): { role: IdentityRole; why: string } | undefined {
  const text = textValues(col);
  if (text.length > 0 && text.filter((v) => ISO_DATE.test(v.trim())).length >= DATE_SHARE * text.length) {
    return { role: 'timestamp', why: 'its values are dates' };
  }
  if (col.type === 'number' && TIME_NAME.test(col.name) && isIntegral(col.values)) {
    return { role: 'timestamp', why: 'its name says time and its values are whole numbers' };
  }
  // An entity key (customer_id) repeats across rows and is still no feature.
  if ((ID_NAME.test(col.name) || CAMEL_ID.test(col.name)) && (col.type === 'string' || isIntegral(col.values))) return { role: 'id', why: 'its name says id' };
  // Numbers written as text are a numeric column with a typo, not an id.
  const numeric = text.filter((v) => Number.isFinite(Number(v))).length;
  if (col.type === 'number' || text.length < MIN_ROWS_FOR_ID || numeric * 2 >= text.length || !allDistinct(text)) return undefined;
  return { role: 'id', why: 'every row holds a different text value' };
}
