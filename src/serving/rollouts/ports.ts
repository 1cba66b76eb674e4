/**
 * What rollouts and A/B analysis need from monitoring, as ports: feedback on a deployment's
 * predictions with the variant that answered each, a model metric per variant, and a way to
 * raise an alert (which monitoring also sends to the deployment's webhooks).
 */

/** One labelled prediction row and the variant that made it. */
export interface VariantOutcome {
  requestId: string;
  variant: string;
  /** Prediction time, epoch ms. */
  timeMs: number;
  /** A class label as text (a conversion: "1"/"0", "true"/"false") ... */
  label: string | null;
  /** ... or a numeric outcome (a reward). */
  value: number | null;
  /** The row's logged inputs, for segments. */
  inputs: Record<string, unknown>;
}

export interface MetricByVariant {
  variant: string;
  /** Labelled rows the metric was computed on. */
  count: number;
  /** Undefined when it could not be computed (why in `reason`). */
  value?: number;
  reason?: string;
}

export interface OutcomeSource {
  /** Feedback on predictions of `deployment` made in [from, to), each with its variant. */
  outcomes(deployment: string, from: number, to: number): Promise<VariantOutcome[]>;
  /** A model quality metric (accuracy, roc_auc, mae, ...) of each variant over [from, to). */
  metric(deployment: string, metric: string, from: number, to: number): Promise<MetricByVariant[]>;
}

export interface RolloutAlert {
  deployment: string;
  rolloutId: string;
  message: string;
  details: Record<string, unknown>;
}

export interface RolloutNotifier {
  /** Raises a critical alert for a rolled-back rollout (and its webhook event). */
  rolledBack(alert: RolloutAlert): Promise<void>;
}
