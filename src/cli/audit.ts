/** `modelport audit list|verify`: the tamper-evident record of changes and refusals. */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { SecurityClient } from '../client/security.js';
import { parseDuration } from '../security/tokens.js';
import { withClient } from './context.js';
import { renderTable } from './datasets.js';
import { when } from './experiments.js';

/** `--since` as an ISO time or a duration back from now (`1h`, `7d`). */
function sinceMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+\s*[smhdw]$/.test(text.trim())) return Date.now() - parseDuration(text, '--since');
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalidArgument(`--since: "${text}" is neither a time (2026-01-31T12:00Z) nor a duration (1h, 7d)`);
  return ms;
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the audit log: every change and every refused call, hash-chained');

  audit
    .command('list')
    .description('audit entries, oldest first')
    .option('--since <when>', 'an ISO time or a duration back from now (1h, 7d)')
    .option('--actor <actor>', 'e.g. token:alice, local, anonymous')
    .option('--limit <n>', 'newest N entries', '1000')
    .option('--json', 'print JSON')
    .action(async (opts: { since?: string; actor?: string; limit: string; json?: boolean }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw invalidArgument(`--limit: "${opts.limit}" is not a whole number from 1 to 10000`);
      await withClient(cmd, async (client) => {
        const entries = await new SecurityClient(client).audit({ since: sinceMs(opts.since), actor: opts.actor, limit });
        if (opts.json) return void process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        process.stdout.write(
          renderTable(
            ['seq', 'time', 'actor', 'action', 'outcome', 'status', 'client', 'request id'],
            entries.map((e) => [String(e.seq), when(e.time_ms), e.actor, e.action, e.outcome, String(e.status), e.client, e.request_id]),
          ),
        );
      });
    });

  audit
    .command('verify')
    .description('check the hash chain; names the first broken entry and exits 1 when there is one')
    .action(async (_opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const verdict = await new SecurityClient(client).verifyAudit();
        if (verdict.ok) return void process.stdout.write(`audit chain intact: ${verdict.entries} entries\n`);
        process.stdout.write(`audit chain broken at entry ${verdict.brokenAt}: ${verdict.reason}\n`);
        process.exitCode = 1;
      });
    });
}
