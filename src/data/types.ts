/**
 * The datasets domain's shapes, as TypeBox schemas: the same definitions give the TypeScript
 * types, check an edited schema, and describe the REST API in OpenAPI.
 */
import { Type, type Static } from '@sinclair/typebox';

export const ColumnTypeSchema = Type.Union([
  Type.Literal('int'),
  Type.Literal('float'),
  Type.Literal('string'),
  Type.Literal('bool'),
  Type.Literal('timestamp'),
]);
export type ColumnType = Static<typeof ColumnTypeSchema>;
export const COLUMN_TYPES: readonly ColumnType[] = ['int', 'float', 'string', 'bool', 'timestamp'];

const ValueCount = Type.Object({ value: Type.String(), count: Type.Integer() });
export type ValueCount = Static<typeof ValueCount>;

const Bucket = Type.Object({ low: Type.Number(), high: Type.Number(), count: Type.Number() });
export type Bucket = Static<typeof Bucket>;

export const ColumnProfileSchema = Type.Object({
  name: Type.String(),
  type: ColumnTypeSchema,
  /** The engine's type for the column as read (e.g. BIGINT, VARCHAR). */
  sourceType: Type.String(),
  /** Rows with a value. */
  count: Type.Integer(),
  missing: Type.Integer(),
  missingShare: Type.Number(),
  /** Distinct non-missing values. */
  distinct: Type.Integer(),
  /** Numbers for int/float, ISO text for timestamps, text order for strings. */
  min: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  max: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  mean: Type.Optional(Type.Number()),
  /** Sample standard deviation (n − 1). */
  std: Type.Optional(Type.Number()),
  /** Float NaNs: present, but left out of every statistic. */
  nan: Type.Optional(Type.Integer()),
  /** Quantiles: exact, linear interpolation between order statistics (numpy's default), up to 1,000,000 rows. */
  quantiles: Type.Optional(Type.Array(Type.Object({ q: Type.Number(), value: Type.Number() }))),
  /** Ten equal-width buckets from min to max; the first includes min, each includes its high edge. */
  histogram: Type.Optional(Type.Array(Bucket)),
  /** The most frequent values (at most 20), most frequent first; empty when the column has over 100,000 distinct values. */
  topValues: Type.Array(ValueCount),
  /** String and bool columns: value counts, most frequent first, at most 1,000 (TFDV's rank histogram); absent over 100,000 distinct values. */
  categories: Type.Optional(Type.Array(ValueCount)),
});
export type ColumnProfile = Static<typeof ColumnProfileSchema>;

export const ProfileSchema = Type.Object({
  rowCount: Type.Integer(),
  columnCount: Type.Integer(),
  /** False above 1,000,000 rows, where quantiles are t-digest estimates (DuckDB approx_quantile). */
  exact: Type.Optional(Type.Boolean()),
  columns: Type.Array(ColumnProfileSchema),
});
export type Profile = Static<typeof ProfileSchema>;

export const DriftThresholdsSchema = Type.Object(
  {
    /** Categorical columns: largest |p_a(v) − p_b(v)| over values (TFDV infinity_norm). */
    infinityNorm: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** Numeric columns: Jensen–Shannon divergence (base 2) of the histograms (TFDV jensen_shannon_divergence). */
    jensenShannon: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type DriftThresholds = Static<typeof DriftThresholdsSchema>;

export const ColumnSchemaSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    type: ColumnTypeSchema,
    /** The column must be present in every version. */
    required: Type.Boolean(),
    /** Share of rows that must have a value (TFDV presence.min_fraction). */
    minPresence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** Inclusive numeric range (int and float columns). */
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    /** The allowed values (string columns). */
    domain: Type.Optional(Type.Array(Type.String())),
    /** No value may appear twice. */
    unique: Type.Optional(Type.Boolean()),
    /** Every value must match this regular expression entirely (string columns). */
    pattern: Type.Optional(Type.String()),
    /** Drift against the previous version; a comparator only runs when its threshold is set. */
    drift: Type.Optional(DriftThresholdsSchema),
    /** Personal data: profiles and validation reports show no values of it (see pii.ts). */
    pii: Type.Optional(Type.Union([Type.Literal('hash'), Type.Literal('drop')])),
  },
  { additionalProperties: false },
);
export type ColumnSchema = Static<typeof ColumnSchemaSchema>;

export const DatasetSchemaSchema = Type.Object(
  { columns: Type.Array(ColumnSchemaSchema) },
  { additionalProperties: false },
);
export type DatasetSchema = Static<typeof DatasetSchemaSchema>;

