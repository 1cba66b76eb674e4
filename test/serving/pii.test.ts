import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { testServer } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import { register } from './helpers.js';
import { piiKey } from '../../src/security/index.js';
import type { RunningServer } from '../../src/server/serve.js';
import type { PredictionRecord } from '../../src/serving/types.js';

const MODEL = `
export const signature = {
  inputs: [
    { name: 'email', dtype: 'string', shape: [], pii: 'hash' },
    { name: 'ssn', dtype: 'string', shape: [], pii: 'drop' },
    { name: 'amount', dtype: 'float64', shape: [] },
  ],
  outputs: [{ name: 'seen', dtype: 'string', shape: [] }],
};
// Answers what it saw without repeating it (outputs are logged as they are).
const tell = (text) => text.split('').map((c) => c.charCodeAt(0).toString(16)).join('');
export function predict(batch) {
  const email = batch.column('email').data, ssn = batch.column('ssn').data;
  return { seen: { dtype: 'string', shape: [], data: email.map((e, i) => tell(e + '/' + ssn[i])) } };
}
`;

let server: RunningServer;
const tapped: PredictionRecord[] = [];
before(async () => {
  server = await testServer();
  const dir = tempDir('pii-model');
  writeFileSync(join(dir, 'model.mjs'), MODEL);
  await register(server.platform.services.registry, 'scorer', dir, ['model.mjs']);
  await server.platform.services.serving.create({ name: 'scorer', model: 'scorer', version: 1 });
  server.platform.services.serving.addPredictionTap({ record: (e: PredictionRecord) => void tapped.push(e) } as never);
});
after(() => server.close());

test('columns a signature marks as PII reach the model but the prediction log only hashed, or not at all', async () => {
  const res = await fetch(`${server.url}/v2/models/scorer/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [
        { name: 'email', shape: [2], datatype: 'BYTES', data: ['ann@example.com', 'bob@example.com'] },
        { name: 'ssn', shape: [2], datatype: 'BYTES', data: ['123-45-6789', '987-65-4321'] },
        { name: 'amount', shape: [2], datatype: 'FP64', data: [10, 20] },
      ],
    }),
  });
  const body = (await res.json()) as { outputs: { data: string[] }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  const told = (text: string) => Buffer.from(text).toString('hex');
  assert.deepEqual(body.outputs[0].data, [told('ann@example.com/123-45-6789'), told('bob@example.com/987-65-4321')], 'the model saw the values as sent');

  assert.equal(tapped.length, 1);
  const logged = tapped[0].inputs;
  assert.deepEqual(logged.names, ['email', 'amount']);
  const key = piiKey(server.platform.config);
  const hash = (v: string) => createHmac('sha256', key).update(v).digest('hex');
  assert.deepEqual(logged.column('email').data, [hash('ann@example.com'), hash('bob@example.com')]);
  assert.deepEqual(Array.from(logged.column('amount').data as Float64Array), [10, 20]);

  await server.platform.services.monitoring.log.flush();
  const stored = JSON.stringify(await server.platform.services.monitoring.log.list({ deployment: 'scorer', limit: 10 }));
  for (const secret of ['ann@example.com', '123-45-6789']) assert.equal(stored.includes(secret), false, `${secret} is not in the stored log`);
  assert.ok(stored.includes(hash('ann@example.com')), `the hash is: ${stored}`);
});

test('a PII marking other than hash or drop is refused by name when the model loads', async () => {
  const dir = tempDir('pii-bad');
  writeFileSync(join(dir, 'model.mjs'), "export const signature = { inputs: [{ name: 'email', dtype: 'string', shape: [], pii: 'mask' }] };\nexport function predict(b) { return b; }\n");
  await register(server.platform.services.registry, 'bad', dir, ['model.mjs']);
  const { status } = await server.platform.services.serving.create({ name: 'bad', model: 'bad', version: 1 });
  assert.equal(status.state, 'failed');
  assert.match(status.message ?? '', /signature\.inputs\[0\]\.pii must be "hash" or "drop", got "mask"/);
});
