/**
 * Data drift between a reference and a current table, column by column, with Evidently's
 * default choice of test per column and its dataset verdict (drifted share ≥ 0.5).
 * Bad input never yields NaN: whole-table problems throw InvalidArgument, column problems
 * come back as `{ computed: false, reason }`.
 */
import { systemClock, type Clock } from '../../core/clock.js';
import { invalidArgument } from '../../core/errors.js';
import type { TableColumn } from '../../data/read-table.js';
import { analyzeCategorical, analyzeNumerical, type ColumnAnalysis } from './column-stats.js';
import { METHODS, defaultMethod, isDriftMethod, DRIFT_METHODS } from './methods.js';
import { identityRole, type IdentityRole } from './column-roles.js';
import type {
  ColumnDrift,
  ColumnKind,
  ColumnRole,
  ComputedColumn,
  DriftMethod,
  DriftOptions,
  DriftReport,
  SideSummary,
} from './types.js';

export * from './types.js';
export { identityRole, type IdentityRole } from './column-roles.js';
export { METHODS, DRIFT_METHODS, defaultMethod, isDriftMethod } from './methods.js';

/** What drift needs of a table: readTable's result satisfies it. */
export interface DriftTable {
  source?: string;
  rowCount: number;
  columns: readonly TableColumn[];
}

export const DEFAULT_DRIFT_SHARE = 0.5;

/** Share of non-missing text values that must parse as numbers before a text column is suspected of being numeric. */
const NUMERIC_LOOKING_SHARE = 0.95;

type Prepared =
  | { kind: 'numerical'; ref: Float64Array; cur: Float64Array; refRows: number; curRows: number; notes: string[] }
  | { kind: 'categorical'; ref: string[]; cur: string[]; refRows: number; curRows: number; notes: string[] };

function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/** Finite values of a numeric column; NaN and ±Infinity count as missing (as Evidently drops them). */
function finiteValues(values: Float64Array): { values: Float64Array; infinite: number } {
  let k = 0;
  let infinite = 0;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) out[k++] = v;
    else if (!Number.isNaN(v)) infinite++;
  }
  return { values: out.slice(0, k), infinite };
}

/** Numbers from a text column, or the first cell that is not a number (1-based data row). */
function textToNumbers(values: readonly (string | null)[]): { values: Float64Array } | { bad: string; row: number } {
  const out = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const s = values[i];
    if (s === null || s.trim() === '') continue;
    const v = parseNumber(s);
    if (v === undefined) return { bad: s, row: i + 1 };
    out[k++] = v;
  }
  return { values: out.slice(0, k) };
}

function numbersToText(values: Float64Array): string[] {
  const out: string[] = [];
  for (const v of values) if (!Number.isNaN(v)) out.push(String(v));
  return out;
}

const nonMissingText = (values: readonly (string | null)[]) => values.filter((v): v is string => v !== null);

/** Share of non-missing cells that parse as numbers, and the first one that does not. */
function numericShare(values: readonly (string | null)[]): { share: number; firstBad?: { value: string; row: number } } {
  let n = 0;
  let numeric = 0;
  let firstBad: { value: string; row: number } | undefined;
  for (let i = 0; i < values.length; i++) {
    const s = values[i];
    if (s === null) continue;
    n++;
    if (parseNumber(s) !== undefined) numeric++;
    else firstBad ??= { value: s, row: i + 1 };
  }
  return { share: n === 0 ? 0 : numeric / n, firstBad };
}

interface Names {
  ref: string;
  cur: string;
}

/** Decides the column's kind and extracts its non-missing values, or explains why it cannot. */
function prepareColumn(name: string, ref: TableColumn, cur: TableColumn, declared: ColumnKind | undefined, names: Names): Prepared | string {
  const rows = { refRows: ref.values.length, curRows: cur.values.length };
  const notes: string[] = [];
  const numeric = (col: TableColumn, file: string): Float64Array | string => {
    if (col.type === 'number') {
      const f = finiteValues(col.values);
      if (f.infinite > 0) notes.push(`${f.infinite} infinite value(s) in ${file} treated as missing`);
      return f.values;
    }
    const parsed = textToNumbers(col.values);
    if ('bad' in parsed) {
      return `column "${name}" is numerical but ${file} has a non-numeric value ${JSON.stringify(parsed.bad)} (row ${parsed.row}); fix the data or declare the column categorical`;
    }
    return parsed.values;
  };
  const text = (col: TableColumn) => (col.type === 'number' ? numbersToText(col.values) : nonMissingText(col.values));

  let kind = declared;
  if (!kind) {
    if (ref.type === 'number' || cur.type === 'number') kind = 'numerical';
    else {
      const rs = numericShare(ref.values);
      const cs = numericShare(cur.values);
      const bad = rs.firstBad ? { ...rs.firstBad, file: names.ref } : cs.firstBad ? { ...cs.firstBad, file: names.cur } : undefined;
      if (bad && rs.share >= NUMERIC_LOOKING_SHARE && cs.share >= NUMERIC_LOOKING_SHARE) {
        return `column "${name}" looks numerical but ${bad.file} has a non-numeric value ${JSON.stringify(bad.value)} (row ${bad.row}); fix the data or declare the column categorical`;
      }
      kind = 'categorical';
    }
  }
  if (kind === 'numerical') {
    const r = numeric(ref, names.ref);
    if (typeof r === 'string') return r;
    const c = numeric(cur, names.cur);
    if (typeof c === 'string') return c;
    return { kind, ref: r, cur: c, ...rows, notes };
  }
  return { kind, ref: text(ref), cur: text(cur), ...rows, notes };
}

