/**
 * The feature store's Prometheus gauges on serving's /metrics, read from the store at scrape
 * time so every replica reports the same freshness.
 */
import { Gauge, type Registry } from 'prom-client';
import type { FreshnessEntry } from './service.js';

export function registerFeatureMetrics(registry: Registry, freshness: () => Promise<FreshnessEntry[]>): void {
  const registers = [registry];
  new Gauge({
    name: 'modelport_feature_view_freshness_seconds',
    help: 'Age of the newest row of each feature view in the online store (now minus its event time), in seconds.',
    labelNames: ['view'],
    registers,
    async collect() {
      this.reset();
      for (const f of await freshness()) if (f.ageSeconds !== null) this.set({ view: f.view }, f.ageSeconds);
    },
  });
  new Gauge({
    name: 'modelport_feature_view_online_rows_written',
    help: 'Entries each feature view has written to the online store (materialize and push).',
    labelNames: ['view'],
    registers,
    async collect() {
      this.reset();
      for (const f of await freshness()) this.set({ view: f.view }, f.rowsWritten);
    },
  });
}
