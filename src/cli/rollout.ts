/**
 * Safe-rollout commands: `modelport revisions NAME` lists a deployment's changes,
 * `modelport rollback NAME [--to REVISION]` restores one.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { ServingClient, type RevisionInfo } from '../client/serving.js';
import type { ModelportClient } from '../client/client.js';
import { describeDeployment } from './deploy.js';
import { withClient } from './context.js';

/** Changes made from the CLI are recorded as made by the logged-in user. */
export function servingClient(client: ModelportClient): ServingClient {
  let actor: string | undefined;
  try {
    actor = userInfo().username;
  } catch {
    actor = undefined;
  }
  return new ServingClient(client, { actor });
}

export function wholeFlag(raw: string | undefined, flag: string, min = 1): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw invalidArgument(`${flag}: "${raw}" is not a whole number >= ${min}`);
  return Number(raw);
}

function describeRevision(r: RevisionInfo): string {
  const variants = r.variants
    .map((v) => `${v.name}=${v.model}${v.alias !== undefined ? `@${v.alias}` : `:${v.version}`}:${v.shadow ? `shadow:${v.mirror}` : v.weight}`)
    .join(' ');
  return `${String(r.revision).padStart(4)}  ${new Date(r.created_ms).toISOString()}  ${r.actor}  ${variants}  ${r.reason}\n`;
}

export function registerRolloutCommands(program: Command): void {
  program
    .command('revisions')
    .description("list a deployment's revisions: who changed what, when and why")
    .argument('<name>', 'deployment name')
    .option('--limit <n>', 'newest revisions to show', '20')
    .action(async (name: string, flags: { limit: string }, cmd: Command) => {
      const limit = wholeFlag(flags.limit, '--limit');
      await withClient(cmd, async (client) => {
        for (const r of await servingClient(client).revisions(name, limit)) process.stdout.write(describeRevision(r));
      });
    });

  program
    .command('rollback')
    .description('restore the previous revision of a deployment (or --to REVISION) in one step')
    .argument('<name>', 'deployment name')
    .option('--to <revision>', 'revision to restore (default: the previous one)')
    .option('--reason <text>', 'why (recorded with the new revision)')
    .action(async (name: string, flags: { to?: string; reason?: string }, cmd: Command) => {
      const to = wholeFlag(flags.to, '--to');
      await withClient(cmd, async (client) => {
        const d = await servingClient(client).rollback(name, { to, reason: flags.reason });
        process.stdout.write(`rolled back to revision ${to ?? d.revision - 2} (now revision ${d.revision})\n`);
        process.stdout.write(describeDeployment(d));
      });
    });
}
