/**
 * The feature store's definitions, as TypeBox schemas: one shape for the YAML file, the
 * TypeScript API and the registry (snake_case, as the YAML reads), so a definition reads the same
 * wherever it is written.
 */
import { Type, type Static } from '@sinclair/typebox';

export const DTYPES = ['float64', 'float32', 'int64', 'int32', 'string', 'bool'] as const;
export type Dtype = (typeof DTYPES)[number];

const Tags = Type.Optional(Type.Record(Type.String(), Type.String()));
const Text = Type.Optional(Type.String());

export const FeatureSchema = Type.Object(
  { name: Type.String(), dtype: Type.String(), description: Text, tags: Tags },
  { additionalProperties: false },
);
export type FeatureSpec = { name: string; dtype: Dtype; description?: string; tags?: Record<string, string> };

export const EntitySchema = Type.Object(
  { name: Type.String(), join_keys: Type.Array(Type.String()), description: Text, tags: Tags },
  { additionalProperties: false },
);
export type EntitySpec = Static<typeof EntitySchema>;

export const SourceSchema = Type.Object(
  {
    name: Type.String(),
    /** A CSV or Parquet file; relative paths are relative to the definition file. */
    path: Type.Optional(Type.String()),
    /** A registered dataset version, "NAME" or "NAME@VERSION". */
    dataset: Type.Optional(Type.String()),
    /** A PostgreSQL table ("name" or "schema.name"), as Feast's PostgreSQLSource(table=...). */
    table: Type.Optional(Type.String()),
    /** A PostgreSQL SELECT, as Feast's PostgreSQLSource(query=...). */
    query: Type.Optional(Type.String()),
    /** The PostgreSQL database of a table or query source (Feast keeps it in feature_store.yaml). */
    url: Type.Optional(Type.String()),
    timestamp_field: Type.String(),
    created_timestamp_field: Type.Optional(Type.String()),
    description: Text,
    tags: Tags,
  },
  { additionalProperties: false },
);
export type SourceSpec = Static<typeof SourceSchema>;

export const FeatureViewSchema = Type.Object(
  {
    name: Type.String(),
    entities: Type.Array(Type.String()),
    source: Type.String(),
    /** How far back a value still counts ("30d", "12h", "90m", "45s", "2w"); absent or "0" for no limit. */
    ttl: Type.Optional(Type.String()),
    features: Type.Array(FeatureSchema),
    owner: Text,
    description: Text,
    tags: Tags,
  },
  { additionalProperties: false },
);
export type FeatureViewSpec = Omit<Static<typeof FeatureViewSchema>, 'features'> & { features: FeatureSpec[] };

export const OnDemandViewSchema = Type.Object(
  {
    name: Type.String(),
    /** Feature views whose features the transform reads. */
    sources: Type.Array(Type.String()),
    /** Values the request (or the entity table, offline) supplies. */
    request: Type.Optional(Type.Array(FeatureSchema)),
    features: Type.Array(FeatureSchema),
    /** JavaScript source of `(row) => ({ feature: value, ... })`; it sees only its argument. */
    transform: Type.String(),
    owner: Text,
    description: Text,
    tags: Tags,
  },
  { additionalProperties: false },
);
export type OnDemandViewSpec = Omit<Static<typeof OnDemandViewSchema>, 'features' | 'request'> & { features: FeatureSpec[]; request?: FeatureSpec[] };

export const FeatureServiceSchema = Type.Object(
  {
    name: Type.String(),
    /** "VIEW:FEATURE", or "VIEW" for all of a view's features. */
    features: Type.Array(Type.String()),
    owner: Text,
    description: Text,
    tags: Tags,
  },
  { additionalProperties: false },
);
export type FeatureServiceSpec = Static<typeof FeatureServiceSchema>;

export const FeatureRepoSchema = Type.Object(
  {
    project: Type.Optional(Type.String()),
    entities: Type.Array(EntitySchema),
    sources: Type.Array(SourceSchema),
    feature_views: Type.Array(FeatureViewSchema),
    on_demand_feature_views: Type.Optional(Type.Array(OnDemandViewSchema)),
    feature_services: Type.Optional(Type.Array(FeatureServiceSchema)),
  },
  { additionalProperties: false },
);
export interface FeatureRepoSpec {
  project?: string;
  entities: EntitySpec[];
  sources: SourceSpec[];
  feature_views: FeatureViewSpec[];
  on_demand_feature_views?: OnDemandViewSpec[];
  feature_services?: FeatureServiceSpec[];
}

export const ChangeSchema = Type.Object({
  kind: Type.Union([Type.Literal('entity'), Type.Literal('source'), Type.Literal('feature_view'), Type.Literal('on_demand_feature_view'), Type.Literal('feature_service')]),
  name: Type.String(),
  action: Type.Union([Type.Literal('added'), Type.Literal('changed'), Type.Literal('removed')]),
  /** Field paths that differ, with the values before and after (JSON text). */
  diff: Type.Array(Type.Object({ path: Type.String(), before: Type.Optional(Type.String()), after: Type.Optional(Type.String()) })),
});
export type Change = Static<typeof ChangeSchema>;

export const PlanSchema = Type.Object({
  /** The registry version the plan was made against (0: nothing applied yet). */
  currentVersion: Type.Integer(),
  changes: Type.Array(ChangeSchema),
});
export type Plan = Static<typeof PlanSchema>;

export const ApplyResultSchema = Type.Object({
  ...PlanSchema.properties,
  /** The version now current; equal to currentVersion when nothing changed. */
  version: Type.Integer(),
});
export type ApplyResult = Static<typeof ApplyResultSchema>;

export const RegistryVersionSchema = Type.Object({
  version: Type.Integer(),
  digest: Type.String(),
  createdAt: Type.Integer(),
  creator: Type.String(),
  spec: FeatureRepoSchema,
});
export type RegistryVersion = Omit<Static<typeof RegistryVersionSchema>, 'spec'> & { spec: FeatureRepoSpec };

/** Feast's per-value statuses for online reads (NULL_VALUE: the row is there, the value is null). */
export type FeatureStatus = 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE';
export type Value = string | number | boolean | null;

export const OnlineResponseSchema = Type.Object({
  metadata: Type.Object({ feature_names: Type.Array(Type.String()) }),
  /** One entry per column (join keys first, then features), each with one value per entity row; a view's columns share one event_timestamps list. */
  results: Type.Array(
    Type.Object({
      values: Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
      statuses: Type.Array(Type.String()),
      /** ISO 8601 event time of each value; null where there is none. */
      event_timestamps: Type.Array(Type.Union([Type.String(), Type.Null()])),
    }),
  ),
});
export interface OnlineResponse {
  metadata: { feature_names: string[] };
  results: { values: Value[]; statuses: FeatureStatus[]; event_timestamps: (string | null)[] }[];
}

/** The file formats training data is written in. */
export type HistoricalFormat = 'csv' | 'parquet' | 'arrow';

/** The format a training-data file's name asks for: Parquet and Arrow by extension, else CSV. */
export function historicalFormatOf(path: string): HistoricalFormat {
  if (/\.(parquet|pq)$/i.test(path)) return 'parquet';
  return /\.(arrow|feather|ipc)$/i.test(path) ? 'arrow' : 'csv';
}
