/**
 * Composition root: builds the adapters named by the Config, runs migrations, and hands the
 * ports to the domains. Nothing else constructs an adapter.
 */
import { join } from 'node:path';
import { redact, type Config } from './config.js';
import { systemClock, type Clock } from './core/clock.js';
import { openMetadataStore, migrate, type MetadataStore, type Migrations } from './storage/metadata.js';
import { coreMigrations } from './storage/core-migrations.js';
import type { BlobStore } from './storage/blobs.js';
import { openFileBlobStore } from './storage/blobs-file.js';
import { registerStorageMetrics } from './storage/metrics.js';
import { openOnlineStore, type OnlineStore } from './storage/online.js';
import { ensureWritableDir } from './storage/metadata.js';
import { TrackingService, trackingMigrations } from './tracking/index.js';
import { DatasetsService, datasetMigrations } from './data/index.js';
import { createRegistryService, registryMigrations, trackingPorts, type RegistryService } from './registry/index.js';
import { createServingService, servingMigrations, type ServingService } from './serving/index.js';
import { createMonitoringService, monitoringMigrations, type MonitoringService } from './monitoring/service.js';
import { FeaturesService, featureMigrations } from './features/index.js';
import { ExplainService, explainMigrations } from './explain/index.js';
import { SecurityService, securityMigrations, restrictNewFiles, withEncryption, openSecretBox, piiKey, openPayloadCipher } from './security/index.js';
import type { SecretBox } from './core/secret-box.js';
import { JobsService } from './serving/jobs/service.js';
import { jobMigrations } from './serving/jobs/migrations.js';
import { PipelinesService, pipelineMigrations } from './pipelines/index.js';
import { isModelportError } from './core/errors.js';
import type { AlertKind } from './monitoring/alerts/types.js';
import { RolloutService } from './serving/rollouts/service.js';
import { AbAnalyzer } from './serving/ab.js';
import { rolloutPorts } from './monitoring/rollout-ports.js';
import { clusterMigrations, openCluster, type Cluster } from './cluster/index.js';
import { batchPredictStep } from './serving/jobs/pipeline-step.js';
import { trainStep } from './training/pipeline-step.js';
import { rolloutStep } from './serving/rollouts/pipeline-step.js';

export interface Platform {
  readonly config: Config;
  readonly clock: Clock;
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
  readonly online: OnlineStore;
  /** Propagation bus, leases and heartbeats shared with the other replicas. */
  readonly cluster: Cluster;
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
  /** Seals small secrets kept in the metadata store (webhook signing keys). */
  secrets: SecretBox;
  cluster: Cluster;
}

/** One entry per domain (e.g. `tracking: TrackingService`). */
export interface Services {
  tracking: TrackingService;
  datasets: DatasetsService;
  registry: RegistryService;
  serving: ServingService;
  monitoring: MonitoringService;
  features: FeaturesService;
  explain: ExplainService;
  security: SecurityService;
  jobs: JobsService;
  pipelines: PipelinesService;
  rollouts: RolloutService;
  ab: AbAnalyzer;
}

