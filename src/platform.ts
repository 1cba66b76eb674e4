/**
 * Composition root: builds the adapters named by the Config, runs migrations, and hands the
 * ports to the domains. Nothing else constructs an adapter.
 */
import { join } from 'node:path';
import type { Config } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import { openMetadataStore, migrate, type MetadataStore, type Migrations } from './storage/metadata.js';
import { coreMigrations } from './storage/core-migrations.js';
import type { BlobStore } from './storage/blobs.js';
import { openFileBlobStore } from './storage/blobs-file.js';
import { openOnlineStore, type OnlineStore } from './storage/online.js';
import { ensureWritableDir } from './storage/metadata.js';
import { TrackingService, trackingMigrations } from './tracking/index.js';
import { DatasetsService, datasetMigrations } from './data/index.js';
import { createRegistryService, registryMigrations, trackingPorts, type RegistryService } from './registry/index.js';
import { createServingService, servingMigrations, type ServingService } from './serving/index.js';
import { createMonitoringService, monitoringMigrations, type MonitoringService } from './monitoring/service.js';
import { RolloutService } from './serving/rollouts/service.js';
import { AbAnalyzer } from './serving/ab.js';
import { rolloutPorts } from './monitoring/rollout-ports.js';

export interface Platform {
  readonly config: Config;
  readonly clock: Clock;
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
  readonly online: OnlineStore;
  /** Name of the newest applied migration. */
  readonly schemaVersion: string | undefined;
  /** The domains' services, built over the stores above. */
  readonly services: Services;
  close(): Promise<void>;
}

/** The stores and clock every domain service is built from. */
export interface Stores {
  config: Config;
  clock: Clock;
  metadata: MetadataStore;
  blobs: BlobStore;
  online: OnlineStore;
}

/** One entry per domain (e.g. `tracking: TrackingService`). */
export interface Services {
  tracking: TrackingService;
  datasets: DatasetsService;
  registry: RegistryService;
  serving: ServingService;
  monitoring: MonitoringService;
  rollouts: RolloutService;
  ab: AbAnalyzer;
}

async function createServices(stores: Stores): Promise<Services> {
  const tracking = await TrackingService.create(stores);
  const datasets = new DatasetsService({ ...stores, workDir: workDir(stores.config, 'datasets') });
  const registry = await createRegistryService(stores, trackingPorts(tracking));
  const serving = createServingService(stores, registry);
  const monitoring = await createMonitoringService(stores, { datasets });
  serving.addPredictionTap(monitoring.sink);
  monitoring.registerMetrics(serving.metrics.registry);
  const monitored = rolloutPorts(monitoring, stores.metadata.db);
  const rollouts = new RolloutService(stores.metadata, serving, stores.clock, {
    outcomes: monitored,
    notifier: monitored,
    setAlias: async (model, alias, version) => void (await registry.setAlias(model, alias, version)),
  });
  const ab = new AbAnalyzer(serving, monitored, stores.clock);
  return { tracking, datasets, registry, serving, monitoring, rollouts, ab };
}

export interface PlatformOptions {
  clock?: Clock;
}

/** Every domain's migrations; names sort in the order they must run. */
export const allMigrations: Migrations = { ...coreMigrations, ...trackingMigrations, ...datasetMigrations, ...registryMigrations, ...servingMigrations, ...monitoringMigrations };

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  ensureWritableDir(config.dataDir);
  const opened: { close(): Promise<void> }[] = [];
  try {
    const metadata = await openMetadataStore(config.store);
    opened.push(metadata);
    const schemaVersion = await migrate(metadata, allMigrations);
    const blobs =
      config.artifacts.kind === 'file'
        ? await openFileBlobStore(config.artifacts.path)
        : await (await import('./storage/blobs-s3.js')).openS3BlobStore(config.artifacts);
    opened.push(blobs);
    const online = await openOnlineStore(config.online, clock);
    opened.push(online);
    const services = await createServices({ config, clock, metadata, blobs, online });
    return {
      config,
      clock,
      metadata,
      blobs,
      online,
      schemaVersion,
      services,
      async close() {
        await services.rollouts.close().catch(() => undefined);
        await services.serving.close().catch(() => undefined);
        await services.monitoring.close().catch(() => undefined);
        await services.registry.close().catch(() => undefined);
        for (const store of opened.reverse()) await store.close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const store of opened.reverse()) await store.close().catch(() => undefined);
    throw err;
  }
}

/** Where a domain may keep local working files (caches, temp files) under the data folder. */
export function workDir(config: Config, ...parts: string[]): string {
  const dir = join(config.dataDir, ...parts);
  ensureWritableDir(dir);
  return dir;
}
