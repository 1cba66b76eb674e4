/**
 * Online reads: one multi-get for every (view, entity) a request needs, Feast's statuses per
 * value (TTL checked at read time against the injected clock), and on-demand features computed
 * by the same transforms the training data used.
 */
import { invalidArgument } from '../core/errors.js';
import type { OnlineStore } from '../storage/online.js';
import { checkColumns, entityKey, onlineKey } from './online.js';
import { decodeRow, layoutKey, learnLayouts, PackedRow, unknownLayout, type RowLayout, type StoredRow } from './row-codec.js';
import { outputNames, type FeatureRef, type FeatureRepo } from './repo.js';
import { coerceValue, transformInputs } from './transforms.js';
import type { FeatureStatus, OnlineResponse, Value } from './types.js';

export interface OnlineRequest {
  features: FeatureRef[];
  /** Join key (and request value) columns, one value per entity row. */
  entities: Record<string, Value[]>;
  /** Request-time values for on-demand features, one per entity row. */
  requestData?: Record<string, Value[]>;
}

/** What a read of a list of refs looks up and answers, worked out once per list (resolveFeatures hands out the same list for the same names). */
interface ReadPlan {
  repo: FeatureRepo;
  /** View features read from the store: the requested ones, then those on-demand views need. */
  lookups: FeatureRef[];
  /** "VIEW:FEATURE" of each lookup. */
  lookupKeys: string[];
  viewNames: string[];
  names: string[];
  onDemand: FeatureRef[];
  /** Per requested feature: its place in `lookups`, or -1 for an on-demand one. */
  lookupAt: number[];
}

const plans = new WeakMap<FeatureRef[], ReadPlan>();
const refKey = (f: FeatureRef) => `${f.view}:${f.feature}`;

function planOf(repo: FeatureRepo, features: FeatureRef[]): ReadPlan {
  const known = plans.get(features);
  if (known?.repo === repo) return known;
  const lookups = [...features.filter((f) => f.kind === 'view'), ...repo.dependencies(features)];
  const plan: ReadPlan = {
    repo,
    lookups,
    lookupKeys: lookups.map(refKey),
    viewNames: [...new Set(lookups.map((f) => f.view))],
    names: outputNames(features),
    onDemand: features.filter((f) => f.kind === 'on_demand'),
    lookupAt: features.map((f) => (f.kind === 'view' ? lookups.indexOf(f) : -1)),
  };
  plans.set(features, plan);
  return plan;
}

export async function readOnline(store: OnlineStore, repo: FeatureRepo, req: OnlineRequest, nowMs: number): Promise<OnlineResponse> {
  const columns = Object.entries(req.entities);
  if (columns.length === 0) throw invalidArgument('entities: give at least one join key column, e.g. {"customer_id": [10022]}');
  const n = checkColumns(req.entities, 'entities');
  checkColumns(req.requestData ?? {}, 'request_data', n);
  const { lookups, lookupKeys, viewNames, names, onDemand: onDemandRefs, lookupAt } = planOf(repo, req.features);
  const keys: string[] = [];
  for (const viewName of viewNames) {
    const view = repo.views.get(viewName)!;
    const keyCols = view.joinKeys.map((k) => {
      const col = req.entities[k];
      if (!col) throw invalidArgument(`entities: missing join key "${k}" (feature view ${viewName})`);
      return col;
    });
    const prefix = onlineKey(viewName, '');
    if (keyCols.length === 1) for (const v of keyCols[0]) keys.push(prefix + entityKey([v]));
    else for (let i = 0; i < n; i++) keys.push(prefix + entityKey(keyCols.map((c) => c[i])));
  }
  const found = keys.length ? await store.mget(keys) : [];
  let unknown: Map<string, Buffer> | undefined;
  for (const buf of found) {
    const fp = unknownLayout(buf);
    if (fp) (unknown ??= new Map()).set(fp.toString('hex'), fp);
  }
  if (unknown) learnLayouts(await store.mget([...unknown.values()].map(layoutKey)));
  const rows = new Map<string, ViewRows>();
  viewNames.forEach((v, k) => rows.set(v, viewRows(found, k * n, n, repo.views.get(v)!.ttlMs, nowMs)));

  const lookup = (f: FeatureRef): Column => {
    const { rows: viewRows, statuses, times } = rows.get(f.view)!;
    const values = new Array<Value>(n);
    // The view's statuses hold for every feature until a value is null: then the feature gets its own list.
    let own: FeatureStatus[] | undefined;
    let layout: RowLayout | undefined;
    let j: number | undefined;
    for (let i = 0; i < n; i++) {
      const row = viewRows[i];
      if (statuses[i] !== 'PRESENT') {
        values[i] = null;
        continue;
      }
      let value: Value | undefined;
      if (row instanceof PackedRow) {
        if (row.layout !== layout) {
          layout = row.layout;
          j = layout.index.get(f.feature);
        }
        value = j === undefined ? null : row.at(j);
      } else value = row!.get(f.feature) ?? null;
      values[i] = value;
      if (value === null) (own ??= statuses.slice())[i] = 'NULL_VALUE';
    }
    return { values, statuses: own ?? statuses, event_timestamps: times };
  };
  const looked = lookups.map(lookup);
  const onDemand = onDemandRefs.length ? onDemandColumns(repo, onDemandRefs, new Map(lookupKeys.map((k, i) => [k, looked[i]])), req, n) : undefined;

  const keyNames = columns.map(([name]) => name).filter((name) => viewNames.some((v) => repo.views.get(v)!.joinKeys.includes(name)));
  const present = new Array<FeatureStatus>(n).fill('PRESENT');
  const noTimes = new Array<string | null>(n).fill(null);
  return {
    metadata: { feature_names: [...keyNames, ...names] },
    results: [
      ...keyNames.map((k) => ({ values: req.entities[k], statuses: present, event_timestamps: noTimes })),
      ...req.features.map((f, i) => (lookupAt[i] >= 0 ? looked[lookupAt[i]] : onDemand!.get(refKey(f))!)),
    ],
  };
}

