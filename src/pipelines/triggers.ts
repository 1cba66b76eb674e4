/**
 * What starts runs without a person: 5-field cron schedules in a time zone, a new dataset
 * version, a monitor alert, a number of new feedback labels. One replica at a time evaluates
 * them (the `leader` port: a lease in the store, `cluster/leases.ts`), and each firing moves its schedule's `next_ms` or its
 * trigger's cursor with a compare-and-set, so even two replicas that both think they lead
 * cannot fire one occurrence twice. Time comes from the injected clock.
 */
import { Cron } from 'croner';
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { Singleton } from '../core/singleton.js';
import { invalidArgument, notFound } from '../core/errors.js';
import { timeOrderedId } from '../core/ids.js';
import type { Pipeline } from './definition.js';
import type { PipelinesService, RunView } from './service.js';
import type { PipelineTables, PlScheduleTable, PlTriggerTable } from './tables.js';

type Db = Kysely<PipelineTables>;

/** What triggers watch, read from the other domains. */
export interface TriggerSources {
  latestDatasetVersion(name: string): Promise<number | undefined>;
  /** Alerts that started after `afterMs`, oldest first. */
  alertsSince(afterMs: number, filter: { deployment?: string; kind?: string }): Promise<{ id: string; startedAt: number }[]>;
  feedbackCount(deployment: string): Promise<number>;
}

export interface ScheduleView {
  id: string;
  pipeline: string;
  cron: string;
  timezone: string;
  params: Record<string, unknown>;
  nextAt: number;
}

export type TriggerInput =
  | { kind: 'dataset'; dataset: string; params?: Record<string, unknown>; versionParam?: string }
  | { kind: 'alert'; deployment?: string; alertKind?: 'drift' | 'performance' | 'concept_drift'; params?: Record<string, unknown> }
  | { kind: 'feedback'; deployment: string; every: number; params?: Record<string, unknown> };

export interface TriggerView {
  id: string;
  pipeline: string;
  kind: PlTriggerTable['kind'];
  config: Record<string, unknown>;
  params: Record<string, unknown>;
  cursor: number;
}

export interface FireResult {
  action: 'started' | 'queued' | 'skipped' | 'replaced';
  run?: RunView;
}

/** Checks a 5-field cron expression and a time zone; the error names the field. */
export function cronOf(expression: string, timezone: string): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw invalidArgument(`cron: "${expression}" must have 5 fields (minute hour day-of-month month day-of-week)`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalidArgument(`tz: "${timezone}" is not an IANA time zone (e.g. Europe/Paris, UTC)`);
  }
  try {
    return new Cron(expression, { timezone, paused: true });
  } catch (err) {
    throw invalidArgument(`cron: "${expression}": ${(err as Error).message}`);
  }
}

/** The first occurrence strictly after `afterMs`. */
export function nextOccurrence(cron: Cron, afterMs: number): number {
  const next = cron.nextRun(new Date(afterMs));
  if (!next) throw invalidArgument(`cron: "${cron.getPattern()}" never fires again`);
  return next.getTime();
}

