/**
 * Online reads: one multi-get for every (view, entity) a request needs, Feast's statuses per
 * value (TTL checked at read time against the injected clock), and on-demand features computed
 * by the same transforms the training data used.
 */
import { invalidArgument } from '../core/errors.js';
import type { OnlineStore } from '../storage/online.js';
import { checkColumns, entityKey, onlineKey } from './online.js';
import { decodeRow, layoutKey, learnLayouts, unknownLayout, type StoredRow } from './row-codec.js';
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

export async function readOnline(store: OnlineStore, repo: FeatureRepo, req: OnlineRequest, nowMs: number): Promise<OnlineResponse> {
  const columns = Object.entries(req.entities);
  if (columns.length === 0) throw invalidArgument('entities: give at least one join key column, e.g. {"customer_id": [10022]}');
  const n = checkColumns(req.entities, 'entities');
  checkColumns(req.requestData ?? {}, 'request_data', n);
  const lookups = [...req.features.filter((f) => f.kind === 'view'), ...repo.dependencies(req.features)];
  const viewNames = [...new Set(lookups.map((f) => f.view))];
  const keys: string[] = [];
  for (const viewName of viewNames) {
    const view = repo.views.get(viewName)!;
    const keyCols = view.joinKeys.map((k) => {
      const col = req.entities[k];
      if (!col) throw invalidArgument(`entities: missing join key "${k}" (feature view ${viewName})`);
      return col;
    });
    for (let i = 0; i < n; i++) keys.push(onlineKey(viewName, entityKey(keyCols.map((c) => c[i]))));
  }
  const found = keys.length ? await store.mget(keys) : [];
  const unknown = new Map<string, Buffer>();
  for (const buf of found) {
    const fp = unknownLayout(buf);
    if (fp) unknown.set(fp.toString('hex'), fp);
  }
  if (unknown.size) learnLayouts(await store.mget([...unknown.values()].map(layoutKey)));
  // A view's features share one list of event times, so the response encoder writes it once.
  const rows = new Map<string, { rows: (StoredRow | undefined)[]; times: (string | null)[] }>();
  viewNames.forEach((v, k) => {
    const decoded = found.slice(k * n, (k + 1) * n).map(decodeRow);
    rows.set(v, { rows: decoded, times: decoded.map((row) => (row ? new Date(row.t).toISOString() : null)) });
  });

  const lookup = (f: FeatureRef): Column => {
    const view = repo.views.get(f.view)!;
    const viewRows = rows.get(f.view)!;
    const col: Column = { values: new Array(n), statuses: new Array(n), event_timestamps: viewRows.times };
    for (let i = 0; i < n; i++) {
      const row = viewRows.rows[i];
      if (!row) {
        col.values[i] = null;
        col.statuses[i] = 'NOT_FOUND';
      } else if (view.ttlMs > 0 && row.t < nowMs - view.ttlMs) {
        col.values[i] = null;
        col.statuses[i] = 'OUTSIDE_MAX_AGE';
      } else {
        const value = row.get(f.feature) ?? null;
        col.values[i] = value;
        col.statuses[i] = value === null ? 'NULL_VALUE' : 'PRESENT';
      }
    }
    return col;
  };
  const looked = new Map(lookups.map((f) => [`${f.view}:${f.feature}`, lookup(f)]));
  const onDemand = onDemandColumns(repo, req.features.filter((f) => f.kind === 'on_demand'), looked, req, n);

  const keyNames = columns.map(([name]) => name).filter((name) => viewNames.some((v) => repo.views.get(v)!.joinKeys.includes(name)));
  const names = outputNames(req.features);
  const present = new Array<FeatureStatus>(n).fill('PRESENT');
  const noTimes = new Array<string | null>(n).fill(null);
  return {
    metadata: { feature_names: [...keyNames, ...names] },
    results: [
      ...keyNames.map((k) => ({ values: req.entities[k], statuses: present, event_timestamps: noTimes })),
      ...req.features.map((f) => (f.kind === 'view' ? looked : onDemand).get(`${f.view}:${f.feature}`)!),
    ],
  };
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
    wanted.forEach((f, k) => out.set(`${f.view}:${f.feature}`, cols[k]));
  }
  return out;
}
