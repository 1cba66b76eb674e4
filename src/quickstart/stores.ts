/**
 * The quickstart's scale-out stores. With `--store postgres://…` and `--online redis://…` the
 * story's state lives outside the data folder, so resetting the folder is not enough to run it
 * twice: the quickstart also empties the PostgreSQL schema and the Redis key prefix it filled
 * last time (the folder's marker names them). Stores it did not fill it leaves alone unless
 * `--reset` is given, and it never drops PostgreSQL's `public` schema.
 */
import { redact, type Config } from '../config.js';
import { failedPrecondition } from '../core/errors.js';
import { withDefaultUser } from '../storage/metadata.js';

/** What the folder's marker records: the stores a quickstart run filled. */
export interface QuickstartStores {
  store?: string;
  online?: string;
}

/** The external stores of a configuration, as the marker records them (SQLite files live in the folder). */
export function externalStores(config: Config): QuickstartStores {
  const out: QuickstartStores = {};
  // The marker is a plain file in the data folder: no password goes into it.
  if (config.store.kind === 'postgres') out.store = `${redact(config.store.url, '')}#schema=${config.store.schema ?? 'public'}`;
  if (config.online.kind === 'redis') out.online = `${redact(config.online.url, '')}#prefix=${config.online.prefix}`;
  return out;
}

/**
 * Empties the external stores of `config` when the last quickstart in this folder filled them
 * (or `reset` is given); refuses to run over data it did not make.
 */
export async function resetExternalStores(config: Config, previous: QuickstartStores, reset: boolean, say: (line: string) => void): Promise<void> {
  const now = externalStores(config);
  if (config.store.kind === 'postgres') {
    const schema = config.store.schema ?? 'public';
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: withDefaultUser(config.store.url) });
    try {
      await client.connect();
    } catch {
      // Unreachable: the server's start reports it, with the store's own wording.
      return;
    }
    try {
      const found = await client.query("select 1 from information_schema.tables where table_schema = $1 and table_name = 'mp_migration'", [schema]);
      if (found.rowCount) {
        const ours = reset || previous.store === now.store;
        if (!ours || schema === 'public') {
          throw failedPrecondition(
            `--store: PostgreSQL schema "${schema}" already holds modelport data${ours ? '' : ' the quickstart did not make from this folder'}; ` +
              `give the quickstart a schema of its own (postgres://…?schema=quickstart)${schema === 'public' ? '' : ' or pass --reset to empty this one'}`,
          );
        }
        await client.query(`drop schema "${schema}" cascade`);
        say(`PostgreSQL schema ${schema}: dropped (it held an earlier ${reset ? 'run' : 'quickstart'})`);
      }
    } finally {
      await client.end();
    }
  }
  if (config.online.kind === 'redis') {
    const { prefix } = config.online;
    const { Redis } = await import('ioredis');
    const redis = new Redis(config.online.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
    } catch {
      redis.disconnect();
      return;
    }
    try {
      const scan = async (each: (keys: string[]) => Promise<boolean>) => {
        let cursor = '0';
        do {
          const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          if (batch.length > 0 && !(await each(batch))) return;
          cursor = next;
        } while (cursor !== '0');
      };
      let any = false;
      await scan(async () => ((any = true), false));
      if (!any) return;
      if (!(reset || previous.online === now.online) || prefix === '') {
        throw failedPrecondition(`--online: Redis keys under "${prefix}" already exist and the quickstart did not write them from this folder; choose a prefix of its own (redis://…?prefix=quickstart:) or pass --reset to delete them`);
      }
      let keys = 0;
      await scan(async (batch) => ((keys += await redis.unlink(...batch)), true));
      say(`Redis keys under ${prefix}: ${keys} deleted (written by an earlier ${reset ? 'run' : 'quickstart'})`);
    } finally {
      redis.disconnect();
    }
  }
}
