/** The storage layer's Prometheus metrics (process-wide counts), on a platform's registry. */
import { Counter, type Registry } from 'prom-client';
import { blobHealth } from './blobs.js';

export function registerStorageMetrics(registry: Registry): void {
  if (registry.getSingleMetric('modelport_blob_corrupt_reads_total')) return;
  new Counter({
    name: 'modelport_blob_corrupt_reads_total',
    help: 'Reads of stored blobs whose content no longer matched their sha256 (the reader got an error, never the bytes)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(blobHealth.corruptReads);
    },
  });
}
