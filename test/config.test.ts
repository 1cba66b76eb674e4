import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseArtifactsUri, parseStoreUri, redact } from '../src/config.js';

test('defaults put everything under ./modelport-data on loopback port 5000', () => {
  const c = loadConfig({}, {}, '/srv/app');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 5000);
  assert.equal(c.dataDir, '/srv/app/modelport-data');
  assert.deepEqual(c.store, { kind: 'sqlite', path: '/srv/app/modelport-data/modelport.db' });
  assert.deepEqual(c.artifacts, { kind: 'file', path: '/srv/app/modelport-data/artifacts' });
  assert.deepEqual(c.online, { kind: 'sqlite', path: '/srv/app/modelport-data/online.db' });
  assert.deepEqual(c.queue, { kind: 'local' });
});

test('flags win over the environment, which wins over defaults', () => {
  const env = { MODELPORT_PORT: '6000', MODELPORT_HOST: '0.0.0.0', MODELPORT_DATA: '/env/data' };
  assert.equal(loadConfig({}, env).port, 6000);
  assert.equal(loadConfig({ port: '7000' }, env).port, 7000);
  assert.equal(loadConfig({}, env).host, '0.0.0.0');
  assert.equal(loadConfig({ data: '/flag/data' }, env).dataDir, '/flag/data');
});

test('URIs pick adapters', () => {
  assert.deepEqual(parseStoreUri('postgres://u:p@db:5432/mp?schema=tenant_a'), {
    kind: 'postgres',
    url: 'postgres://u:p@db:5432/mp',
    schema: 'tenant_a',
  });
  assert.deepEqual(parseStoreUri('sqlite:rel/x.db', '/w'), { kind: 'sqlite', path: '/w/rel/x.db' });
  assert.deepEqual(parseStoreUri('sqlite::memory:', '/w'), { kind: 'sqlite', path: ':memory:' });
  const s3 = parseArtifactsUri('s3://bucket/some/prefix/', '/w', {
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
    AWS_ACCESS_KEY_ID: 'k',
    AWS_SECRET_ACCESS_KEY: 's',
    AWS_REGION: 'eu-west-1',
  });
  assert.deepEqual(s3, {
    kind: 's3',
    bucket: 'bucket',
    prefix: 'some/prefix',
    endpoint: 'http://127.0.0.1:9000',
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's', sessionToken: undefined },
  });
  const c = loadConfig({ online: 'redis://127.0.0.1:6379?prefix=mp:', queue: 'redis://127.0.0.1:6379' }, {});
  assert.deepEqual(c.online, { kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'mp:' });
  assert.deepEqual(c.queue, { kind: 'redis', url: 'redis://127.0.0.1:6379' });
});

test('bad values are InvalidArgument errors naming the flag', () => {
  const cases: [Parameters<typeof loadConfig>[0], RegExp][] = [
    [{ store: 'mysql://x' }, /^--store: "mysql:\/\/x" is not supported; use sqlite:PATH or postgres:/],
    [{ store: 'postgres://h/db?schema=x;drop' }, /^--store: schema "x;drop" must be a plain SQL identifier/],
    [{ artifacts: 'gs://b' }, /^--artifacts: "gs:\/\/b" is not supported/],
    [{ artifacts: 's3://' }, /^--artifacts: "s3:\/\/" is not a valid URI|names no bucket/],
    [{ online: 'memcached://x' }, /^--online: /],
    [{ queue: 'sqs://x' }, /^--queue: /],
    [{ port: 'eighty' }, /^--port: "eighty" is not a whole number/],
    [{ port: 70000 }, /^--port: 70000 is outside 0\.\.65535/],
    [{ logLevel: 'loud' }, /^--log-level: "loud" is not one of/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => loadConfig(flags, {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'InvalidArgument');
      assert.match(err.message, message);
      return true;
    });
  }
});

test('redact hides passwords in URIs', () => {
  assert.equal(redact('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
});
