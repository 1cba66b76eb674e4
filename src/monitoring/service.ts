/**
 * The monitoring domain's service: the prediction log (serving's sink), feedback and
 * performance, monitors with scheduled drift/performance checks, online concept drift, and
 * alerts delivered to webhooks and to in-process subscribers (`events.on('alert', ...)`).
 * Background work (log flushes, due checks, webhook retries) runs on unref'd timers; what is
 * due is decided by the Clock, so tests drive it with `tick()`.
 */
import type { Singleton } from '../core/singleton.js';
import type { SecretBox } from '../core/secret-box.js';
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import type { StoreUri } from '../config.js';
import { DAY_MS, type Clock } from '../core/clock.js';
import { groupBy } from '../core/group.js';
import { invalidArgument } from '../core/errors.js';
import type { BlobStore } from '../storage/blobs.js';
import type { MetadataStore, Migrations } from '../storage/metadata.js';
import { Alerts, type MonitoringEvents } from './alerts/alerts.js';
import { alertMigrations } from './alerts/tables.js';
import type { Alert } from './alerts/types.js';
import { AlertWebhooks, type WebhookOptions } from './alerts/webhooks.js';
import { FeedbackStore, type AcceptedFeedback, type FeedbackItem, type FeedbackResult } from './feedback/feedback.js';
import { feedbackMigrations, type FeedbackTables } from './feedback/tables.js';
import { eraseSubject, exportSubject, subjectOf, type SubjectErasure, type SubjectExport } from './privacy.js';
import { PredictionLog } from './log/prediction-log.js';
import { logMigrations } from './log/tables.js';
import type { PredictionLogOptions, PredictionSink } from './log/types.js';
import { ConceptDriftTracker, detectorSpecOf, outputSpecOf, type ConceptSettings } from './monitors/concept.js';
import { registerMonitoringMetrics } from './monitors/metrics.js';
import { Monitors } from './monitors/monitors.js';
import type { DatasetSource } from './monitors/frames.js';
import { monitorMigrations } from './monitors/tables.js';
import { performanceOverTime, type PerformanceSpec, type PerformanceWindow } from './performance/index.js';

export const monitoringMigrations: Migrations = { ...logMigrations, ...feedbackMigrations, ...monitorMigrations, ...alertMigrations };

export interface MonitoringOptions {
  log?: PredictionLogOptions;
  webhooks?: WebhookOptions;
  /** Registered datasets, for drift references given as `{dataset, version}`. */
  datasets?: DatasetSource;
  /** Period of the background tick in real milliseconds (default 1000); false: no background work. */
  tickMs?: number | false;
  /** The key PII inputs are hashed under (serving's), so a data subject is found by their hashed value too. */
  piiKey?: Buffer;
}

export interface MonitoringStores {
  /**
   * The store's URI lets the prediction log's writer thread open its own connection;
   * allowPrivateWebhookTargets lets alerts go to loopback/private addresses.
   */
  config?: { store: StoreUri; allowPrivateWebhookTargets?: boolean; masterKeyFile?: string; masterKey?: string };
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  /** Seals webhook signing secrets before they are stored (absent: stored as given). */
  secrets?: SecretBox;
}

export interface PerformanceQuery extends PerformanceSpec {
  deployment: string;
  /** Epoch ms; default: `to` minus one day. */
  from?: number;
  /** Epoch ms; default: now. */
  to?: number;
  /** Window length in ms; default: the whole range as one window. */
  windowMs?: number;
}

export const conceptDedupKey = (deployment: string) => `conceptDrift:${deployment}`;