export class Triggers {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly pipelines: PipelinesService,
    private readonly sources: TriggerSources,
    /** Whether this replica is the one that fires now. */
    private readonly leader: Singleton,
  ) {}

  // ---- schedules ------------------------------------------------------------------------------

  async addSchedule(pipeline: string, input: { cron: string; timezone?: string; params?: Record<string, unknown> }): Promise<ScheduleView> {
    const timezone = input.timezone ?? 'UTC';
    const cron = cronOf(input.cron, timezone);
    await this.checkParams(pipeline, input.params ?? {});
    const row: PlScheduleTable = { id: timeOrderedId(this.clock.now()), pipeline, cron: input.cron.trim(), timezone, params_json: JSON.stringify(input.params ?? {}), next_ms: nextOccurrence(cron, this.clock.now()), created_ms: this.clock.now() };
    await this.db.insertInto('pl_schedule').values(row).execute();
    return scheduleView(row);
  }

  async listSchedules(pipeline?: string): Promise<ScheduleView[]> {
    let q = this.db.selectFrom('pl_schedule').selectAll().orderBy('created_ms');
    if (pipeline) q = q.where('pipeline', '=', pipeline);
    return (await q.execute()).map(scheduleView);
  }

  async deleteSchedule(id: string): Promise<void> {
    const res = await this.db.deleteFrom('pl_schedule').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`schedule "${id}" does not exist`);
  }

  // ---- event triggers -------------------------------------------------------------------------

  async addTrigger(pipeline: string, input: TriggerInput): Promise<TriggerView> {
    await this.checkParams(pipeline, input.params ?? {});
    let cursor: number;
    let config: Record<string, unknown>;
    if (input.kind === 'dataset') {
      if (!input.dataset) throw invalidArgument('dataset: name the dataset whose new versions start the pipeline');
      const def = await this.definition(pipeline);
      if (input.versionParam !== undefined && !(input.versionParam in def.params)) throw invalidArgument(`versionParam: pipeline ${pipeline} has no parameter "${input.versionParam}"`);
      cursor = (await this.sources.latestDatasetVersion(input.dataset)) ?? 0;
      config = { dataset: input.dataset, versionParam: input.versionParam };
    } else if (input.kind === 'alert') {
      if (input.alertKind !== undefined && !['drift', 'performance', 'concept_drift'].includes(input.alertKind)) throw invalidArgument(`alertKind: "${input.alertKind}" must be drift, performance or concept_drift`);
      cursor = this.clock.now();
      config = { deployment: input.deployment, alertKind: input.alertKind };
    } else if (input.kind === 'feedback') {
      if (!input.deployment) throw invalidArgument('deployment: name the deployment whose feedback is counted');
      if (!Number.isInteger(input.every) || input.every < 1) throw invalidArgument('every: must be a whole number of labels >= 1');
      cursor = await this.sources.feedbackCount(input.deployment);
      config = { deployment: input.deployment, every: input.every };
    } else throw invalidArgument(`kind: "${(input as { kind: string }).kind}" must be dataset, alert or feedback`);
    const row: PlTriggerTable = { id: timeOrderedId(this.clock.now()), pipeline, kind: input.kind, config_json: JSON.stringify(config), params_json: JSON.stringify(input.params ?? {}), cursor, created_ms: this.clock.now() };
    await this.db.insertInto('pl_trigger').values(row).execute();
    return triggerView(row);
  }

  async listTriggers(pipeline?: string): Promise<TriggerView[]> {
    let q = this.db.selectFrom('pl_trigger').selectAll().orderBy('created_ms');
    if (pipeline) q = q.where('pipeline', '=', pipeline);
    return (await q.execute()).map(triggerView);
  }

  async deleteTrigger(id: string): Promise<void> {
    const res = await this.db.deleteFrom('pl_trigger').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`trigger "${id}" does not exist`);
  }

  private async definition(pipeline: string): Promise<Pipeline> {
    const row = await this.db.selectFrom('pl_pipeline').select('definition_json').where('name', '=', pipeline).executeTakeFirst();
    if (!row) throw notFound(`pipeline "${pipeline}" does not exist; save it first (pipelines schedule FILE saves it)`);
    return JSON.parse(row.definition_json) as Pipeline;
  }

  private async checkParams(pipeline: string, params: Record<string, unknown>): Promise<void> {
    const def = await this.definition(pipeline);
    for (const key of Object.keys(params)) if (!(key in def.params)) throw invalidArgument(`params: pipeline ${pipeline} has no parameter "${key}"`);
  }

  // ---- firing ---------------------------------------------------------------------------------

  /** Starts a run of a saved pipeline under its concurrency policy. */
  async fire(pipeline: string, params: Record<string, unknown>, trigger: string): Promise<FireResult> {
    const def = await this.definition(pipeline);
    const active = await this.pipelines.activeRuns(pipeline);
    if (active.length > 0) {
      if (def.concurrency === 'skip') return { action: 'skipped' };
      if (def.concurrency === 'queue') return { action: 'queued', run: await this.pipelines.startRun({ pipeline, params, trigger }, { queued: true }) };
      for (const r of active) await this.pipelines.cancel(r.id).catch(() => undefined);
      return { action: 'replaced', run: await this.pipelines.startRun({ pipeline, params, trigger }) };
    }
    return { action: 'started', run: await this.pipelines.startRun({ pipeline, params, trigger }) };
  }

  /** One round: take or keep the lease, fire what is due, start queued runs, take over orphaned runs. */
  async tick(): Promise<FireResult[]> {
    const fired: FireResult[] = [];
    if (await this.leader.lead()) {
      fired.push(...(await this.fireSchedules()));
      fired.push(...(await this.fireTriggers()));
    }
    await this.pipelines.startQueued();
    await this.pipelines.resumeOrphans();
    return fired;
  }

  private async fireSchedules(): Promise<FireResult[]> {
    const now = this.clock.now();
    const due = await this.db.selectFrom('pl_schedule').selectAll().where('next_ms', '<=', now).execute();
    const out: FireResult[] = [];
    for (const s of due) {
      // Missed occurrences (the server was down) fire once, not once each.
      const next = nextOccurrence(cronOf(s.cron, s.timezone), now);
      const moved = await this.db.updateTable('pl_schedule').set({ next_ms: next }).where('id', '=', s.id).where('next_ms', '=', s.next_ms).executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 1) out.push(await this.fire(s.pipeline, JSON.parse(s.params_json), `cron:${s.id}`));
    }
    return out;
  }

  private async fireTriggers(): Promise<FireResult[]> {
    const out: FireResult[] = [];
    for (const t of await this.db.selectFrom('pl_trigger').selectAll().execute()) {
      const config = JSON.parse(t.config_json) as Record<string, string | number | undefined>;
      const params = JSON.parse(t.params_json) as Record<string, unknown>;
      let next: number | undefined;
      if (t.kind === 'dataset') {
        const latest = await this.sources.latestDatasetVersion(String(config.dataset));
        if (latest !== undefined && latest > Number(t.cursor)) {
          next = latest;
          if (config.versionParam) params[String(config.versionParam)] = latest;
        }
      } else if (t.kind === 'alert') {
        const alerts = await this.sources.alertsSince(Number(t.cursor), { deployment: config.deployment as string | undefined, kind: config.alertKind as string | undefined });
        if (alerts.length > 0) next = alerts[alerts.length - 1].startedAt;
      } else {
        const count = await this.sources.feedbackCount(String(config.deployment));
        if (count >= Number(t.cursor) + Number(config.every)) next = count;
      }
      if (next === undefined) continue;
      const moved = await this.db.updateTable('pl_trigger').set({ cursor: next }).where('id', '=', t.id).where('cursor', '=', t.cursor).executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 1) out.push(await this.fire(t.pipeline, params, `${t.kind}:${t.id}`));
    }
    return out;
  }

  /** Ticks every `periodMs` until stopped (a server does this; a one-shot CLI command does not). */
  start(periodMs = 2000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .then(() => undefined)
        .catch(() => undefined)
        .finally(() => (this.ticking = undefined));
    }, periodMs);
    this.timer.unref();
  }

  /** Evaluates at once (an alert just fired) instead of at the next period. */
  nudge(): void {
    if (!this.timer || this.ticking) return;
    this.ticking = this.tick()
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => (this.ticking = undefined));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}

function scheduleView(r: PlScheduleTable): ScheduleView {
  return { id: r.id, pipeline: r.pipeline, cron: r.cron, timezone: r.timezone, params: JSON.parse(r.params_json), nextAt: Number(r.next_ms) };
}

function triggerView(r: PlTriggerTable): TriggerView {
  return { id: r.id, pipeline: r.pipeline, kind: r.kind, config: JSON.parse(r.config_json), params: JSON.parse(r.params_json), cursor: Number(r.cursor) };
}
