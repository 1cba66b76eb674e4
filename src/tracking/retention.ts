/**
 * Retention of runs per experiment: an experiment tagged `modelport.retention_days` = N keeps
 * a run for N days from its start; older ones are deleted for good (their params, tags,
 * metrics, logged-model metric points, dataset links and artifact index rows with them), as
 * `mlflow gc` does for deleted runs. The tag is set like any experiment tag (MLflow clients
 * included). Runs still RUNNING are kept. A registered model version keeps its own copy of the model, so it outlives its run.
 */
import type { Kysely } from 'kysely';
import { DAY_MS, type Clock } from '../core/clock.js';
import type { Singleton } from '../core/singleton.js';
import { batches } from '../core/batches.js';

export const RETENTION_TAG = 'modelport.retention_days';
/** Every table that holds rows of a run, by its run_pk. */
const RUN_TABLES = ['tracking_param', 'tracking_tag', 'tracking_metric_block', 'tracking_latest_metric', 'tracking_run_input', 'tracking_run_model'];

export class RunRetention {
  private timer: NodeJS.Timeout | undefined;
  private lastSweepMs: number;
  private sweeping: Promise<unknown> | undefined;
  /** Which replica sweeps (default: every process, as when alone). */
  leader: Singleton | undefined;

  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    private readonly db: Kysely<any>,
    private readonly clock: Clock,
    private readonly intervalMs = 3_600_000,
  ) {
    this.lastSweepMs = clock.now();
  }

  /** Checks once a minute (a real, unref'd timer) whether a sweep is due by the clock. */
  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch(() => undefined)
        .finally(() => (this.sweeping = undefined));
    }, 60_000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Deletes expired runs when a sweep is due and this replica leads it; how many went, or undefined when it did not run. */
  async sweep(): Promise<number | undefined> {
    if (this.clock.now() - this.lastSweepMs < this.intervalMs) return undefined;
    if (this.leader && !(await this.leader.lead())) return undefined;
    return this.prune();
  }

  /** Deletes every run past its experiment's retention; returns how many. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    this.lastSweepMs = now;
    const tagged = await this.db.selectFrom('tracking_experiment_tag').select(['experiment_id', 'value']).where('key', '=', RETENTION_TAG).execute();
    let deleted = 0;
    for (const { experiment_id, value } of tagged as { experiment_id: number | string; value: string }[]) {
      const days = Number(value);
      // A tag that is not a positive number of days keeps everything: retention never guesses.
      if (!(Number.isFinite(days) && days > 0)) continue;
      const runs = (await this.db
        .selectFrom('tracking_run')
        .select(['run_pk', 'run_id'])
        .where('experiment_id', '=', experiment_id)
        .where('start_time', '<', now - days * DAY_MS)
        .where('status', '!=', 'RUNNING')
        .execute()) as { run_pk: number; run_id: string }[];
      for (const chunk of batches(runs)) {
        const pks = chunk.map((r) => r.run_pk);
        await this.db.transaction().execute(async (trx) => {
          for (const table of RUN_TABLES) await trx.deleteFrom(table).where('run_pk', 'in', pks).execute();
          // A logged model's points go with the run that logged them, as MLflow's foreign key cascades.
          await trx.deleteFrom('tracking_logged_model_metric').where('run_id', 'in', chunk.map((r) => r.run_id)).execute();
          for (const r of chunk) await trx.deleteFrom('tracking_artifact').where('path', 'like', `${experiment_id}/${r.run_id}/%`).execute();
          await trx.deleteFrom('tracking_run').where('run_pk', 'in', pks).execute();
        });
        deleted += chunk.length;
      }
    }
    return deleted;
  }
}
