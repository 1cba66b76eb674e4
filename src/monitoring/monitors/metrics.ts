/**
 * Monitoring's Prometheus gauges, registered on a registry the caller owns (serving's /metrics)
 * and filled at scrape time from the store, so every replica shows the same numbers.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MonitoringService } from '../service.js';
import type { DriftColumnSummary } from './monitors.js';

/** One store read serves all drift gauges of a scrape. */
const SCRAPE_CACHE_MS = 1000;

export function registerMonitoringMetrics(registry: Registry, service: MonitoringService): void {
  const registers = [registry];
  let cached: { at: number; data: ReturnType<MonitoringService['monitors']['latestDrift']> } | undefined;
  const latest = () => {
    const now = Date.now();
    if (!cached || now - cached.at > SCRAPE_CACHE_MS) cached = { at: now, data: service.monitors.latestDrift() };
    return cached.data;
  };
  const columnsOf = (summary: Record<string, unknown>) => (summary.columns as DriftColumnSummary[] | undefined) ?? [];

  new Gauge({
    name: 'modelport_drift_score',
    help: "Last drift check's per-column score: a p-value for ks/chisquare/z/t_test (low = drift), a distance otherwise (high = drift).",
    labelNames: ['deployment', 'monitor', 'column', 'method'],
    registers,
    async collect() {
      this.reset();
      for (const d of await latest()) {
        for (const c of columnsOf(d.summary)) {
          if (c.computed && c.score !== undefined) this.set({ deployment: d.deployment, monitor: d.monitor, column: c.column, method: c.method ?? '' }, c.score);
        }
      }
    },
  });
  new Gauge({
    name: 'modelport_drift_column_drifted',
    help: "1 when the last drift check found the column drifted, else 0.",
    labelNames: ['deployment', 'monitor', 'column'],
    registers,
    async collect() {
      this.reset();
      for (const d of await latest()) {
        for (const c of columnsOf(d.summary)) if (c.computed) this.set({ deployment: d.deployment, monitor: d.monitor, column: c.column }, c.drift ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'modelport_drift_share',
    help: 'Share of compared columns that drifted in the last drift check.',
    labelNames: ['deployment', 'monitor'],
    registers,
    async collect() {
      this.reset();
      for (const d of await latest()) if (typeof d.summary.share === 'number') this.set({ deployment: d.deployment, monitor: d.monitor }, d.summary.share);
    },
  });
  new Gauge({
    name: 'modelport_dataset_drift',
    help: '1 when the last drift check found dataset drift (drifted share >= drift share), else 0.',
    labelNames: ['deployment', 'monitor'],
    registers,
    async collect() {
      this.reset();
      for (const d of await latest()) this.set({ deployment: d.deployment, monitor: d.monitor }, d.summary.datasetDrift ? 1 : 0);
    },
  });
  new Gauge({
    name: 'modelport_alerts_firing',
    help: 'Monitoring alerts currently firing, by deployment and kind.',
    labelNames: ['deployment', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const r of await service.alerts.firingCounts()) this.set({ deployment: r.deployment, kind: r.kind }, r.n);
    },
  });
  const logCounter = (name: string, help: string, pick: (s: ReturnType<MonitoringService['log']['stats']>) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(pick(service.log.stats()));
      },
    });
  logCounter('modelport_prediction_log_sampled_total', 'Prediction requests taken by the log sampler in this process.', (s) => s.sampled);
  logCounter('modelport_prediction_log_dropped_total', 'Sampled prediction requests dropped because the write queue was full.', (s) => s.dropped);
  logCounter('modelport_prediction_log_rows_written_total', 'Prediction rows written to the store by this process.', (s) => s.written);
  logCounter('modelport_prediction_log_write_errors_total', 'Failed prediction-log writes (retried on the next flush).', (s) => s.writeErrors);
}