export class MonitoringService {
  readonly events = new EventEmitter<MonitoringEvents>();
  readonly log: PredictionLog;
  readonly feedback: FeedbackStore;
  readonly webhooks: AlertWebhooks;
  readonly alerts: Alerts;
  readonly monitors: Monitors;
  private readonly concept: ConceptDriftTracker;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    stores: MonitoringStores,
    private readonly options: MonitoringOptions = {},
  ) {
    // Each part sees only its tables; the handle is the same.
    const db = stores.metadata.db;
    this.clock = stores.clock;
    const config = stores.config;
    const masterKeys = config && (config.masterKeyFile !== undefined || config.masterKey !== undefined) ? { file: config.masterKeyFile, key: config.masterKey } : undefined;
    this.log = new PredictionLog(db, stores.clock, { masterKeys, ...options.log }, stores.metadata.dialect, config?.store);
    this.feedback = new FeedbackStore(db, stores.clock, this.log.cipher);
    this.feedbackDb = db;
    this.concept = new ConceptDriftTracker(db, stores.metadata.dialect, stores.clock);
    this.webhooks = new AlertWebhooks(db, stores.clock, { allowPrivateTargets: stores.config?.allowPrivateWebhookTargets, secrets: stores.secrets, ...options.webhooks });
    this.alerts = new Alerts(db, stores.clock, this.webhooks, this.events);
    this.monitors = new Monitors({
      db,
      blobs: stores.blobs,
      clock: stores.clock,
      log: this.log,
      feedback: this.feedback,
      alerts: this.alerts,
      datasets: options.datasets,
      allowPrivateWebhookTargets: stores.config?.allowPrivateWebhookTargets,
      secrets: stores.secrets,
    });
    // Pipelines, UIs and tests may all subscribe; the default limit of 10 would only warn.
    this.events.setMaxListeners(100);
  }

  private readonly clock: Clock;
  private readonly feedbackDb: Kysely<FeedbackTables>;
  /** Which replica runs due checks, retries and retention (default: every process, as when alone). */
  leader: Singleton | undefined;

  /** What serving calls on every answered request. */
  get sink(): PredictionSink {
    return this.log;
  }

  async start(): Promise<void> {
    await this.log.start();
    const period = this.options.tickMs ?? 1000;
    if (period === false) return;
    this.timer = setInterval(() => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch(() => undefined)
        .finally(() => (this.ticking = undefined));
    }, period);
    this.timer.unref();
  }

  /** One round of background work: due checks, due webhook retries, quiet concept-drift alerts; by the leading replica only. */
  async tick(): Promise<void> {
    if (this.leader && !(await this.leader.lead())) return;
    await this.monitors.runDue();
    await this.webhooks.deliverDue();
    await this.resolveQuietConceptAlerts();
  }

  /** Everything the prediction log and feedback hold about one person (a data-subject access request). */
  exportSubject(subjectKey: string): Promise<SubjectExport> {
    return exportSubject(this.log, this.feedbackDb, subjectOf(subjectKey, this.options.piiKey));
  }

  /** Deletes everything the prediction log and feedback hold about one person. */
  eraseSubject(subjectKey: string): Promise<SubjectErasure> {
    return eraseSubject(this.log, subjectOf(subjectKey, this.options.piiKey));
  }

  /** Stores a feedback batch, then feeds new labels to each deployment's concept-drift detector. */
  async submitFeedback(items: readonly FeedbackItem[]): Promise<FeedbackResult & { detections: number }> {
    await this.log.flush();
    const { result, accepted } = await this.feedback.ingest(items);
    const detections = await this.observeConcept(accepted.filter((a) => a.first));
    return { ...result, detections };
  }

  private async observeConcept(fresh: readonly AcceptedFeedback[]): Promise<number> {
    if (fresh.length === 0) return 0;
    const byDeployment = groupBy(fresh, (f) => f.deployment);
    const configs = await this.monitors.configsOf([...byDeployment.keys()]);
    let count = 0;
    for (const [deployment, items] of byDeployment) {
      const mine = configs.filter((c) => c.deployment === deployment);
      const concept = mine.find((c) => c.kind === 'concept_drift');
      if (concept && !concept.enabled) continue;
      const perf = mine.find((c) => c.kind === 'performance');
      const settings: ConceptSettings = concept
        ? { detector: detectorSpecOf(concept.config.conceptDrift), output: outputSpecOf(concept.config.conceptDrift), monitorId: concept.id }
        : { detector: detectorSpecOf(undefined), output: outputSpecOf(perf?.config.performance) };
      const detections = await this.concept.observe(deployment, items, settings);
      if (detections.length === 0) continue;
      const targets = concept ? concept.webhooks : await this.monitors.deploymentTargets(deployment);
      for (const d of detections) {
        count++;
        await this.alerts.raise(
          {
            dedupKey: conceptDedupKey(deployment),
            monitorId: d.settings.monitorId,
            deployment,
            kind: 'concept_drift',
            message: `${deployment}: ${d.detector} detected a change in the error stream after ${d.observations} labelled predictions (recent error ${d.recentError.toFixed(4)})`,
            details: { detector: d.detector, observations: d.observations, recentError: d.recentError, request_id: d.requestId, row: d.row },
          },
          targets,
        );
      }
    }
    return count;
  }

  private async resolveQuietConceptAlerts(): Promise<void> {
    const firing = await this.alerts.list({ state: 'firing', kind: 'concept_drift', limit: 1000 });
    if (firing.length === 0) return;
    const configs = await this.monitors.configsOf([...new Set(firing.map((a) => a.deployment))]);
    const now = this.clock.now();
    for (const a of firing) {
      const concept = configs.find((c) => c.deployment === a.deployment && c.kind === 'concept_drift');
      const quietMs = (concept?.config.conceptDrift?.quietSeconds ?? DAY_MS / 1000) * 1000;
      if (now - a.updatedAt < quietMs) continue;
      const targets = concept ? concept.webhooks : await this.monitors.deploymentTargets(a.deployment);
      await this.alerts.resolveKey(a.dedupKey, `${a.deployment}: no concept drift detected for ${Math.round(quietMs / 1000)} s`, targets);
    }
  }

  /** Model quality of a deployment over [from, to), split into windows. */
  async performance(query: PerformanceQuery): Promise<PerformanceWindow[]> {
    const to = query.to ?? this.clock.now();
    const from = query.from ?? to - DAY_MS;
    if (!(to > from)) throw invalidArgument(`to (${new Date(to).toISOString()}) must be after from (${new Date(from).toISOString()})`);
    await this.log.flush();
    const rows = await this.feedback.joined(query.deployment, from, to);
    return performanceOverTime(rows, from, to, query.windowMs ?? to - from, query);
  }

  async resolveAlert(id: string): Promise<Alert> {
    const alert = await this.alerts.get(id);
    const owner = alert.monitorId ? (await this.monitors.configsOf([alert.deployment])).find((m) => m.id === alert.monitorId) : undefined;
    const targets = owner ? owner.webhooks : await this.monitors.deploymentTargets(alert.deployment);
    return this.alerts.resolve(id, `${alert.message} (resolved by a user)`, targets);
  }

  /** Registers the drift, alert and log gauges on a prom-client registry (e.g. serving's /metrics). */
  registerMetrics(registry: Registry): void {
    registerMonitoringMetrics(registry, this);
  }

  /** Stops the timers, writes what the log holds, and lets started deliveries finish. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.log.close();
    await this.webhooks.idle();
  }
}

export async function createMonitoringService(stores: MonitoringStores, options: MonitoringOptions = {}): Promise<MonitoringService> {
  const service = new MonitoringService(stores, options);
  await service.start();
  return service;
}
