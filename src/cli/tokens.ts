/** `modelport tokens create|list|revoke|group` and `modelport grant`: who may reach the server. */
import type { Command } from 'commander';
import { SecurityClient } from '../client/security.js';
import { withClient } from './context.js';
import { renderTable } from './datasets.js';
import { when } from './experiments.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerTokensCommand(program: Command): void {
  const tokens = program.command('tokens').description('API tokens: create (shown once), list, revoke');

  tokens
    .command('create')
    .description('create a token and print it once')
    .requiredOption('--name <name>', 'what the token is for, e.g. ci or alice')
    .requiredOption('--role <role>', 'viewer | editor | admin')
    .option('--expires <duration>', 'e.g. 30d, 12h (default: never)')
    .option('--scope <scope>', 'limit it, e.g. inference:DEPLOYMENT (repeatable)', collect, [])
    .option('--group <group>', 'add it to a group (repeatable)', collect, [])
    .action(async (opts: { name: string; role: string; expires?: string; scope: string[]; group: string[] }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const security = new SecurityClient(client);
        const { token, info } = await security.createToken({ name: opts.name, role: opts.role, expires: opts.expires, scopes: opts.scope.length ? opts.scope : undefined });
        for (const g of opts.group) await security.addToGroup(info.id, g);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`token ${info.id} (${info.name}, ${info.role}${info.expires_ms ? `, expires ${when(info.expires_ms)}` : ''}): shown only now, keep it safe\n`);
      });
    });

  tokens
    .command('list')
    .description('list tokens (never their text)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const list = await new SecurityClient(client).listTokens();
        if (opts.json) return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        process.stdout.write(
          renderTable(
            ['id', 'name', 'role', 'scopes', 'groups', 'created', 'expires', 'last used', 'revoked'],
            list.map((t) => [t.id, t.name, t.role, t.scopes.join(','), t.groups.join(','), when(t.created_ms), when(t.expires_ms ?? undefined), when(t.last_used_ms ?? undefined), when(t.revoked_ms ?? undefined)]),
          ),
        );
      });
    });

  tokens
    .command('revoke')
    .description('revoke a token by id or name')
    .argument('<token>', 'token id or name')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const t = await new SecurityClient(client).revokeToken(ref);
        process.stdout.write(`revoked token ${t.id} (${t.name})\n`);
      });
    });

  program
    .command('grant')
    .description('grant a token or group READ, EDIT, MANAGE or NO_PERMISSIONS on one resource')
    .requiredOption('--permission <p>', 'READ | EDIT | MANAGE | NO_PERMISSIONS')
    .requiredOption('--on <kind:name>', 'experiment:ID, registered_model:NAME, dataset:NAME, deployment:NAME or pipeline:NAME')
    .option('--to-token <token>', 'the token (id or name) that receives it')
    .option('--group <group>', 'the group that receives it')
    .action(async (opts: { permission: string; on: string; toToken?: string; group?: string }, cmd: Command) => {
      const colon = opts.on.indexOf(':');
      const subject = opts.group !== undefined ? { subject_kind: 'group' as const, subject: opts.group } : { subject_kind: 'token' as const, subject: opts.toToken ?? '' };
      await withClient(cmd, async (client) => {
        const g = await new SecurityClient(client).grant({ ...subject, resource_kind: opts.on.slice(0, colon) as never, resource: opts.on.slice(colon + 1), permission: opts.permission as never });
        process.stdout.write(`${g.subject_kind} ${g.subject}: ${g.permission} on ${g.resource_kind} ${g.resource}\n`);
      });
    });
}