function sideSummary(rows: number, nonMissing: number, extra: ColumnAnalysis['reference']): SideSummary {
  const missing = rows - nonMissing;
  return { rows, missing, missingShare: rows === 0 ? 0 : missing / rows, ...extra };
}

function chooseMethod(kind: ColumnKind, name: string, options: DriftOptions, analysis: ColumnAnalysis) {
  const per = options.perColumn?.[name];
  const given = per?.method ?? options.method ?? (kind === 'numerical' ? options.numMethod : options.catMethod);
  const method: DriftMethod = given ?? defaultMethod(kind, analysis.referenceCount, analysis.distinctUnion);
  return {
    method,
    source: given ? ('override' as const) : ('default' as const),
    threshold: per?.threshold ?? options.threshold ?? METHODS[method].defaultThreshold,
  };
}

function compareColumn(name: string, role: ColumnRole, p: Prepared, options: DriftOptions, names: Names): ColumnDrift {
  const skip = (reason: string): ColumnDrift => ({ column: name, role, computed: false, reason });
  const refN = p.ref.length;
  const curN = p.cur.length;
  if (refN === 0 && curN === 0) return skip(`all values are missing in both ${names.ref} and ${names.cur}`);
  if (refN === 0) return skip(`all values are missing in ${names.ref}`);
  if (curN === 0) return skip(`all values are missing in ${names.cur}`);
  const analysis = p.kind === 'numerical' ? analyzeNumerical(p.ref, p.cur) : analyzeCategorical(p.ref, p.cur);
  const { method, source, threshold } = chooseMethod(p.kind, name, options, analysis);
  const spec = METHODS[method];
  if (!spec.kinds.includes(p.kind)) return skip(`method ${method} does not apply to ${p.kind} column "${name}"`);
  const score = spec.score(analysis.stats);
  if (score === undefined || Number.isNaN(score)) {
    return skip(`${spec.label} is undefined for column "${name}" (${analysis.distinctUnion} distinct value(s) in all)`);
  }
  const reference = sideSummary(p.refRows, refN, analysis.reference);
  const current = sideSummary(p.curRows, curN, analysis.current);
  const result: ComputedColumn = {
    column: name,
    role,
    computed: true,
    kind: p.kind,
    method,
    methodSource: source,
    threshold,
    score,
    rule: spec.rule,
    drift: spec.drifted(score, threshold),
    reference,
    current,
    missingShareChange: current.missingShare - reference.missingShare,
    stats: analysis.stats,
    distribution: analysis.distribution,
    notes: [...p.notes, ...analysis.notes],
  };
  return result;
}

function validateOptions(options: DriftOptions): void {
  const share = options.driftShare;
  if (share !== undefined && !(share > 0 && share <= 1)) throw invalidArgument(`drift share must be in (0, 1], got ${share}`);
  const checkThreshold = (t: number | undefined, where: string) => {
    if (t !== undefined && !(Number.isFinite(t) && t >= 0)) throw invalidArgument(`${where}: threshold must be a finite number >= 0, got ${t}`);
  };
  const checkMethod = (m: string | undefined, where: string) => {
    if (m !== undefined && !isDriftMethod(m)) throw invalidArgument(`${where}: unknown method "${m}"; use one of ${DRIFT_METHODS.join(', ')}`);
  };
  checkThreshold(options.threshold, 'all columns');
  checkMethod(options.method, 'all columns');
  checkMethod(options.numMethod, 'numerical columns');
  checkMethod(options.catMethod, 'categorical columns');
  for (const [col, o] of Object.entries(options.perColumn ?? {})) {
    checkThreshold(o.threshold, `column "${col}"`);
    checkMethod(o.method, `column "${col}"`);
    if (o.method && options.columnTypes?.[col] && !METHODS[o.method].kinds.includes(options.columnTypes[col])) {
      throw invalidArgument(`column "${col}": method ${o.method} does not apply to ${options.columnTypes[col]} columns`);
    }
  }
}

