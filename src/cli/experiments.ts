/** `modelport experiments list|create`: experiments of the tracking service. */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { TrackingClient } from '../client/tracking.js';
import { withClient } from './context.js';
import { renderTable } from './datasets.js';

const VIEWS: Record<string, 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL'> = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' };
const collect = (value: string, previous: string[]) => [...previous, value];
export const when = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

export function registerExperimentsCommand(program: Command): void {
  const experiments = program.command('experiments').description('experiment tracking: list and create experiments');

  experiments
    .command('list')
    .description('list experiments, newest first')
    .option('--view <view>', 'active | deleted | all', 'active')
    .option('--filter <expr>', `MLflow filter, e.g. "name LIKE 'churn%'"`)
    .option('--json', 'print JSON')
    .action(async (opts: { view: string; filter?: string; json?: boolean }, cmd: Command) => {
      const view = VIEWS[opts.view];
      if (!view) throw invalidArgument(`--view: "${opts.view}" is not one of ${Object.keys(VIEWS).join(', ')}`);
      await withClient(cmd, async (client) => {
        const tracking = new TrackingClient(client);
        const all = [];
        let page_token: string | undefined;
        do {
          const page = await tracking.searchExperiments({ view_type: view, filter: opts.filter, page_token });
          all.push(...page.experiments);
          page_token = page.next_page_token;
        } while (page_token);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          renderTable(
            ['id', 'name', 'stage', 'created', 'artifact location'],
            all.map((e) => [e.experiment_id, e.name, e.lifecycle_stage, when(e.creation_time), e.artifact_location]),
          ),
        );
      });
    });

  experiments
    .command('delete')
    .description("delete an experiment (MLflow's soft delete: its runs move to the deleted lifecycle stage)")
    .argument('<name>', 'experiment name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const tracking = new TrackingClient(client);
        await tracking.deleteExperiment((await tracking.getExperimentByName(name)).experiment_id);
        process.stdout.write(`deleted experiment ${name}\n`);
      });
    });

  experiments
    .command('create')
    .description('create an experiment and print its id')
    .argument('<name>', 'experiment name (unique)')
    .option('--tag <key=value>', 'experiment tag (repeatable)', collect, [])
    .option('--artifact-location <uri>', 'where its runs keep artifacts (default: this server)')
    .action(async (name: string, opts: { tag: string[]; artifactLocation?: string }, cmd: Command) => {
      const tags: Record<string, string> = {};
      for (const t of opts.tag) {
        const i = t.indexOf('=');
        if (i <= 0) throw invalidArgument(`--tag: "${t}" is not KEY=VALUE`);
        tags[t.slice(0, i)] = t.slice(i + 1);
      }
      await withClient(cmd, async (client) => {
        const id = await new TrackingClient(client).createExperiment(name, { tags, artifactLocation: opts.artifactLocation });
        process.stdout.write(`${id}\n`);
      });
    });
}
