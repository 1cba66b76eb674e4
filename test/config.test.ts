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
  assert.equal(redact('postgres://u:secret@h:5432/db', ''), 'postgres://u@h:5432/db', 'an empty mask leaves the password out');
  assert.equal(redact('postgres://u@h:5432/db?sslmode=require&password=secret'), 'postgres://u@h:5432/db?sslmode=require&password=***');
  assert.equal(redact('postgres://u@h:5432/db?password=secret', ''), 'postgres://u@h:5432/db');
});

test('every variable of the README configuration table: flag > environment > default', () => {
  const cwd = '/w';
  const cases: { flag: keyof NonNullable<Parameters<typeof loadConfig>[0]>; env: string; flagValue: string; envValue: string; read: (c: ReturnType<typeof loadConfig>) => unknown; fallback: unknown }[] = [
    { flag: 'port', env: 'PORT', flagValue: '7000', envValue: '6000', read: (c) => c.port, fallback: 5000 },
    { flag: 'host', env: 'HOST', flagValue: '10.0.0.1', envValue: '0.0.0.0', read: (c) => c.host, fallback: '127.0.0.1' },
    { flag: 'data', env: 'DATA', flagValue: '/flag', envValue: '/env', read: (c) => c.dataDir, fallback: '/w/modelport-data' },
    { flag: 'store', env: 'STORE', flagValue: 'sqlite:/flag.db', envValue: 'sqlite:/env.db', read: (c) => c.store, fallback: { kind: 'sqlite', path: '/w/modelport-data/modelport.db' } },
    { flag: 'artifacts', env: 'ARTIFACTS', flagValue: 'file:/flag', envValue: 'file:/env', read: (c) => c.artifacts, fallback: { kind: 'file', path: '/w/modelport-data/artifacts' } },
    { flag: 'online', env: 'ONLINE', flagValue: 'sqlite:/flag.db', envValue: 'sqlite:/env.db', read: (c) => c.online, fallback: { kind: 'sqlite', path: '/w/modelport-data/online.db' } },
    { flag: 'queue', env: 'QUEUE', flagValue: 'redis://flag:6379', envValue: 'redis://env:6379', read: (c) => c.queue, fallback: { kind: 'local' } },
    { flag: 'logLevel', env: 'LOG_LEVEL', flagValue: 'debug', envValue: 'warn', read: (c) => c.logLevel, fallback: 'info' },
    { flag: 'auth', env: 'AUTH', flagValue: 'auto', envValue: 'on', read: (c) => c.auth, fallback: loadConfig({}, {}, cwd).auth },
    { flag: 'masterKeyFile', env: 'MASTER_KEY_FILE', flagValue: '/flag.key', envValue: '/env.key', read: (c) => c.masterKeyFile, fallback: undefined },
    { flag: 'dataRoots', env: 'DATA_ROOTS', flagValue: '/flag', envValue: '/env', read: (c) => c.dataRoots, fallback: [] },
    { flag: 'bodyLimit', env: 'BODY_LIMIT', flagValue: '4096', envValue: '2048', read: (c) => c.bodyLimit, fallback: 64 * 1024 * 1024 },
  ];
  for (const c of cases) {
    const env = { [`MODELPORT_${c.env}`]: c.envValue };
    const fromEnv = c.read(loadConfig({}, env, cwd));
    assert.deepEqual(c.read(loadConfig({}, {}, cwd)), c.fallback, `${c.flag}: default`);
    assert.notDeepEqual(fromEnv, c.fallback, `${c.flag}: MODELPORT_${c.env} applies`);
    assert.deepEqual(fromEnv, c.read(loadConfig({ [c.flag]: c.envValue }, {}, cwd)), `${c.flag}: the environment reads as the flag does`);
    assert.deepEqual(c.read(loadConfig({ [c.flag]: c.flagValue }, env, cwd)), c.read(loadConfig({ [c.flag]: c.flagValue }, {}, cwd)), `${c.flag}: the flag wins`);
  }
});

test('no CLI option carries a default that would hide its MODELPORT_ variable', async () => {
  const { buildProgram } = await import('../src/cli/main.js');
  const program = await buildProgram();
  const server = program.commands.find((c) => c.name() === 'server')!;
  const configFlags = ['--port', '--host', '--data', '--store', '--artifacts', '--online', '--queue', '--log-level', '--auth', '--master-key-file', '--tls-cert', '--tls-key', '--data-roots'];
  for (const option of [...program.options, ...server.options].filter((o) => configFlags.includes(o.long ?? ''))) {
    assert.equal(option.defaultValue, undefined, `${option.long} has a default`);
  }
});
