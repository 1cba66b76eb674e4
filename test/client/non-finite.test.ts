import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResponse, parseWithNonFinite } from '../../src/client/client.js';

test('V2 answers with NaN and Infinity tokens are read as those numbers, strings left alone', () => {
  const text = '{"outputs":[{"name":"p","data":[NaN,Infinity,-Infinity,0.5]},{"name":"s","data":["NaN","a\\"NaN,",""]}]}';
  assert.deepEqual(decodeResponse(200, text), { outputs: [{ name: 'p', data: [NaN, Infinity, -Infinity, 0.5] }, { name: 's', data: ['NaN', 'a"NaN,', ''] }] });
  assert.equal(parseWithNonFinite('{"a": Nope}'), undefined);
  assert.equal(decodeResponse(200, 'plain text'), 'plain text');
});
