/**
 * A definition checked and resolved: every reference points at a real object, TTLs are
 * milliseconds, transforms are compiled. Errors name the field (`feature_views[0].ttl`) and
 * the problem. Source columns are checked separately (sources.ts), because that reads files.
 */
import { Value as TypeValue } from '@sinclair/typebox/value';
import { invalidArgument, notFound } from '../core/errors.js';
import { parseDuration } from './duration.js';
import { compileTransform, type Transform } from './transforms.js';
import {
  DTYPES,
  FeatureRepoSchema,
  type EntitySpec,
  type FeatureRepoSpec,
  type FeatureServiceSpec,
  type FeatureSpec,
  type FeatureViewSpec,
  type OnDemandViewSpec,
  type SourceSpec,
} from './types.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Feature lists whose resolution a definition remembers. */
const RESOLVED_MEMO = 256;

export interface ResolvedView {
  spec: FeatureViewSpec;
  /** 0: no limit. */
  ttlMs: number;
  entities: EntitySpec[];
  /** Join keys of all its entities, in order. */
  joinKeys: string[];
  source: SourceSpec;
}

export interface ResolvedOnDemand {
  spec: OnDemandViewSpec;
  transform: Transform;
}

/** One requested feature. */
export interface FeatureRef {
  view: string;
  feature: string;
  kind: 'view' | 'on_demand';
  spec: FeatureSpec;
}

export class FeatureRepo {
  readonly entities = new Map<string, EntitySpec>();
  readonly sources = new Map<string, SourceSpec>();
  readonly views = new Map<string, ResolvedView>();
  readonly onDemand = new Map<string, ResolvedOnDemand>();
  readonly services = new Map<string, FeatureServiceSpec>();
  private readonly resolved = new Map<string, FeatureRef[]>();

