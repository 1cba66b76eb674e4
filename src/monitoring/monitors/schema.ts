/**
 * A monitor's definition as the API takes it (snake_case, like the rest of the REST API): the
 * same TypeBox schemas validate requests, type the domain and describe /openapi.json.
 */
import { Type, type Static } from '@sinclair/typebox';

const DriftMethodSchema = Type.Union(['ks', 'wasserstein', 'psi', 'jensenshannon', 'chisquare', 'z', 't_test'].map((m) => Type.Literal(m)));

export const ReferenceSchema = Type.Union([
  Type.Object({ path: Type.String({ minLength: 1, description: 'CSV, JSON Lines or Parquet file readable by the server; copied into the blob store when the monitor is created' }) }, { additionalProperties: false }),
  Type.Object(
    {
      dataset: Type.String({ minLength: 1, description: 'A registered dataset (modelport datasets); its version is copied into the monitor' }),
      version: Type.Optional(Type.Integer({ minimum: 1, description: 'Default: the latest version when the monitor is created' })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ records: Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1, description: 'Reference rows inline' }) }, { additionalProperties: false }),
  Type.Object(
    {
      window: Type.Object(
        {
          from: Type.Union([Type.String(), Type.Number()], { description: 'ISO time or epoch ms (inclusive)' }),
          to: Type.Union([Type.String(), Type.Number()], { description: 'ISO time or epoch ms (exclusive)' }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false, description: "A window of this deployment's logged inputs" },
  ),
]);
export type ReferenceInput = Static<typeof ReferenceSchema>;

export const DriftConfigSchema = Type.Object(
  {
    reference: ReferenceSchema,
    columns: Type.Optional(Type.Array(Type.String())),
    method: Type.Optional(DriftMethodSchema),
    numMethod: Type.Optional(DriftMethodSchema),
    catMethod: Type.Optional(DriftMethodSchema),
    threshold: Type.Optional(Type.Number({ minimum: 0 })),
    driftShare: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    perColumn: Type.Optional(Type.Record(Type.String(), Type.Object({ method: Type.Optional(DriftMethodSchema), threshold: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false }))),
    columnTypes: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Literal('numerical'), Type.Literal('categorical')]))),
    /** 'dataset' (default): alert on the dataset verdict; 'column': alert when any column drifts. */
    alertOn: Type.Optional(Type.Union([Type.Literal('dataset'), Type.Literal('column')])),
    /** Rows of the current window read at most (newest first; default 20000). */
    maxRows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);
export type DriftConfig = Static<typeof DriftConfigSchema>;

const OutputSpecFields = {
  predictionColumn: Type.Optional(Type.String()),
  scoreColumn: Type.Optional(Type.String()),
  classes: Type.Optional(Type.Array(Type.String(), { minItems: 2 })),
  positiveLabel: Type.Optional(Type.String()),
  negativeLabel: Type.Optional(Type.String()),
  threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  task: Type.Optional(Type.Union([Type.Literal('classification'), Type.Literal('regression')])),
};

export const METRIC_NAMES = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'ece', 'mae', 'rmse', 'mape', 'r2'] as const;

export const PerformanceConfigSchema = Type.Object(
  {
    metric: Type.Union(METRIC_NAMES.map((m) => Type.Literal(m))),
    /** Alert when the metric falls below this ... */
    min: Type.Optional(Type.Number()),
    /** ... or rises above this. */
    max: Type.Optional(Type.Number()),
    /** Fewer labelled rows than this in the window: the check is skipped (default 30). */
    minRows: Type.Optional(Type.Integer({ minimum: 1 })),
    ...OutputSpecFields,
  },
  { additionalProperties: false },
);
export type PerformanceConfig = Static<typeof PerformanceConfigSchema>;