/** Compares every shared column of two tables and gives the dataset verdict. */
export function analyzeDrift(reference: DriftTable, current: DriftTable, options: DriftOptions = {}, clock: Clock = systemClock): DriftReport {
  const steps = driftSteps(reference, current, options, clock);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same analysis, giving the event loop a turn after each column: a server's scheduled
 * checks share their thread with serving, which then waits one column's work at most.
 */
export async function analyzeDriftYielding(reference: DriftTable, current: DriftTable, options: DriftOptions = {}, clock: Clock = systemClock): Promise<DriftReport> {
  const steps = driftSteps(reference, current, options, clock);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function identityOf(name: string, ref: TableColumn | undefined, options: DriftOptions, detect: boolean): { role: IdentityRole; why: string } | undefined {
  if (options.idColumns?.includes(name)) return { role: 'id', why: 'named as one' };
  if (options.timestampColumns?.includes(name)) return { role: 'timestamp', why: 'named as one' };
  return detect && ref ? identityRole(ref) : undefined;
}

function* driftSteps(reference: DriftTable, current: DriftTable, options: DriftOptions, clock: Clock): Generator<undefined, DriftReport, undefined> {
  validateOptions(options);
  const names: Names = {
    ref: options.referenceName ?? reference.source ?? 'reference',
    cur: options.currentName ?? current.source ?? 'current',
  };
  if (reference.rowCount === 0) throw invalidArgument(`${names.ref}: no rows to compare`);
  if (current.rowCount === 0) throw invalidArgument(`${names.cur}: no rows to compare`);
  const refCols = new Map(reference.columns.map((c) => [c.name, c]));
  const curCols = new Map(current.columns.map((c) => [c.name, c]));
  const shared = [...refCols.keys()].filter((n) => curCols.has(n));
  if (shared.length === 0) {
    throw invalidArgument(
      `${names.ref} and ${names.cur} have no column in common (${names.ref}: ${[...refCols.keys()].join(', ') || 'none'}; ${names.cur}: ${[...curCols.keys()].join(', ') || 'none'})`,
    );
  }
  const mentioned = [
    ...(options.columns ?? []),
    ...Object.keys(options.perColumn ?? {}),
    ...Object.keys(options.columnTypes ?? {}),
    ...[options.predictionColumn, options.targetColumn].filter((c): c is string => c !== undefined),
    ...(options.idColumns ?? []),
    ...(options.timestampColumns ?? []),
  ];
  const unknown = [...new Set(mentioned.filter((n) => !refCols.has(n) && !curCols.has(n)))];
  if (unknown.length > 0) {
    throw invalidArgument(`no column ${unknown.map((n) => `"${n}"`).join(', ')} in ${names.ref} or ${names.cur}`);
  }
  const wanted = options.columns ?? [...refCols.keys(), ...[...curCols.keys()].filter((n) => !refCols.has(n))];
  const roleOf = (n: string): ColumnRole => (n === options.predictionColumn ? 'prediction' : n === options.targetColumn ? 'target' : 'feature');
  const named = new Set(mentioned);
  const detect = options.detectIdentity ?? options.columns === undefined;

  const one = (name: string): ColumnDrift => {
    const identity = identityOf(name, refCols.get(name), options, detect && !named.has(name));
    if (identity) return { column: name, role: identity.role, computed: false, reason: `left out of the verdict: ${identity.role} column (${identity.why})` };
    const role = roleOf(name);
    const r = refCols.get(name);
    const c = curCols.get(name);
    if (!r) return { column: name, role, computed: false, reason: `column "${name}" is in ${names.cur} but not in ${names.ref}` };
    if (!c) return { column: name, role, computed: false, reason: `column "${name}" is in ${names.ref} but not in ${names.cur}` };
    const prepared = prepareColumn(name, r, c, options.columnTypes?.[name], names);
    if (typeof prepared === 'string') return { column: name, role, computed: false, reason: prepared };
    return compareColumn(name, role, prepared, options, names);
  };
  const columns: ColumnDrift[] = [];
  for (const name of wanted) {
    columns.push(one(name));
    yield;
  }

  const computed = columns.filter((c): c is ComputedColumn => c.computed);
  const drifted = computed.filter((c) => c.drift).length;
  const driftShare = options.driftShare ?? DEFAULT_DRIFT_SHARE;
  const share = computed.length === 0 ? 0 : drifted / computed.length;
  return {
    reference: { name: names.ref, rows: reference.rowCount },
    current: { name: names.cur, rows: current.rowCount },
    generatedAt: new Date(clock.now()).toISOString(),
    summary: {
      columns: columns.length,
      computed: computed.length,
      drifted,
      share,
      driftShare,
      datasetDrift: computed.length > 0 && share >= driftShare,
    },
    columns,
  };
}
