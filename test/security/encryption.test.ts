import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testConfig } from '../helpers/platform.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { createPlatform } from '../../src/platform.js';
import { startServer } from '../../src/server/serve.js';
import { readBlob } from '../../src/storage/blobs.js';
import { Keyring } from '../../src/security/keyring.js';
import { rewrapAll } from '../../src/security/encrypted-blobs.js';
import type { SecurityTables } from '../../src/security/migrations.js';
import type { ExplainTables } from '../../src/explain/migrations.js';
import { payloadCipher, textCipher } from '../../src/security/sealed-payload.js';
import { ModelportError } from '../../src/core/errors.js';
import { webhookServer } from '../monitoring/alerts/webhook-server.js';

const TLS = new URL('../fixtures/tls/', import.meta.url).pathname;

function objectFiles(dataDir: string): string[] {
  const root = join(dataDir, 'artifacts', 'objects');
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)));
}

test('objects are stored encrypted, unreadable without the key, refused when altered, and readable across rotation', async () => {
  const data = tempDir('enc');
  const keyFile = join(tempDir('keys'), 'master.keys');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const secret = Buffer.from(`customer-table,${'very secret row '.repeat(5000)}`);

  const platform = await createPlatform(testConfig({ data, masterKeyFile: keyFile }));
  const first = await platform.blobs.put(secret);
  try {
    assert.equal(first.size, secret.length);
    assert.deepEqual(await readBlob(platform.blobs, first.sha256), secret);
    assert.equal((await platform.blobs.stat(first.sha256))?.size, secret.length);
    const files = objectFiles(data);
    assert.equal(files.length, 1);
    const stored = readFileSync(files[0]);
    assert.equal(stored.includes(Buffer.from('very secret row')), false, 'no plaintext on disk');
    assert.equal(stored.length, secret.length, 'GCM adds no padding');
    // The same content again is stored once.
    assert.equal((await platform.blobs.put(secret)).sha256, first.sha256);
    assert.equal(objectFiles(data).length, 1);
  } finally {
    await platform.close();
  }

  // Without the key the object is not there to read; with another key it does not open.
  const keyless = await createPlatform(testConfig({ data }));
  try {
    await assert.rejects(readBlob(keyless.blobs, first.sha256), (err: unknown) => err instanceof ModelportError && err.code === 'NotFound');
  } finally {
    await keyless.close();
  }
  const otherKey = join(tempDir('keys'), 'other.keys');
  writeFileSync(otherKey, `${randomBytes(32).toString('base64')}\n`);
  const wrongKey = await createPlatform(testConfig({ data, masterKeyFile: otherKey }));
  try {
    await assert.rejects(readBlob(wrongKey.blobs, first.sha256), /master key k[0-9a-f]{12} is not configured/);
  } finally {
    await wrongKey.close();
  }

  // Rotation: a new key wraps new objects; --rewrap moves old data keys to it; the old key can go.
  const rotated = await runCli(['keys', 'rotate', '--data', data, '--master-key-file', keyFile]);
  assert.equal(rotated.code, 0, rotated.stderr);
  const [oldKey, newKey] = readFileSync(keyFile, 'utf8').trim().split('\n');
  assert.ok(newKey);
  const during = await createPlatform(testConfig({ data, masterKeyFile: keyFile }));
  let second: string;
  try {
    second = (await during.blobs.put('written after rotation')).sha256;
    // A logged explanation sealed under the old key, as the sampled log stored it before rotation.
    const body = JSON.stringify({ method: 'kernel', output: 'y', featureNames: ['income'], rows: 1, groups: 1, values: [0.5], base: [2] });
    const sealed = textCipher(payloadCipher(new Keyring({ key: oldKey }), 'x'), 'x').seal(body);
    await (during.metadata.db as Kysely<ExplainTables>).insertInto('exp_logged').values({ request_id: 'r1', deployment: 'd', model: 'm', version: 1, time_ms: 1, body: sealed }).execute();
    assert.deepEqual(await readBlob(during.blobs, first.sha256), secret, 'old objects stay readable');
  } finally {
    await during.close();
  }
  const status = await runCli(['keys', 'status', '--data', data, '--master-key-file', keyFile]);
  assert.match(status.stdout, /: 1 objects\n.*: 1 objects/s, status.stdout);
  const rewrap = await runCli(['keys', 'rotate', '--rewrap-only', '--data', data, '--master-key-file', keyFile]);
  assert.match(rewrap.stdout, /rewrapped 1 data keys/, rewrap.stderr);
  assert.match(rewrap.stdout, /rewrapped 1 logged explanations/, rewrap.stderr);
  writeFileSync(keyFile, `${newKey}\n`);
  assert.ok(oldKey !== newKey);
  const after = await createPlatform(testConfig({ data, masterKeyFile: keyFile }));
  try {
    assert.deepEqual(await readBlob(after.blobs, first.sha256), secret, 'readable with the new key alone');
    assert.equal((await readBlob(after.blobs, second)).toString(), 'written after rotation');
    assert.deepEqual(Array.from((await after.services.explain.sampled.get('r1'))!.explanation.attributions.values), [0.5], 'the logged explanation opens with the new key alone');
    // One flipped bit in the stored bytes: the read fails instead of returning altered data.
    const file = objectFiles(data).find((f) => statSync(f).size === secret.length)!;
    const bytes = readFileSync(file);
    bytes[100] ^= 1;
    writeFileSync(file, bytes);
    await assert.rejects(readBlob(after.blobs, first.sha256), (err: unknown) => err instanceof ModelportError && err.code === 'FailedPrecondition');
  } finally {
    await after.close();
  }
});