  constructor(readonly spec: FeatureRepoSpec) {
    checkShape(spec);
    const names = new Map<string, string>();
    const claim = (kind: string, name: string, field: string) => {
      if (!NAME.test(name)) throw invalidArgument(`${field}.name: "${name}" must be a letter or _ followed by letters, digits or _ (at most 128)`);
      const key = `${kind}:${name}`;
      if (names.has(key)) throw invalidArgument(`${field}.name: "${name}" is defined twice (also at ${names.get(key)})`);
      names.set(key, field);
    };
    spec.entities.forEach((e, i) => {
      const field = `entities[${i}]`;
      claim('entity', e.name, field);
      if (e.join_keys.length === 0) throw invalidArgument(`${field}.join_keys: needs at least one column`);
      this.entities.set(e.name, e);
    });
    spec.sources.forEach((s, i) => {
      const field = `sources[${i}]`;
      claim('source', s.name, field);
      const given = [s.path, s.dataset, s.table, s.query].filter((x) => x !== undefined).length;
      if (given !== 1) throw invalidArgument(`${field}: give exactly one of path (a CSV or Parquet file), dataset (NAME or NAME@VERSION), table or query (PostgreSQL, with url)`);
      if ((s.table !== undefined || s.query !== undefined) !== (s.url !== undefined)) {
        throw invalidArgument(s.url === undefined ? `${field}.url: a table or query source needs the PostgreSQL url (postgres://USER@HOST:PORT/DB)` : `${field}.url: only a table or query source has a url`);
      }
      if (s.url !== undefined && !/^postgres(ql)?:\/\//.test(s.url)) throw invalidArgument(`${field}.url: "${s.url}" is not a postgres:// URL`);
      if (s.path !== undefined && !/\.(csv|parquet|pq)$/i.test(s.path)) throw invalidArgument(`${field}.path: "${s.path}" must be a .csv or .parquet file`);
      this.sources.set(s.name, s);
    });
    // Views and on-demand views share one namespace: "VIEW:FEATURE" must name one thing.
    spec.feature_views.forEach((v, i) => {
      const field = `feature_views[${i}]`;
      claim('view', v.name, field);
      const entities = v.entities.map((name, j) => {
        const e = this.entities.get(name);
        if (!e) throw notFound(`${field}.entities[${j}]: unknown entity "${name}"${known(this.entities)}`);
        return e;
      });
      if (entities.length === 0) throw invalidArgument(`${field}.entities: needs at least one entity`);
      const source = this.sources.get(v.source);
      if (!source) throw notFound(`${field}.source: unknown source "${v.source}"${known(this.sources)}`);
      checkFeatures(v.features, field);
      const joinKeys = entities.flatMap((e) => e.join_keys);
      for (const f of v.features) {
        if (joinKeys.includes(f.name) || f.name === source.timestamp_field || f.name === source.created_timestamp_field) {
          throw invalidArgument(`${field}.features: "${f.name}" is a join key or timestamp column, not a feature`);
        }
      }
      this.views.set(v.name, { spec: v, ttlMs: parseDuration(v.ttl, `${field}.ttl`), entities, joinKeys, source });
    });
    (spec.on_demand_feature_views ?? []).forEach((v, i) => {
      const field = `on_demand_feature_views[${i}]`;
      claim('view', v.name, field);
      v.sources.forEach((name, j) => {
        if (!this.views.has(name)) throw notFound(`${field}.sources[${j}]: unknown feature view "${name}"${known(this.views)}`);
      });
      checkFeatures(v.features, field);
      if (v.request) checkFeatures(v.request, `${field}.request`, true);
      this.onDemand.set(v.name, { spec: v, transform: compileTransform(v, field) });
    });
    (spec.feature_services ?? []).forEach((s, i) => {
      const field = `feature_services[${i}]`;
      claim('service', s.name, field);
      if (s.features.length === 0) throw invalidArgument(`${field}.features: names no features`);
      s.features.forEach((ref, j) => this.parseRef(ref, `${field}.features[${j}]`));
      this.services.set(s.name, s);
    });
  }

  /** A feature view by name; `field` names the request field in the error. */
  view(name: string, field: string): ResolvedView {
    const view = this.views.get(name);
    if (!view) throw notFound(`${field}: unknown feature view "${name}"${known(this.views)}`);
    return view;
  }

  /** "VIEW:FEATURE" or "VIEW" (all its features). */
  parseRef(ref: string, field: string): FeatureRef[] {
    const [viewName, featureName, extra] = ref.split(':');
    if (extra !== undefined || !viewName) throw invalidArgument(`${field}: "${ref}" must be VIEW:FEATURE or VIEW`);
    const view = this.views.get(viewName);
    const odfv = this.onDemand.get(viewName);
    if (!view && !odfv) throw notFound(`${field}: unknown feature view "${viewName}"${known(new Map<string, unknown>([...this.views, ...this.onDemand]))}`);
    const kind = view ? 'view' : 'on_demand';
    const features = view ? view.spec.features : odfv!.spec.features;
    const picked = featureName === undefined ? features : features.filter((f) => f.name === featureName);
    if (picked.length === 0) {
      throw notFound(`${field}: feature view "${viewName}" has no feature "${featureName}"; it has ${features.map((f) => f.name).join(', ')}`);
    }
    return picked.map((f) => ({ view: viewName, feature: f.name, kind, spec: f }));
  }

  /** The features a request names, from a list of refs or a feature service (not both). */
  resolveFeatures(refs: string[] | undefined, serviceName: string | undefined): FeatureRef[] {
    // Online reads name the same lists over and over; the answer depends on this definition only.
    const memoKey = JSON.stringify([serviceName ?? null, refs ?? null]);
    const known = this.resolved.get(memoKey);
    if (known) return known;
    const out = this.resolve(refs, serviceName);
    if (this.resolved.size >= RESOLVED_MEMO) this.resolved.clear();
    this.resolved.set(memoKey, out);
    return out;
  }

  private resolve(refs: string[] | undefined, serviceName: string | undefined): FeatureRef[] {
    if (serviceName !== undefined && refs?.length) throw invalidArgument('features: give either features or a feature service, not both');
    let list: string[];
    let field: string;
    if (serviceName !== undefined) {
      const service = this.services.get(serviceName);
      if (!service) throw notFound(`feature_service: unknown feature service "${serviceName}"${known(this.services)}`);
      list = service.features;
      field = `feature service ${serviceName}`;
    } else {
      if (!refs?.length) throw invalidArgument('features: name at least one VIEW:FEATURE (or a feature service)');
      list = refs;
      field = 'features';
    }
    const out: FeatureRef[] = [];
    const seen = new Set<string>();
    list.forEach((ref, i) => {
      for (const f of this.parseRef(ref, `${field}[${i}]`)) {
        const key = `${f.view}:${f.feature}`;
        if (!seen.has(key)) out.push(f);
        seen.add(key);
      }
    });
    return out;
  }

  /**
   * The feature-view features an on-demand view reads, added to `refs` where missing (they are
   * looked up but not returned unless asked for).
   */
  dependencies(refs: FeatureRef[]): FeatureRef[] {
    const have = new Set(refs.map((r) => `${r.view}:${r.feature}`));
    const extra: FeatureRef[] = [];
    for (const name of new Set(refs.filter((r) => r.kind === 'on_demand').map((r) => r.view))) {
      for (const src of this.onDemand.get(name)!.spec.sources) {
        for (const f of this.views.get(src)!.spec.features) {
          const key = `${src}:${f.name}`;
          if (!have.has(key)) extra.push({ view: src, feature: f.name, kind: 'view', spec: f });
          have.add(key);
        }
      }
    }
    return extra;
  }
}

/** Output column names: FEATURE, or VIEW__FEATURE where two requested views share a name. */
export function outputNames(refs: FeatureRef[]): string[] {
  const count = new Map<string, number>();
  for (const r of refs) count.set(r.feature, (count.get(r.feature) ?? 0) + 1);
  return refs.map((r) => (count.get(r.feature)! > 1 ? `${r.view}__${r.feature}` : r.feature));
}

function known(map: Map<string, unknown>): string {
  return map.size ? `; known: ${[...map.keys()].join(', ')}` : '';
}

function checkFeatures(features: FeatureSpec[], field: string, allowEmpty = false): void {
  if (!allowEmpty && features.length === 0) throw invalidArgument(`${field}.features: needs at least one feature`);
  const seen = new Set<string>();
  features.forEach((f, i) => {
    if (!NAME.test(f.name)) throw invalidArgument(`${field}.features[${i}].name: "${f.name}" must be a letter or _ followed by letters, digits or _`);
    if (seen.has(f.name)) throw invalidArgument(`${field}.features[${i}].name: "${f.name}" appears twice`);
    seen.add(f.name);
    if (!(DTYPES as readonly string[]).includes(f.dtype)) throw invalidArgument(`${field}.features[${i}].dtype: "${f.dtype}" is not one of ${DTYPES.join(', ')}`);
  });
}

function checkShape(spec: unknown): asserts spec is FeatureRepoSpec {
  if (!spec || typeof spec !== 'object') throw invalidArgument('definition: expected an object with entities, sources and feature_views');
  const withDefaults = spec as Record<string, unknown>;
  for (const key of ['entities', 'sources', 'feature_views']) if (withDefaults[key] === undefined || withDefaults[key] === null) withDefaults[key] = [];
  const first = TypeValue.Errors(FeatureRepoSchema, spec).First();
  if (first) {
    const path = first.path.replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.') || 'definition';
    throw invalidArgument(`${path}: ${first.message.toLowerCase()}${first.value !== undefined && typeof first.value !== 'object' ? ` (got ${JSON.stringify(first.value)})` : ''}`);
  }
}