export const ConceptDriftConfigSchema = Type.Object(
  {
    detector: Type.Optional(Type.Union([Type.Literal('adwin'), Type.Literal('ddm'), Type.Literal('page_hinkley')])),
    /** Detector parameters (e.g. {"delta": 0.002} for ADWIN). */
    options: Type.Optional(Type.Record(Type.String(), Type.Number())),
    /** A firing concept-drift alert resolves after this long without a new detection (default 1 day). */
    quietSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    ...OutputSpecFields,
  },
  { additionalProperties: false },
);
export type ConceptDriftConfig = Static<typeof ConceptDriftConfigSchema>;

export const WebhookTargetSchema = Type.Object(
  { url: Type.String({ minLength: 1 }), secret: Type.Optional(Type.String({ minLength: 1 })) },
  { additionalProperties: false },
);

export const MonitorKindSchema = Type.Union([Type.Literal('drift'), Type.Literal('performance'), Type.Literal('concept_drift')]);
export type MonitorKind = Static<typeof MonitorKindSchema>;

export const MonitorInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._-]+$' }),
    deployment: Type.String({ minLength: 1, maxLength: 256 }),
    kind: MonitorKindSchema,
    /** How often the check runs (drift and performance; default 3600). */
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Length of the current window of logged predictions (default: the interval). */
    windowSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Performance: look this far back before the window ends, so late labels have arrived (default 0). */
    delaySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    enabled: Type.Optional(Type.Boolean()),
    drift: Type.Optional(DriftConfigSchema),
    performance: Type.Optional(PerformanceConfigSchema),
    conceptDrift: Type.Optional(ConceptDriftConfigSchema),
    webhooks: Type.Optional(Type.Array(WebhookTargetSchema, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type MonitorInput = Static<typeof MonitorInputSchema>;

export const MonitorPatchSchema = Type.Object(
  {
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    windowSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    delaySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    enabled: Type.Optional(Type.Boolean()),
    drift: Type.Optional(DriftConfigSchema),
    performance: Type.Optional(PerformanceConfigSchema),
    conceptDrift: Type.Optional(ConceptDriftConfigSchema),
    webhooks: Type.Optional(Type.Array(WebhookTargetSchema, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type MonitorPatch = Static<typeof MonitorPatchSchema>;

export const MonitorStateSchema = Type.Union([Type.Literal('unknown'), Type.Literal('ok'), Type.Literal('firing'), Type.Literal('error')]);
export type MonitorState = Static<typeof MonitorStateSchema>;

export const MonitorSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  deployment: Type.String(),
  kind: MonitorKindSchema,
  enabled: Type.Boolean(),
  intervalSeconds: Type.Integer(),
  windowSeconds: Type.Integer(),
  delaySeconds: Type.Integer(),
  drift: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  performance: Type.Optional(PerformanceConfigSchema),
  conceptDrift: Type.Optional(ConceptDriftConfigSchema),
  webhooks: Type.Array(Type.Object({ url: Type.String(), hasSecret: Type.Boolean() })),
  state: MonitorStateSchema,
  lastCheckId: Type.Optional(Type.String()),
  nextRunAt: Type.Optional(Type.Number()),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});
export type Monitor = Static<typeof MonitorSchema>;

export const CheckStatusSchema = Type.Union([Type.Literal('ok'), Type.Literal('alert'), Type.Literal('skipped'), Type.Literal('error')]);
export type CheckStatus = Static<typeof CheckStatusSchema>;

export const CheckSchema = Type.Object({
  id: Type.String(),
  monitorId: Type.String(),
  deployment: Type.String(),
  kind: MonitorKindSchema,
  status: CheckStatusSchema,
  message: Type.String(),
  /** Window compared, epoch ms [from, to). */
  windowFrom: Type.Number(),
  windowTo: Type.Number(),
  summary: Type.Record(Type.String(), Type.Unknown()),
  reportUrl: Type.Optional(Type.String()),
  alertId: Type.Optional(Type.String()),
  startedAt: Type.Number(),
  finishedAt: Type.Number(),
});
export type Check = Static<typeof CheckSchema>;
