import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { failedPrecondition } from '../core/errors.js';
import { ModelportClient } from '../client/client.js';
import { startServer } from '../server/serve.js';
import { DATASET, MODEL, TRAINING, stages, type StoryContext } from '../quickstart/story.js';
import { externalStores, resetExternalStores, type QuickstartStores } from '../quickstart/stores.js';
import { configFrom } from './context.js';

const MARKER = '.modelport-quickstart';
/** The UI page that shows each stage's result. */
const UI_LINKS: [string, string][] = [
  ['datasets', `/datasets/${DATASET}`],
  ['training sets', `/datasets/${TRAINING}`],
  ['tuning study', '/experiments'],
  ['model versions and lineage', `/models/${MODEL}`],
  ['deployment, revisions and rollouts', `/deployments/${MODEL}`],
  ['monitors and alerts', '/monitoring'],
];

export function registerQuickstartCommand(program: Command): void {
  program
    .command('quickstart')
    .description('run the whole lifecycle on bundled demo data and leave a server running')
    .option('--no-serve', 'stop after the last stage and exit 0')
    .option('--port <port>', 'port for the server (default: a free one)', '0')
    .option('--reset', 'wipe the data folder first even if the quickstart did not make it')
    .action(async (opts: { serve: boolean; port: string; reset?: boolean }, cmd: Command) => {
      const config = configFrom(cmd, { port: opts.port, logLevel: 'warn' });
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const previous = readMarker(config.dataDir);
      prepareDataDir(config.dataDir, Boolean(opts.reset), say);
      await resetExternalStores(config, previous, Boolean(opts.reset), say);

      const started = Date.now();
      const server = await startServer(config);
      writeFileSync(join(config.dataDir, MARKER), `${JSON.stringify({ started: new Date().toISOString(), ...externalStores(config) })}\n`);
      const client = new ModelportClient(server.url);
      const ctx: StoryContext = {
        server,
        client,
        say: (line) => say(`      ${line}`),
        facts: {},
        outDir: join(config.dataDir, 'reports'),
        state: {},
      };
      try {
        for (const [i, stage] of stages.entries()) {
          const t0 = Date.now();
          say(`[${i + 1}/${stages.length + 1}] ${stage.title}`);
          await stage.run(ctx);
          say(`      done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        }
      } catch (err) {
        await server.close();
        throw err;
      }
      say(`[${stages.length + 1}/${stages.length + 1}] Summary: what happened, with the ids, versions, reports and the UI page of each stage`);
      say(`      quickstart finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const [k, v] of Object.entries(ctx.facts)) say(`      ${k}: ${v}`);
      for (const [page, path] of UI_LINKS) say(`      UI ${page}: ${opts.serve ? server.url : ''}${path}`);
      say(`      data folder: ${config.dataDir}`);
      if (!opts.serve) {
        await server.close();
        // The URLs would name a server that no longer runs: say how to see the same state.
        say(`  to browse it: npx modelport server --data ${config.dataDir}, then open the web UI at / and the API docs at /docs`);
        return;
      }
      say(`  web UI: ${server.url}/`);
      say(`  API docs: ${server.url}/docs`);
      say(`modelport listening on ${server.url} (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close().then(resolve, resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}

/** The stores the last quickstart in `dir` filled (none for a marker from before they were recorded). */
function readMarker(dir: string): QuickstartStores {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as QuickstartStores;
    return { store: parsed.store, online: parsed.online };
  } catch {
    return {};
  }
}

/** Reuses nothing from an earlier quickstart: it starts from a clean folder, and says so. */
function prepareDataDir(dir: string, reset: boolean, say: (line: string) => void): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) {
    say(`data folder: ${dir} (new)`);
    return;
  }
  if (!reset && !existsSync(join(dir, MARKER))) {
    throw failedPrecondition(`data folder ${dir} holds data the quickstart did not make; pass --reset to wipe it or --data to choose another folder`);
  }
  say(`data folder: ${dir} (reset: it held an earlier ${reset ? 'run' : 'quickstart'})`);
  rmSync(dir, { recursive: true, force: true });
}
