/**
 * Monitoring as serving's rollout ports: feedback joined to the variant that answered each
 * request (looked up in the prediction log by request id), a model metric per variant, and
 * rollout alerts, which go to the webhooks of the deployment's monitors like any alert.
 */
import type { Kysely } from 'kysely';
import { groupBy } from '../core/group.js';
import type { MetricByVariant, OutcomeSource, RolloutNotifier, VariantOutcome } from '../serving/rollouts/ports.js';
import { rowsByRequestIds } from './log/segments.js';
import { evaluate, metricValue } from './performance/index.js';
import type { JoinedRow } from './performance/extract.js';
import type { MonitoringService } from './service.js';

export function rolloutPorts(monitoring: MonitoringService, db: Kysely<any>): OutcomeSource & RolloutNotifier {
  /** Feedback rows of [from, to) with their variant and inputs; rows whose prediction is no longer logged are left out. */
  const joined = async (deployment: string, from: number, to: number): Promise<{ row: JoinedRow; variant: string; inputs: Record<string, unknown> }[]> => {
    await monitoring.log.flush();
    const rows = await monitoring.feedback.joined(deployment, from, to);
    const logged = await rowsByRequestIds(db, [...new Set(rows.map((r) => r.requestId))], monitoring.log.cipher);
    return rows.flatMap((row) => {
      const hit = logged.get(row.requestId)?.find((l) => l.row_index === row.row);
      return hit ? [{ row, variant: hit.variant, inputs: hit.inputs }] : [];
    });
  };
  return {
    async outcomes(deployment, from, to): Promise<VariantOutcome[]> {
      return (await joined(deployment, from, to)).map(({ row, variant, inputs }) => ({
        requestId: row.requestId,
        variant,
        timeMs: row.timeMs,
        label: row.label,
        value: row.value,
        inputs,
      }));
    },
    async metric(deployment, metric, from, to): Promise<MetricByVariant[]> {
      const byVariant = groupBy(await joined(deployment, from, to), (j) => j.variant);
      return [...byVariant].map(([variant, items]) => {
        const result = evaluate(items.map((i) => i.row));
        const value = metricValue(result.metrics, metric);
        const m = result.metrics.find((x) => x.name === metric);
        const reason = value !== undefined ? undefined : m && !m.computed ? m.reason : `metric "${metric}" is not computed for this task`;
        return { variant, count: result.rows, value, reason };
      });
    },
    async rolledBack(alert) {
      const targets = await monitoring.monitors.deploymentTargets(alert.deployment);
      await monitoring.alerts.raise(
        { dedupKey: `rollout:${alert.rolloutId}`, deployment: alert.deployment, kind: 'rollout', severity: 'critical', message: alert.message, details: alert.details },
        targets,
      );
    },
  };
}