export const ANOMALY_KINDS = [
  'missing_column',
  'new_column',
  'type_mismatch',
  'out_of_domain',
  'out_of_range',
  'too_many_missing',
  'not_unique',
  'pattern_mismatch',
  'drift_l_infinity',
  'drift_jensen_shannon',
  'no_rows',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export const AnomalySchema = Type.Object({
  kind: Type.Union(ANOMALY_KINDS.map((k) => Type.Literal(k))),
  /** Empty for whole-table anomalies. */
  column: Type.String(),
  expected: Type.String(),
  seen: Type.String(),
  /** One line a person can act on. */
  message: Type.String(),
  /** Rows affected, where counting rows makes sense. */
  count: Type.Optional(Type.Integer()),
  /** Distance measured by a drift comparator. */
  value: Type.Optional(Type.Number()),
  /** A few offending rows (0-based data rows, header not counted) and their raw values. */
  examples: Type.Optional(Type.Array(Type.Object({ row: Type.Integer(), value: Type.Union([Type.String(), Type.Null()]) }))),
});
export type Anomaly = Static<typeof AnomalySchema>;

export const ValidationReportSchema = Type.Object({
  valid: Type.Boolean(),
  rowCount: Type.Integer(),
  /** The version whose profile the drift comparators used, if any. */
  comparedWith: Type.Optional(Type.Integer()),
  anomalies: Type.Array(AnomalySchema),
});
export type ValidationReport = Static<typeof ValidationReportSchema>;

export const DatasetVersionSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  /** sha256 of the content: of the file, or of the folder's manifest. */
  digest: Type.String(),
  kind: Type.Union([Type.Literal('file'), Type.Literal('folder')]),
  format: Type.Union([Type.Literal('csv'), Type.Literal('jsonl'), Type.Literal('parquet')]),
  sizeBytes: Type.Number(),
  rowCount: Type.Integer(),
  columnCount: Type.Integer(),
  source: Type.String(),
  creator: Type.String(),
  description: Type.String(),
  createdAt: Type.Number(),
  /** The schema inferred from this version. */
  schema: DatasetSchemaSchema,
  profile: Type.Optional(ProfileSchema),
});
export type DatasetVersion = Static<typeof DatasetVersionSchema>;

export const DatasetSummarySchema = Type.Object({
  name: Type.String(),
  latestVersion: Type.Integer(),
  versionCount: Type.Integer(),
  rowCount: Type.Integer(),
  columnCount: Type.Integer(),
  updatedAt: Type.Number(),
});
export type DatasetSummary = Static<typeof DatasetSummarySchema>;

export const ColumnDiffSchema = Type.Object({
  name: Type.String(),
  change: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed'), Type.Literal('same')]),
  typeA: Type.Optional(ColumnTypeSchema),
  typeB: Type.Optional(ColumnTypeSchema),
  missingShareA: Type.Optional(Type.Number()),
  missingShareB: Type.Optional(Type.Number()),
  meanA: Type.Optional(Type.Number()),
  meanB: Type.Optional(Type.Number()),
  distinctA: Type.Optional(Type.Integer()),
  distinctB: Type.Optional(Type.Integer()),
  /** Categorical columns. */
  lInfinity: Type.Optional(Type.Number()),
  /** The value whose share moved most. */
  lInfinityValue: Type.Optional(Type.String()),
  /** Numeric columns. */
  jensenShannon: Type.Optional(Type.Number()),
});
export type ColumnDiff = Static<typeof ColumnDiffSchema>;

export const DatasetDiffSchema = Type.Object({
  a: Type.Object({ name: Type.String(), version: Type.Integer(), digest: Type.String(), rowCount: Type.Integer() }),
  b: Type.Object({ name: Type.String(), version: Type.Integer(), digest: Type.String(), rowCount: Type.Integer() }),
  sameContent: Type.Boolean(),
  columns: Type.Array(ColumnDiffSchema),
});
export type DatasetDiff = Static<typeof DatasetDiffSchema>;

export const RunLinkSchema = Type.Object({
  runId: Type.String(),
  context: Type.String(),
  createdAt: Type.Number(),
});
export type RunLink = Static<typeof RunLinkSchema>;

export const ModelLinkSchema = Type.Object({
  modelName: Type.String(),
  modelVersion: Type.String(),
  runId: Type.String(),
  createdAt: Type.Number(),
});
export type ModelLink = Static<typeof ModelLinkSchema>;

export const LineageSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  runs: Type.Array(RunLinkSchema),
  models: Type.Array(ModelLinkSchema),
});
export type Lineage = Static<typeof LineageSchema>;

/** What MLflow's `runs/log-inputs` records for a dataset (`mlflow.entities.Dataset`). */
export const MlflowDatasetSchema = Type.Object({
  name: Type.String(),
  digest: Type.String(),
  source_type: Type.String(),
  source: Type.String(),
  schema: Type.String(),
  profile: Type.String(),
});
export type MlflowDataset = Static<typeof MlflowDatasetSchema>;
