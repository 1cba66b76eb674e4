import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../../src/security/keyring.js';
import { isSealed, openUnsealed, payloadCipher, rewrapPayload } from '../../src/security/sealed-payload.js';
import { tempDir } from '../helpers/services.js';

test('sealed payloads: unreadable without the key, refused when altered, readable across rotation, and rewrapped so the old key can go', () => {
  const dir = tempDir('sealed-payload');
  const file = join(dir, 'keys');
  const first = randomBytes(32).toString('base64');
  writeFileSync(file, `${first}\n`, { mode: 0o600 });
  const before = new Keyring({ file });
  const plain = Buffer.from('a segment naming paris');
  const sealed = payloadCipher(before, 'a test value').seal(plain);
  assert.equal(isSealed(sealed), true);
  assert.equal(sealed.includes('paris'), false);
  assert.deepEqual(Buffer.from(payloadCipher(before, 'a test value').open(sealed)), plain);
  assert.throws(() => openUnsealed(sealed, 'a test value'), { code: 'FailedPrecondition', message: /a test value is encrypted at rest; configure the master key/ });
  assert.deepEqual(openUnsealed(plain, 'a test value'), plain, 'values stored before sealing pass through');
  const altered = Buffer.from(sealed);
  altered[altered.length - 1] ^= 1;
  assert.throws(() => payloadCipher(before, 'a test value').open(altered), { code: 'FailedPrecondition', message: /does not authenticate/ });

  const added = Keyring.addKeyTo(file);
  const after = new Keyring({ file });
  assert.equal(after.current, added);
  assert.deepEqual(Buffer.from(payloadCipher(after, 'x').open(sealed)), plain, 'old values read after rotation');
  const rewrapped = rewrapPayload(after, sealed)!;
  assert.equal(rewrapPayload(after, rewrapped), undefined, 'already under the current key');
  assert.equal(rewrapPayload(after, plain), undefined, 'nothing to rewrap in an unsealed value');
  // Only the newest key left: the rewrapped value opens, the original does not.
  writeFileSync(file, `${readFileSync(file, 'utf8').trim().split('\n').at(-1)}\n`);
  const onlyNew = new Keyring({ file });
  assert.deepEqual(Buffer.from(payloadCipher(onlyNew, 'x').open(rewrapped)), plain);
  assert.throws(() => payloadCipher(onlyNew, 'x').open(sealed), { code: 'FailedPrecondition', message: /is not configured/ });
});
