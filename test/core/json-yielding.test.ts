import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonYielding } from '../../src/core/json-yielding.js';

test('parses what JSON.parse parses, alike, and refuses what it refuses with a SyntaxError', async () => {
  const texts = ['1', ' "a\\u0041\\n" ', '"äß"', '[]', '{}', '[1,[2,{"a":[{}]}],-0.5e3,true,false,null]', '{"__proto__":{"x":1},"a":null,"a":true}',
    '[1,]', '{"a" 1}', '[1', '{"a":1,}', '01', '"\\x"', 'tru', '[] x', '', '{"k":"v\u0001"}', '[NaN]', '[1 2]', '{,}', '-', '1.'];
  for (const text of texts) {
    let want: unknown;
    try {
      want = JSON.parse(text);
    } catch {
      await assert.rejects(parseJsonYielding(text), SyntaxError, text);
      continue;
    }
    const got = await parseJsonYielding(text);
    assert.deepEqual(got, want, text);
    if (want && typeof want === 'object' && Object.hasOwn(want, '__proto__')) {
      assert.ok(Object.hasOwn(got as object, '__proto__'), 'an own __proto__ key, never the prototype');
      assert.equal(Object.getPrototypeOf(got), Object.prototype);
    }
  }
  // Each place the grammar is broken names the token and where it stands.
  for (const [text, message] of [
    ['{"a" 1}', "Unexpected token '1' in JSON at position 5"],
    ['[1 2]', "Unexpected token '2' in JSON at position 3"],
    ['{,}', "Unexpected token ',' in JSON at position 1"],
    ['[1', 'Unexpected end of JSON input in JSON at position 2'],
    ['{"a":', 'Unexpected end of JSON input in JSON at position 5'],
  ]) {
    await assert.rejects(parseJsonYielding(text), { name: 'SyntaxError', message }, text);
  }
  assert.deepEqual(await parseJsonYielding('{"a":[NaN,-Infinity,Infinity]}', { pythonTokens: true }), { a: [null, -Infinity, Infinity] });
  // A string of megabytes (a regular expression over it overflows the regexp engine's stack).
  const long = JSON.stringify({ a: 'x'.repeat(5_000_000), b: 'q\\"\\\\'.repeat(1000) });
  assert.deepEqual(await parseJsonYielding(long), JSON.parse(long));
});

test('gives the event loop back while it reads a large text', async () => {
  const row = JSON.stringify(Array.from({ length: 30 }, (_, i) => 0.123456789 * i));
  const text = `{"inputs":[${Array.from({ length: 20_000 }, () => row).join(',')}]}`;
  let turns = 0;
  const timer = setInterval(() => turns++, 0);
  try {
    const parsed = await parseJsonYielding(text, { sliceMs: 1 });
    assert.ok(turns > 0, 'a timer ran while the text was parsed');
    assert.deepEqual(parsed, JSON.parse(text));
  } finally {
    clearInterval(timer);
  }
});