interface ViewRows {
  rows: (StoredRow | undefined)[];
  /** A status per row, as each feature of a row with a value reads: PRESENT, NOT_FOUND or OUTSIDE_MAX_AGE. */
  statuses: FeatureStatus[];
  /** Shared by the view's features, so the response encoder writes it once. */
  times: (string | null)[];
}

function viewRows(found: (Buffer | null)[], from: number, n: number, ttlMs: number, nowMs: number): ViewRows {
  const rows = new Array<StoredRow | undefined>(n);
  const statuses = new Array<FeatureStatus>(n);
  const times = new Array<string | null>(n);
  // Rows materialized together share their event time: one ISO text for a run of them.
  let lastT = NaN;
  let lastIso = '';
  for (let i = 0; i < n; i++) {
    const row = decodeRow(found[from + i]);
    rows[i] = row;
    if (!row) {
      statuses[i] = 'NOT_FOUND';
      times[i] = null;
      continue;
    }
    statuses[i] = ttlMs > 0 && row.t < nowMs - ttlMs ? 'OUTSIDE_MAX_AGE' : 'PRESENT';
    if (row.t !== lastT) lastIso = new Date((lastT = row.t)).toISOString();
    times[i] = lastIso;
  }
  return { rows, statuses, times };
}

interface Column {
  values: Value[];
  statuses: FeatureStatus[];
  event_timestamps: (string | null)[];
}

function onDemandColumns(repo: FeatureRepo, refs: FeatureRef[], looked: Map<string, Column>, req: OnlineRequest, n: number): Map<string, Column> {
  const out = new Map<string, Column>();
  for (const name of new Set(refs.map((r) => r.view))) {
    const odfv = repo.onDemand.get(name)!;
    const wanted = refs.filter((r) => r.view === name);
    const cols = wanted.map(() => ({ values: new Array<Value>(n), statuses: new Array<FeatureStatus>(n), event_timestamps: new Array<string | null>(n).fill(null) }));
    const fields = transformInputs(repo, odfv.spec);
    for (const r of odfv.spec.request ?? []) {
      if (!(req.requestData?.[r.name] ?? req.entities[r.name])) throw invalidArgument(`request_data: missing "${r.name}", a request value on-demand view ${name} needs`);
    }
    for (let i = 0; i < n; i++) {
      const input: Record<string, Value> = {};
      for (const f of fields) {
        input[f.name] = 'request' in f ? coerceValue((req.requestData?.[f.name] ?? req.entities[f.name])[i], f.request) : looked.get(`${f.view}:${f.feature}`)!.values[i];
      }
      const result = odfv.transform(input);
      wanted.forEach((f, k) => {
        const v = coerceValue(result[f.feature], f.spec);
        cols[k].values[i] = v;
        cols[k].statuses[i] = v === null ? 'NULL_VALUE' : 'PRESENT';
      });
    }
    wanted.forEach((f, k) => out.set(refKey(f), cols[k]));
  }
  return out;
}
