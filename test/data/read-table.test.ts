import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { readTable, tableFormatOf, type NumericColumn, type TextColumn } from '../../src/data/read-table.js';
import { ModelportError } from '../../src/core/errors.js';

const fixture = fileURLToPath(new URL('../fixtures/drift/reference.csv', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'modelport-read-table-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ModelportError, `not a ModelportError: ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('readTable', () => {
  test('CSV: numbers become Float64Array with NaN for empty cells, text stays text', async () => {
    const t = await readTable(fixture);
    assert.equal(t.format, 'csv');
    assert.equal(t.rowCount, 5000);
    assert.deepEqual(
      t.columns.map((c) => [c.name, c.type]),
      [['age', 'number'], ['income', 'number'], ['score', 'number'], ['balance', 'number'], ['tenure', 'number'], ['region', 'string'], ['channel', 'string']],
    );
    const age = t.columns[0] as NumericColumn;
    assert.ok(age.values instanceof Float64Array);
    assert.deepEqual(Array.from(age.values.subarray(0, 4)), [58, 18, 42, 43]);
    const balance = t.columns[3] as NumericColumn;
    assert.equal(balance.values.filter(Number.isNaN).length, 397);
    assert.equal(balance.values[0], 1218.53);
    assert.deepEqual((t.columns[5] as TextColumn).values.slice(0, 3), ['north', 'south', 'east']);
  });

  test('a column subset, in the order asked', async () => {
    const t = await readTable(fixture, { columns: ['region', 'age'] });
    assert.deepEqual(t.columns.map((c) => c.name), ['region', 'age']);
    await rejectsWith(readTable(fixture, { columns: ['age', 'nope'] }), 'InvalidArgument', /no column "nope"; columns are age, income/);
  });

  test('JSON Lines with nulls, and a column of mixed types read as text', async () => {
    const p = file('rows.jsonl', '{"x": 1.5, "y": "a", "z": 1}\n{"x": null, "y": null, "z": "two"}\n{"x": 3, "y": "b", "z": 3}\n');
    const t = await readTable(p);
    assert.equal(t.format, 'jsonl');
    const [x, y, z] = t.columns;
    assert.equal(x.type, 'number');
    assert.deepEqual(Array.from(x.values as Float64Array), [1.5, Number.NaN, 3]);
    assert.deepEqual(y.values, ['a', null, 'b']);
    assert.equal(z.type, 'string');
    assert.deepEqual(z.values, ['1', 'two', '3']);
  });

  test('Parquet and TSV', async () => {
    const pq = join(dir, 'small.parquet');
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run(`COPY (SELECT i::INTEGER AS i, i * 0.5 AS half, 'k' || (i % 2) AS k, CASE WHEN i = 2 THEN NULL ELSE i END AS maybe FROM range(4) t(i)) TO '${pq}' (FORMAT parquet)`);
    con.closeSync();
    inst.closeSync();
    const t = await readTable(pq);
    assert.equal(t.format, 'parquet');
    assert.equal(t.rowCount, 4);
    assert.deepEqual(Array.from(t.columns[1].values as Float64Array), [0, 0.5, 1, 1.5]);
    assert.deepEqual(t.columns[2].values, ['k0', 'k1', 'k0', 'k1']);
    assert.deepEqual(Array.from(t.columns[3].values as Float64Array), [0, 1, Number.NaN, 3]);

    const tsv = await readTable(file('t.tsv', 'a\tb\n1\tx\n2\ty\n'));
    assert.deepEqual(tsv.columns.map((c) => c.type), ['number', 'string']);
  });

  test('errors name the file and, for CSV, the line', async () => {
    await rejectsWith(readTable(join(dir, 'missing.csv')), 'NotFound', /missing\.csv: no such file/);
    await rejectsWith(readTable(file('ragged.csv', 'a,b\n1,2\n3,4,5\n6,7\n')), 'InvalidArgument', /ragged\.csv: cannot read as csv: line 3: 3 fields, but the header has 2/);
    await rejectsWith(readTable(file('quote.csv', 'a,b\n1,2\n3,"x\n')), 'InvalidArgument', /quote\.csv: .*line 3: quoted field is never closed/);
    await rejectsWith(readTable(file('bad.jsonl', '{"a": 1}\n{"a": \n')), 'InvalidArgument', /bad\.jsonl: cannot read as jsonl: .*line/i);
    await rejectsWith(readTable(file('notparquet.parquet', 'a,b\n1,2\n')), 'InvalidArgument', /notparquet\.parquet: cannot read as parquet/);
    await rejectsWith(readTable(file('data.xlsx', 'x')), 'InvalidArgument', /data\.xlsx: unknown table format/);
    await rejectsWith(readTable(dir), 'InvalidArgument', /is a directory/);
  });

  test('a value that does not parse far past the sniffed rows fails the read instead of ending it early', async () => {
    // DuckDB's Node client ends a stream that failed after its first chunks as if it were complete.
    const lines = ['id,x'];
    for (let i = 0; i < 150_000; i++) lines.push(`${i},${i === 140_000 ? 'abc' : i}`);
    await rejectsWith(readTable(file('late-text.csv', `${lines.join('\n')}\n`)), 'InvalidArgument', /late-text\.csv: cannot read as csv: .*line:? 140002/i);
  });

  test('format from the extension', () => {
    assert.equal(tableFormatOf('a/b.CSV'), 'csv');
    assert.equal(tableFormatOf('x.ndjson'), 'jsonl');
    assert.equal(tableFormatOf('x.pq'), 'parquet');
    assert.equal(tableFormatOf('x.xlsx'), undefined);
  });
});
