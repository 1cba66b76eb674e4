import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvRows, type CsvColumnRole } from '../../../src/serving/jobs/csv-rows.js';

const COMMA = 0x2c;
const double = (feature: number): CsvColumnRole => ({ feature, kept: -1, type: 'double', digits: 0 });

/** Parses one-column lines; the matrix, or undefined when the parser leaves them to DuckDB. */
function parseColumn(texts: readonly string[], role: CsvColumnRole = double(0)): Float32Array | undefined {
  const bytes = Buffer.from(texts.map((t) => `${t}\n`).join(''));
  const matrix = new Float32Array(texts.length);
  return parseCsvRows(bytes, 0, bytes.length, texts.length, COMMA, [role], matrix) && matrix;
}

/** Texts whose float32 is not Math.fround(Number(text)), the double DuckDB reads then rounded. */
function wrong(texts: readonly string[]): string[] {
  const got = parseColumn(texts);
  assert.ok(got, 'every text is plain');
  return texts.filter((t, i) => !Object.is(got[i], Math.fround(Number(t))));
}

test('numbers as DuckDB reads them, then rounded to float32: shortest forms, long digit strings, exponents, boundaries', () => {
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const texts: string[] = [];
  for (let i = 0; i < 50_000; i++) {
    const v = (random() - 0.3) * 10 ** Math.floor(random() * 16 - 8);
    texts.push(String(v), v.toPrecision(1 + Math.floor(random() * 21)), v.toExponential(Math.floor(random() * 20)));
  }
  // Exactly between two float32s, and a hair either side: where rounding to a double first matters.
  for (let i = 0; i < 2_000; i++) {
    const f = Math.fround(random() * 1000);
    const half = (Math.fround(f * (1 + 2 ** -23)) - f) / 2;
    const mid = f + half;
    texts.push(mid.toPrecision(21), (mid + half * 1e-9).toPrecision(25), (mid - half * 1e-9).toPrecision(25), String(mid));
  }
  texts.push('0', '-0', '0.0', '-0.000', '00012.50', '1e5', '1E-5', '2.5e+10', '123456789012345678901234567890', '0.000000000000000000000000000001234');
  texts.push('3.4028235677973366e38', '3.4028236e38', '1e39', '1.17549435e-38', '1.4e-45', '7e-46', '1e-50', '9007199254740993', '16777217');
  texts.push('1.00000005960464477539062500', '1.0000000596046447753906249', '1.0000000596046447753906251', `0.${'3'.repeat(60)}`);
  assert.deepEqual(wrong(texts), []);
});

test('an empty field is NaN; anything outside the plain grammar is left to DuckDB', () => {
  assert.ok(Number.isNaN(parseColumn([''])![0]));
  for (const t of ['inf', 'NaN', ' 1', '1 ', '+1', '1.', '.5', '1e', '1e+', '--1', '-', '0x10', '1_000', '1e400', '1e-400', '1,2']) assert.equal(parseColumn([t]), undefined, t);
  const integer: CsvColumnRole = { feature: 0, kept: -1, type: 'integer', digits: 9 };
  assert.deepEqual([...parseColumn(['12', '-7', '007', ''], integer)!], [12, -7, 7, Number.NaN]);
  for (const t of ['1.5', '1e3', '1234567890']) assert.equal(parseColumn([t], integer), undefined, t);
});

test('kept columns: integers as DuckDB writes them back, text as its bytes, empty as NULL', () => {
  const roles: CsvColumnRole[] = [
    { feature: -1, kept: 0, type: 'integer', digits: 18 },
    { feature: -1, kept: 1, type: 'text', digits: 0 },
    double(0),
  ];
  const bytes = Buffer.from('12,a b ,1.5\n-3,,2\n,x,\n');
  const matrix = new Float32Array(3);
  const kept = parseCsvRows(bytes, 0, bytes.length, 3, COMMA, roles, matrix)!;
  const text = (k: number, r: number) => (kept[k].nulls[r] ? null : bytes.toString('latin1', 0, 0) + Buffer.from(kept[k].bytes.subarray(r === 0 ? 0 : kept[k].ends[r - 1], kept[k].ends[r])).toString());
  assert.deepEqual([0, 1, 2].map((r) => text(0, r)), ['12', '-3', null]);
  assert.deepEqual([0, 1, 2].map((r) => text(1, r)), ['a b ', null, 'x']);
  assert.deepEqual([...matrix], [1.5, 2, Number.NaN]);
  const one = (line: string) => {
    const b = Buffer.from(`${line}\n`);
    return parseCsvRows(b, 0, b.length, 1, COMMA, roles, new Float32Array(1));
  };
  for (const line of ['007,a,1', '-0,a,1', '1,é,1', '1,#a,1', '1,a\r,1', '1,a', '1,a,1,2']) assert.equal(one(line), undefined, line);
  assert.ok(one('0,a,1'));
});