test("an object's data key opens only under its own name; objects stored before that binding are still checked by their hash", async () => {
  const data = tempDir('enc-bound');
  const keyFile = join(tempDir('keys'), 'master.keys');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const platform = await createPlatform(testConfig({ data, masterKeyFile: keyFile }));
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const a = await platform.blobs.put(big);
  const b = await platform.blobs.put('another object');
  try {
    assert.deepEqual(await readBlob(platform.blobs, a.sha256), big, 'several pieces round-trip');
    const db = platform.metadata.db as Kysely<SecurityTables>;
    const row = (sha256: string) => db.selectFrom('sec_blob_key').selectAll().where('sha256', '=', sha256).executeTakeFirstOrThrow();
    const [rowA, rowB] = [await row(a.sha256), await row(b.sha256)];
    assert.match(rowA.wrapped_key, /^n1:/);

    // B's key, IV, tag and ciphertext put under A's name: the key does not open for A.
    const { sha256: _b, ...asB } = rowB;
    await db.updateTable('sec_blob_key').set(asB).where('sha256', '=', a.sha256).execute();
    await assert.rejects(readBlob(platform.blobs, a.sha256), (err: unknown) => err instanceof ModelportError && err.code === 'FailedPrecondition');
    await db.updateTable('sec_blob_key').set(rowA).where('sha256', '=', a.sha256).execute();

    // A row written before the binding (its key wrapped without the name) reads as before, hash-checked.
    const keyring = new Keyring({ file: keyFile });
    const dataKey = keyring.unwrap(rowA.key_id, rowA.wrapped_key.slice(3), Buffer.from(a.sha256));
    await db.updateTable('sec_blob_key').set({ wrapped_key: keyring.wrap(dataKey).wrapped }).where('sha256', '=', a.sha256).execute();
    assert.deepEqual(await readBlob(platform.blobs, a.sha256), big);

    // Rotation rewraps both kinds and keeps each as it was.
    const newKey = Keyring.addKeyTo(keyFile);
    assert.equal(await rewrapAll(db, new Keyring({ file: keyFile })), 2);
    const [afterA, afterB] = [await row(a.sha256), await row(b.sha256)];
    assert.deepEqual([afterA.key_id, afterB.key_id], [newKey, newKey]);
    assert.doesNotMatch(afterA.wrapped_key, /^n1:/);
    assert.match(afterB.wrapped_key, /^n1:/);
  } finally {
    await platform.close();
  }
  writeFileSync(keyFile, `${readFileSync(keyFile, 'utf8').trim().split('\n').at(-1)}\n`);
  const newOnly = await createPlatform(testConfig({ data, masterKeyFile: keyFile }));
  try {
    assert.deepEqual(await readBlob(newOnly.blobs, a.sha256), big, 'readable under the new key alone');
    assert.equal((await readBlob(newOnly.blobs, b.sha256)).toString(), 'another object');
  } finally {
    await newOnly.close();
  }
});

test('the server speaks HTTPS with --tls-cert and --tls-key, and refuses an unreadable key file by name', async () => {
  const server = await startServer(testConfig({ tlsCert: join(TLS, 'cert.pem'), tlsKey: join(TLS, 'key.pem') }), { logger: false });
  try {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${server.url}/health`, { ca: readFileSync(join(TLS, 'cert.pem')) }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    assert.deepEqual(JSON.parse(body), { status: 'ok' });
  } finally {
    await server.close();
  }
  await assert.rejects(startServer(testConfig({ tlsCert: join(TLS, 'cert.pem'), tlsKey: join(TLS, 'missing.pem') }), { logger: false }), /--tls-key: cannot read .*missing\.pem \(ENOENT\)/);
  assert.throws(() => testConfig({ tlsCert: join(TLS, 'cert.pem') }), /TLS needs both --tls-cert and --tls-key/);
});

test("monitoring webhooks' signing secrets are stored sealed under the master key and still sign", async () => {
  const keyFile = join(tempDir('keys'), 'master.keys');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const platform = await createPlatform(testConfig({ masterKeyFile: keyFile, allowPrivateWebhookTargets: true }));
  const hook = await webhookServer();
  try {
    const { monitoring } = platform.services;
    const secret = 'monitor-signing-secret-0123456789';
    await monitoring.monitors.create({ name: 'm', deployment: 'd', kind: 'drift', intervalSeconds: 3600, drift: { reference: { records: [{ a: 1 }, { a: 2 }] } }, webhooks: [{ url: hook.url, secret }] });
    const [target] = await monitoring.monitors.deploymentTargets('d');
    await monitoring.alerts.raise({ dedupKey: 'k', deployment: 'd', kind: 'performance', message: 'accuracy low' }, [target]);
    await monitoring.alerts.raise({ dedupKey: 'k2', deployment: 'd', kind: 'performance', message: 'latency high' }, [{ url: hook.url, secret }]);
    await monitoring.webhooks.idle();
    const db = platform.metadata.db as Kysely<any>;
    const stored = JSON.stringify([await db.selectFrom('mon_monitor').select('webhooks').execute(), await db.selectFrom('mon_delivery').select('secret').execute()]);
    assert.equal(stored.includes(secret), false, stored);
    assert.match(stored, /sealed:v1:/);
    assert.equal(hook.received.length, 2);
    for (const r of hook.received) assert.equal(r.headers['x-modelport-signature'], `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`);
  } finally {
    await hook.close();
    await platform.close();
  }
});
