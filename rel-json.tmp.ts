import { parseJsonYielding } from './src/core/json-yielding.js';
import assert from 'node:assert/strict';
const cases = ['1', ' "a\\u0041" ', '[]', '{}', '[1,[2,{"a":[{}]}],-0.5e3]', '{"__proto__":{"x":1},"a":null,"a":true}', '[1,]', '{"a" 1}', '[1', '{"a":1,}', '01', '"\\x"', 'tru', '[] x', '', '{"k":"v\u0001"}', '[NaN]', '"\u00e4ß\\n"'];
for (const c of cases) {
  let want: unknown, got: unknown;
  try { want = JSON.parse(c); } catch { want = 'ERR'; }
  try { got = await parseJsonYielding(c); } catch (e) { if (!(e instanceof SyntaxError)) throw e; got = 'ERR'; }
  assert.deepEqual(got, want, c);
  if (typeof want === 'object' && want && Object.hasOwn(want, '__proto__')) assert.ok(Object.hasOwn(got as object, '__proto__'));
}
assert.deepEqual(await parseJsonYielding('[NaN,-Infinity,Infinity]', { pythonTokens: true }), [null, -Infinity, Infinity]);
const row = JSON.stringify(Array.from({ length: 30 }, (_, i) => 0.123456789 * i));
const big = `{"inputs":[${Array.from({ length: 150000 }, () => row).join(',')}]}`;
let t = performance.now(); const a = JSON.parse(big); console.log('native', big.length, performance.now() - t);
let ticks = 0; const iv = setInterval(() => ticks++, 1);
t = performance.now(); const b = await parseJsonYielding(big); console.log('yielding', performance.now() - t, 'ticks', ticks);
clearInterval(iv);
assert.deepEqual(b, a);
console.log('ok');
