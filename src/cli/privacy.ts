/** `modelport privacy export|erase|retention`: data-subject requests and how long predictions are kept. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { MonitoringClient } from '../client/monitoring.js';
import { withClient } from './context.js';
import { renderTable } from './datasets.js';

function subjectKey(text: string | undefined): string {
  if (text === undefined || text.trim() === '') throw invalidArgument('--subject-key: give the key requests were routed by (a user id) or a value a PII column hashes');
  return text;
}

export function registerPrivacyCommand(program: Command): void {
  const privacy = program.command('privacy').description("data-subject requests over the prediction log and feedback, and their retention (admin; audited)");

  privacy
    .command('export')
    .description("everything the prediction log and feedback hold about one person, as JSON")
    .requiredOption('--subject-key <key>', 'the user id requests were routed by, or a value a `pii: hash` column hashes')
    .option('--out <file>', 'write the JSON to a file (0600) instead of stdout')
    .action(async (opts: { subjectKey: string; out?: string }, cmd: Command) => {
      const key = subjectKey(opts.subjectKey);
      await withClient(cmd, async (client) => {
        const found = await new MonitoringClient(client).exportSubject(key);
        const text = `${JSON.stringify(found, null, 2)}\n`;
        if (opts.out === undefined) return void process.stdout.write(text);
        writeFileSync(opts.out, text, { mode: 0o600 });
        process.stdout.write(`${found.predictions.length} logged rows and ${found.feedback.length} feedback rows written to ${opts.out}\n`);
      });
    });

  privacy
    .command('erase')
    .description('delete everything the prediction log and feedback hold about one person')
    .requiredOption('--subject-key <key>', 'the user id requests were routed by, or a value a `pii: hash` column hashes')
    .action(async (opts: { subjectKey: string }, cmd: Command) => {
      const key = subjectKey(opts.subjectKey);
      await withClient(cmd, async (client) => {
        const gone = await new MonitoringClient(client).eraseSubject(key);
        process.stdout.write(`erased ${gone.requests} logged requests (${gone.rows} rows) and ${gone.feedback} feedback rows\n`);
      });
    });

  privacy
    .command('retention')
    .description("show how long logged predictions and feedback are kept, or set a deployment's period")
    .option('--deployment <name>', 'the deployment to set')
    .option('--days <n>', "days to keep (0: forever; 'default': the server's default, 30 days)")
    .action(async (opts: { deployment?: string; days?: string }, cmd: Command) => {
      if ((opts.deployment === undefined) !== (opts.days === undefined)) throw invalidArgument('--deployment and --days go together');
      let days: number | 'default' | undefined;
      if (opts.days !== undefined) {
        days = opts.days === 'default' ? 'default' : Number(opts.days);
        if (days !== 'default' && !(Number.isFinite(days) && days >= 0)) throw invalidArgument(`--days: "${opts.days}" is not a number of days >= 0 or 'default'`);
      }
      await withClient(cmd, async (client) => {
        const monitoring = new MonitoringClient(client);
        if (opts.deployment !== undefined && days !== undefined) {
          await monitoring.setRetention(opts.deployment, days);
          return void process.stdout.write(`${opts.deployment}: ${days === 'default' ? 'the default retention' : days === 0 ? 'kept forever' : `kept ${days} days`}\n`);
        }
        const r = await monitoring.retention();
        const kept = (d: number) => (d === 0 ? 'forever' : `${d} days`);
        process.stdout.write(renderTable(['deployment', 'kept'], [['(default)', kept(r.defaultDays)], ...Object.entries(r.deployments).map(([d, n]) => [d, kept(n)])]));
      });
    });
}
