/** Shared by the monitoring tests: the service on SQLite and on PostgreSQL, and small batches. */
import { join } from 'node:path';
import { ManualClock } from '../../../src/core/clock.js';
import { parseStoreUri } from '../../../src/config.js';
import { Batch, column } from '../../../src/models/batch.js';
import { openFileBlobStore } from '../../../src/storage/blobs-file.js';
import { openMetadataStore, migrate, type MetadataStore } from '../../../src/storage/metadata.js';
import { coreMigrations } from '../../../src/storage/core-migrations.js';
import { MonitoringService, monitoringMigrations, type MonitoringOptions } from '../../../src/monitoring/service.js';
import type { PredictionRecord } from '../../../src/monitoring/log/types.js';
import { tempDir, postgresSkip, freshPostgresUri, dropSchema } from '../../helpers/services.js';

export const T0 = Date.UTC(2026, 0, 1);

export interface Harness {
  service: MonitoringService;
  clock: ManualClock;
  /** The store, for assertions on what it holds. */
  metadata: MetadataStore;
  close(): Promise<void>;
}

export interface Engine {
  name: string;
  skip(): Promise<string | false>;
  open(options?: MonitoringOptions): Promise<Harness>;
  /** Two services sharing one store, as two replicas do (closing the second cleans up). */
  replicas(options?: MonitoringOptions): Promise<[Harness, Harness]>;
}

async function build(storeUri: string, options: MonitoringOptions, cleanup: () => Promise<void>): Promise<Harness> {
  const store = parseStoreUri(storeUri, process.cwd());
  const metadata = await openMetadataStore(store);
  await migrate(metadata, { ...coreMigrations, ...monitoringMigrations });
  const blobs = await openFileBlobStore(join(tempDir('mpblobs'), 'blobs'));
  const clock = new ManualClock(T0);
  const service = new MonitoringService({ config: { store, allowPrivateWebhookTargets: true }, metadata, blobs, clock }, {
    tickMs: false,
    ...options,
    // Spawning the writer thread from TypeScript sources costs a second; tests ask for it by name.
    log: { writer: 'inline', ...options.log },
    webhooks: { maxAttempts: 3, baseDelayMs: 1000, timeoutMs: 2000, ...options.webhooks } });
  await service.start();
  return {
    service,
    clock,
    metadata,
    async close() {
      await service.close();
      await blobs.close();
      await metadata.close();
      await cleanup();
    },
  };
}

export const ENGINES: Engine[] = [
  {
    name: 'sqlite',
    skip: async () => false,
    open: (options = {}) => build(`sqlite:${join(tempDir('mpmon'), 'm.db')}`, options, async () => undefined),
    replicas: async (options = {}) => {
      const uri = `sqlite:${join(tempDir('mpmon'), 'm.db')}`;
      return [await build(uri, options, async () => undefined), await build(uri, options, async () => undefined)];
    },
  },
  {
    name: 'postgres',
    skip: postgresSkip,
    open: (options = {}) => {
      const { uri, schema } = freshPostgresUri();
      return build(uri, options, () => dropSchema(schema));
    },
    replicas: async (options = {}) => {
      const { uri, schema } = freshPostgresUri();
      return [await build(uri, options, async () => undefined), await build(uri, options, () => dropSchema(schema))];
    },
  },
];

/** A batch of scalar columns from plain arrays (numbers → float64, strings → string). */
export function batchOf(columns: Record<string, number[] | string[]>): Batch {
  return Batch.from(
    Object.entries(columns).map(([name, values]) =>
      typeof values[0] === 'string' ? [name, column('string', values as string[])] : [name, column('float64', Float64Array.from(values as number[]))],
    ),
  );
}

export function record(requestId: string, timeMs: number, inputs: Record<string, number[] | string[]>, outputs: Record<string, number[] | string[]>, deployment = 'loans'): PredictionRecord {
  return { requestId, deployment, model: 'loans-model', version: 3, variant: 'primary', inputs: batchOf(inputs), outputs: batchOf(outputs), latencyMs: 1.5, timeMs };
}