async function createServices(stores: Stores, options: PlatformOptions): Promise<Services> {
  const tracking = await TrackingService.create(stores);
  tracking.retention.leader = stores.cluster.leadership('tracking.retention');
  tracking.retention.start();
  const datasets = new DatasetsService({ ...stores, workDir: workDir(stores.config, 'datasets') });
  const ports = trackingPorts(tracking);
  // Sources on S3 are read with the S3 store's own endpoint and credentials.
  if (stores.config.artifacts.kind === 's3') ports.artifactSources!.push((await import('./storage/blobs-s3.js')).openS3ObjectReader(stores.config.artifacts));
  const registry = await createRegistryService(stores, ports);
  const pii = piiKey(stores.config);
  const serving = createServingService(stores, registry, { processMetrics: options.processMetrics ?? true, piiKey: pii, pollMs: stores.config.reconcileMs ?? (stores.cluster.bus.kind === 'local' ? 1000 : 5000) });
  serving.attachCluster(stores.cluster);
  const monitoring = await createMonitoringService(stores, { datasets, piiKey: pii });
  monitoring.leader = stores.cluster.leadership('monitoring.checks');
  monitoring.log.leader = stores.cluster.leadership('monitoring.retention');
  serving.addPredictionTap(monitoring.sink);
  monitoring.registerMetrics(serving.metrics.registry);
  const features = new FeaturesService({ ...stores, datasets, onlineId: onlineId(stores.config), workDir: workDir(stores.config, 'features'), refreshMs: stores.config.reconcileMs });
  features.registerMetrics(serving.metrics.registry);
  registerStorageMetrics(serving.metrics.registry);
  await features.start();
  serving.inputHook = features.inputHook;
  const explain = new ExplainService({
    db: stores.metadata.db,
    clock: stores.clock,
    models: {
      materialize: async (name, version) => {
        const { path, version: v } = await registry.materialize(name, version);
        return { path, flavor: v.flavor };
      },
      load: (name, version) => registry.loadVersion(name, version, { threads: 0 }),
    },
    log: monitoring.log,
    datasets,
    predictorOf: (deployment, version) => serving.targetNow(deployment, version)?.version.predictor,
    cipher: openPayloadCipher(stores.config, 'a logged explanation'),
  });
  await explain.start();
  serving.addPredictionTap(explain.sampled);
  const security = await SecurityService.create(stores);
  const jobs = new JobsService({ ...stores, serving, datasets, workDir: workDir(stores.config, 'jobs'), owner: stores.cluster.replicaId });
  const pipelines = new PipelinesService({
    ...stores,
    tracking,
    workDir: workDir(stores.config, 'pipelines'),
    defaultQueue: stores.config.queue.kind === 'redis' ? stores.config.queue.url : 'local',
    leader: stores.cluster.leadership('pipelines.triggers'),
    services: { clock: stores.clock, datasets, registry, tracking, allowPrivateWebhookTargets: stores.config.allowPrivateWebhookTargets },
    sources: {
      latestDatasetVersion: (name) => datasets.get({ name }, { profile: false }).then((v) => v.version, (err) => (isModelportError(err) && err.code === 'NotFound' ? undefined : Promise.reject(err))),
      alertsSince: async (afterMs, filter) =>
        (await monitoring.alerts.list({ deployment: filter.deployment, kind: filter.kind as AlertKind | undefined, limit: 1000 })).filter((a) => a.startedAt > afterMs).sort((a, b) => a.startedAt - b.startedAt),
      feedbackCount: (deployment) => monitoring.feedback.count(deployment),
    },
  });
  // A firing alert is acted on at once rather than at the next tick.
  monitoring.events.on('alert', (event) => {
    if (event.type === 'alert.firing') pipelines.triggers.nudge();
  });
  const monitored = rolloutPorts(monitoring, stores.metadata.db);
  const rollouts = new RolloutService(stores.metadata, serving, stores.clock, {
    outcomes: monitored,
    notifier: monitored,
    setAlias: async (model, alias, version) => void (await registry.setAlias(model, alias, version)),
    leader: stores.cluster.leadership('serving.rollouts'),
  });
  const ab = new AbAnalyzer(serving, monitored, stores.clock);
  pipelines.steps.register('batch_predict', batchPredictStep(jobs, stores.blobs));
  pipelines.steps.register('train', trainStep);
  pipelines.steps.register('rollout', rolloutStep(rollouts));
  return { tracking, datasets, registry, serving, monitoring, features, explain, security, jobs, pipelines, rollouts, ab };
}

export interface PlatformOptions {
  clock?: Clock;
  /**
   * Node process metrics (CPU, memory, GC, event-loop lag) in /metrics; on by default. Their
   * monitors (a 10 ms event-loop timer, a GC observer) outlive close(): a platform opened only
   * to migrate the store leaves them off.
   */
  processMetrics?: boolean;
}

/** Every domain's migrations; names sort in the order they must run. */
export const allMigrations: Migrations = { ...coreMigrations, ...trackingMigrations, ...datasetMigrations, ...registryMigrations, ...servingMigrations, ...jobMigrations, ...monitoringMigrations, ...featureMigrations, ...explainMigrations, ...securityMigrations, ...pipelineMigrations, ...clusterMigrations };

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  restrictNewFiles();
  ensureWritableDir(config.dataDir);
  const opened: { close(): Promise<void> }[] = [];
  try {
    const metadata = await openMetadataStore(config.store);
    opened.push(metadata);
    const schemaVersion = await migrate(metadata, allMigrations);
    const stored =
      config.artifacts.kind === 'file'
        ? await openFileBlobStore(config.artifacts.path, { minFreeBytes: config.limits.minFreeDisk })
        : await (await import('./storage/blobs-s3.js')).openS3BlobStore(config.artifacts);
    opened.push(stored);
    const blobs = withEncryption(stored, config, metadata);
    const online = await openOnlineStore(config.online, clock);
    opened.push(online);
    const cluster = await openCluster(config, metadata, clock);
    opened.push(cluster);
    const services = await createServices({ config, clock, metadata, blobs, online, secrets: openSecretBox(config), cluster }, options);
    return {
      config,
      clock,
      metadata,
      blobs,
      online,
      cluster,
      schemaVersion,
      services,
      async close() {
        await services.rollouts.close().catch(() => undefined);
        await services.pipelines.close().catch(() => undefined);
        await services.jobs.close().catch(() => undefined);
        await services.serving.close().catch(() => undefined);
        await services.monitoring.close().catch(() => undefined);
        await services.explain.close().catch(() => undefined);
        services.features.close();
        await services.registry.close().catch(() => undefined);
        await services.tracking.retention.close().catch(() => undefined);
        for (const store of opened.reverse()) await store.close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const store of opened.reverse()) await store.close().catch(() => undefined);
    throw err;
  }
}

/** Names the online store (kind and location) so per-store progress is not confused between stores. */
function onlineId(config: Config): string {
  return config.online.kind === 'sqlite' ? `sqlite:${config.online.path}` : `redis:${redact(config.online.url)}#${config.online.prefix}`;
}

/** Where a domain may keep local working files (caches, temp files) under the data folder. */
export function workDir(config: Config, ...parts: string[]): string {
  const dir = join(config.dataDir, ...parts);
  ensureWritableDir(dir);
  return dir;
}
