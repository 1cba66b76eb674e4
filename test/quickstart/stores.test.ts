/**
 * The quickstart on PostgreSQL and Redis: a second run empties the schema and the key prefix the
 * first one filled from the same folder, and refuses stores it did not fill.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { externalStores, resetExternalStores } from '../../src/quickstart/stores.js';
import { POSTGRES_URL, REDIS_URL, dropSchema, freshPostgresUri, freshRedisPrefix, postgresSkip, redisSkip, tempDir } from '../helpers/services.js';

test('a rerun empties the schema and the Redis prefix its folder filled; stores it did not fill are refused unless --reset', { skip: (await postgresSkip()) || (await redisSkip()) }, async () => {
  const { uri, schema } = freshPostgresUri();
  const prefix = freshRedisPrefix();
  const config = loadConfig({ data: tempDir('qsstores'), store: uri, online: `${REDIS_URL}?prefix=${prefix}` }, {});
  const db = new pg.Client({ connectionString: POSTGRES_URL });
  const redis = new Redis(REDIS_URL);
  await db.connect();
  const tables = async () => (await db.query('select count(*)::int as n from information_schema.tables where table_schema = $1', [schema])).rows[0].n as number;
  const said: string[] = [];
  const say = (line: string) => said.push(line);
  try {
    // Empty stores: nothing to do, nothing said.
    await resetExternalStores(config, {}, false, say);
    assert.deepEqual(said, []);

    await db.query(`create schema "${schema}"`);
    await db.query(`create table "${schema}".mp_migration (name text)`);
    await redis.set(`${prefix}feat:a`, '1');
    await redis.set(`${prefix}feat:b`, '2');
    await assert.rejects(resetExternalStores(config, {}, false, say), /^FailedPrecondition: --store: PostgreSQL schema "t_\w+" already holds modelport data the quickstart did not make from this folder; .*or pass --reset/);
    assert.equal(await tables(), 1);

    const marker = externalStores(config);
    assert.doesNotMatch(JSON.stringify(marker), /password/);
    await resetExternalStores(config, marker, false, say);
    assert.equal(await tables(), 0);
    assert.equal(await redis.exists(`${prefix}feat:a`, `${prefix}feat:b`), 0);
    assert.deepEqual(said, [`PostgreSQL schema ${schema}: dropped (it held an earlier quickstart)`, `Redis keys under ${prefix}: 2 deleted (written by an earlier quickstart)`]);

    // Keys it did not write: refused, then deleted with --reset.
    await redis.set(`${prefix}x`, '1');
    await assert.rejects(resetExternalStores(config, {}, false, say), /--online: Redis keys under "mptest:\S+" already exist and the quickstart did not write them from this folder/);
    await resetExternalStores(config, {}, true, say);
    assert.equal(await redis.exists(`${prefix}x`), 0);
  } finally {
    await db.end();
    const leftover = await redis.keys(`${prefix}*`);
    if (leftover.length > 0) await redis.del(...leftover);
    redis.disconnect();
    await dropSchema(schema);
  }
});
