/** Every anomaly kind, the drift comparators' numbers, and schema inference and editing rules. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckSession } from '../../src/data/source.js';
import { loadColumns, type MemoryColumn } from '../../src/data/memory.js';
import { profileRelation, type ProfileColumn } from '../../src/data/profile.js';
import { validateRelation } from '../../src/data/validate.js';
import { inferSchema, checkSchema } from '../../src/data/schema.js';
import { lInfinity, histogramJensenShannon, rebucket } from '../../src/data/compare.js';
import type { Anomaly, ColumnSchema, DatasetSchema, Profile } from '../../src/data/types.js';
import { ModelportError } from '../../src/core/errors.js';

async function withSession<T>(fn: (s: DuckSession) => Promise<T>): Promise<T> {
  const s = await DuckSession.open();
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

async function profileOf(columns: MemoryColumn[]): Promise<Profile> {
  return withSession(async (s) => {
    const rel = await loadColumns(s, columns);
    return profileRelation(s, rel.from, rel.columns.map((c): ProfileColumn => ({ ...c, expr: `"${c.name}"` })));
  });
}

async function validate(schema: DatasetSchema, columns: MemoryColumn[], previous?: Profile): Promise<Anomaly[]> {
  return withSession(async (s) => {
    const { report } = await validateRelation(await loadColumns(s, columns), schema, previous ? { version: 1, profile: previous } : undefined);
    assert.equal(report.valid, report.anomalies.length === 0);
    return report.anomalies;
  });
}

const col = (c: Partial<ColumnSchema> & Pick<ColumnSchema, 'name' | 'type'>): ColumnSchema => ({ required: true, ...c });

describe('anomaly kinds', () => {
  test('data matching its schema has no anomalies', async () => {
    const schema: DatasetSchema = {
      columns: [col({ name: 'id', type: 'string', unique: true, pattern: 'L\\d{3}' }), col({ name: 'x', type: 'int', min: 0, max: 10, minPresence: 1 })],
    };
    assert.deepEqual(await validate(schema, [{ name: 'id', values: ['L001', 'L002'] }, { name: 'x', values: [0, 10] }]), []);
  });

  test('missing_column and new_column; an optional column may be absent', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'a', type: 'int' }), col({ name: 'b', type: 'string' }), col({ name: 'c', type: 'float', required: false })] };
    const anomalies = await validate(schema, [{ name: 'a', values: [1] }, { name: 'z', values: ['q'] }]);
    assert.deepEqual(
      anomalies.map((a) => [a.kind, a.column, a.expected, a.seen]),
      [
        ['missing_column', 'b', 'a string column', 'no such column'],
        ['new_column', 'z', 'no such column', 'a string column'],
      ],
    );
  });

  test('type_mismatch names the rows and values that are not of the type', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'n', type: 'int' }), col({ name: 'f', type: 'float' }), col({ name: 'b', type: 'bool' }), col({ name: 't', type: 'timestamp' })] };
    const anomalies = await validate(schema, [
      { name: 'n', values: ['1', '2.5', 'x', null, '4'] },
      { name: 'f', values: ['1.5', '1e3', 'abc', '2', '3'] },
      { name: 'b', values: ['true', 'false', 'maybe', 'true', null] },
      { name: 't', values: ['2025-01-01T00:00:00Z', 'yesterday', null, '2025-02-01', '2025-03-01 10:00:00'] },
    ]);
    assert.deepEqual(
      anomalies.map((a) => [a.kind, a.column, a.expected, a.count, a.examples]),
      [
        ['type_mismatch', 'n', 'int', 2, [{ row: 1, value: '2.5' }, { row: 2, value: 'x' }]],
        ['type_mismatch', 'f', 'float', 1, [{ row: 2, value: 'abc' }]],
        ['type_mismatch', 'b', 'bool', 1, [{ row: 2, value: 'maybe' }]],
        ['type_mismatch', 't', 'timestamp', 1, [{ row: 1, value: 'yesterday' }]],
      ],
    );
    assert.match(anomalies[0].message, /column "n": expected int, but 2 values are not: "2\.5" \(row 1\), "x" \(row 2\)/);
  });

  test('out_of_range below the minimum and above the maximum', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'x', type: 'float', min: 0, max: 1 })] };
    const anomalies = await validate(schema, [{ name: 'x', values: new Float64Array([0.5, -0.25, 1, 1.5, 0, 3]) }]);
    assert.deepEqual(
      anomalies.map((a) => [a.kind, a.expected, a.count, a.examples?.map((e) => e.row)]),
      [
        ['out_of_range', '>= 0', 1, [1]],
        ['out_of_range', '<= 1', 2, [3, 5]],
      ],
    );
  });

  test('out_of_domain lists the unexpected values', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'h', type: 'string', domain: ['OWN', 'RENT'] })] };
    const [a] = await validate(schema, [{ name: 'h', values: ['OWN', 'OTHER', 'RENT', null, 'OTHER', 'BOAT'] }]);
    assert.equal(a.kind, 'out_of_domain');
    assert.equal(a.count, 3);
    assert.equal(a.expected, 'one of "OWN", "RENT"');
    assert.equal(a.seen, '"OTHER", "BOAT" in 3 rows');
    assert.deepEqual(a.examples!.map((e) => e.row), [1, 4, 5]);
  });

  test('too_many_missing fires below the minimum presence only', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'x', type: 'float', minPresence: 0.5 })] };
    assert.deepEqual(await validate(schema, [{ name: 'x', values: new Float64Array([1, NaN, 2, NaN]) }]), []);
    const [a] = await validate(schema, [{ name: 'x', values: new Float64Array([1, NaN, NaN, NaN]) }]);
    assert.equal(a.kind, 'too_many_missing');
    assert.equal(a.count, 3);
    assert.equal(a.seen, '25% present (3 of 4 rows missing)');
    assert.deepEqual(a.examples!.map((e) => e.row), [1, 2, 3]);
  });

  test('not_unique counts repeated rows and shows the repeated values', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'id', type: 'string', unique: true })] };
    const [a] = await validate(schema, [{ name: 'id', values: ['a', 'b', 'a', 'c', 'a', 'b', null, null] }]);
    assert.equal(a.kind, 'not_unique');
    assert.equal(a.count, 3);
    assert.match(a.seen, /"a" ×3, "b" ×2/);
  });

  test('pattern_mismatch', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'id', type: 'string', pattern: 'L[0-9]{6}' })] };
    const [a] = await validate(schema, [{ name: 'id', values: ['L000001', 'X1', 'L0000012', null] }]);
    assert.equal(a.kind, 'pattern_mismatch');
    assert.deepEqual(a.examples, [{ row: 1, value: 'X1' }, { row: 2, value: 'L0000012' }]);
  });

  test('no_rows', async () => {
    const schema: DatasetSchema = { columns: [col({ name: 'x', type: 'float' })] };
    const anomalies = await validate(schema, [{ name: 'x', values: new Float64Array(0) }]);
    assert.deepEqual(anomalies.map((a) => a.kind), ['no_rows']);
  });

  test('drift_l_infinity and drift_jensen_shannon against the previous profile, only past their thresholds', async () => {
    const before = await profileOf([
      { name: 'c', values: [...Array(60).fill('a'), ...Array(40).fill('b')] },
      { name: 'x', values: Float64Array.from({ length: 100 }, (_, i) => i) },
    ]);
    const schema: DatasetSchema = {
      columns: [col({ name: 'c', type: 'string', drift: { infinityNorm: 0.1 } }), col({ name: 'x', type: 'float', drift: { jensenShannon: 0.1 } })],
    };
    const same = [
      { name: 'c', values: [...Array(55).fill('a'), ...Array(45).fill('b')] },
      { name: 'x', values: Float64Array.from({ length: 100 }, (_, i) => 99 - i) },
    ];
    assert.deepEqual(await validate(schema, same, before), [], 'small changes stay under the thresholds');
    const shifted = [
      { name: 'c', values: [...Array(30).fill('a'), ...Array(50).fill('b'), ...Array(20).fill('z')] },
      { name: 'x', values: Float64Array.from({ length: 100 }, (_, i) => 50 + i) },
    ];
    const anomalies = await validate(schema, shifted, before);
    assert.deepEqual(anomalies.map((a) => [a.kind, a.column]), [['drift_l_infinity', 'c'], ['drift_jensen_shannon', 'x']]);
    assert.ok(Math.abs(anomalies[0].value! - 0.3) < 1e-12, `L∞ ${anomalies[0].value}`);
    assert.match(anomalies[0].seen, /value "a": 60\.0% → 30\.0%/);
    // x moved by half its range: on aligned buckets [0, 49.5] has 1/2 vs 0, (49.5, 99] 1/2 vs ~1/2, (99, 149] 0 vs ~1/2.
    assert.ok(anomalies[1].value! > 0.45 && anomalies[1].value! < 0.55, `JS ${anomalies[1].value}`);
  });
});

describe('drift comparators', () => {
  test('L-infinity: the largest share difference and its value', () => {
    const d = lInfinity(
      [{ value: 'a', count: 50 }, { value: 'b', count: 30 }, { value: 'c', count: 20 }],
      [{ value: 'a', count: 20 }, { value: 'b', count: 20 }, { value: 'd', count: 10 }],
    );
    // a 0.5 → 0.4, b 0.3 → 0.4, c 0.2 → 0, d 0 → 0.2: a tie at 0.2, reported for the first value in text order.
    assert.deepEqual(d, { distance: 0.2, value: 'c' });
  });

  test('Jensen–Shannon on identical, disjoint and half-overlapping histograms', () => {
    const h = (low: number, high: number, count: number) => ({ low, high, count });
    assert.equal(histogramJensenShannon([h(0, 1, 5), h(1, 2, 5)], [h(0, 1, 50), h(1, 2, 50)]), 0);
    assert.ok(Math.abs(histogramJensenShannon([h(0, 1, 10)], [h(2, 3, 10)])! - 1) < 1e-12, 'disjoint supports: 1 bit');
    // p = (1/2, 1/2, 0), q = (0, 1/2, 1/2): JS = 1/2 bit.
    const js = histogramJensenShannon([h(0, 2, 10)], [h(1, 3, 10)])!;
    assert.ok(Math.abs(js - 0.5) < 1e-12, `${js}`);
  });

  test('rebucketing spreads a bucket uniformly and keeps a point mass whole', () => {
    assert.deepEqual(Array.from(rebucket([{ low: 0, high: 4, count: 8 }], [0, 1, 4, 6])), [2, 6, 0]);
    assert.deepEqual(Array.from(rebucket([{ low: 5, high: 5, count: 3 }], [0, 1, 4, 6])), [0, 0, 3]);
  });
});

describe('schema inference and editing', () => {
  test('inferred rules follow the profile', async () => {
    const profile = await profileOf([
      { name: 'id', values: ['a', 'b', 'c', 'd'] },
      { name: 'n', values: [1, 2, 2, 3] },
      { name: 'share', values: [0.1, 0.5, 0.5, 1] },
      { name: 'neg', values: [-1, 2, 2, 3.5] },
      { name: 'cat', values: ['x', 'y', 'x', null] },
      { name: 'flag', values: [true, false, true, true] },
    ]);
    const schema = inferSchema(profile);
    assert.deepEqual(schema.columns, [
      { name: 'id', type: 'string', required: true, minPresence: 1, unique: true },
      { name: 'n', type: 'float', required: true, minPresence: 1, min: 0, drift: { jensenShannon: 0.1 } },
      { name: 'share', type: 'float', required: true, minPresence: 1, min: 0, max: 1, drift: { jensenShannon: 0.1 } },
      { name: 'neg', type: 'float', required: true, minPresence: 1, drift: { jensenShannon: 0.1 } },
      { name: 'cat', type: 'string', required: true, domain: ['x', 'y'], drift: { infinityNorm: 0.1 } },
      { name: 'flag', type: 'bool', required: true, minPresence: 1, drift: { infinityNorm: 0.1 } },
    ]);
  });

  test('an edited schema is checked column by column', () => {
    const bad: [unknown, RegExp][] = [
      [{ columns: [{ name: 'a', type: 'decimal', required: true }] }, /schema\.columns\.0\.type/],
      [{ columns: [{ name: 'a', type: 'int' }] }, /schema\.columns\.0\.required/],
      [{ columns: [{ name: 'a', type: 'int', required: true, colour: 'red' }] }, /schema\.columns\.0/],
      [{ columns: [{ name: 'a', type: 'int', required: true }, { name: 'a', type: 'int', required: true }] }, /column "a" appears twice/],
      [{ columns: [{ name: 'a', type: 'int', required: true, min: 5, max: 1 }] }, /column "a": min 5 is above max 1/],
      [{ columns: [{ name: 'a', type: 'string', required: true, min: 0 }] }, /column "a": min\/max apply to int and float columns/],
      [{ columns: [{ name: 'a', type: 'int', required: true, domain: ['1'] }] }, /column "a": a domain applies to string columns/],
      [{ columns: [{ name: 'a', type: 'string', required: true, pattern: '(' }] }, /column "a": pattern is not a regular expression/],
      [{ columns: [{ name: 'a', type: 'int', required: true, minPresence: 2 }] }, /schema\.columns\.0\.minPresence/],
    ];
    for (const [schema, message] of bad) {
      assert.throws(() => checkSchema(schema), (err: unknown) => err instanceof ModelportError && err.code === 'InvalidArgument' && message.test(err.message));
    }
    const ok = { columns: [{ name: 'a', type: 'int', required: false, min: 0, max: 9, unique: true, drift: { jensenShannon: 0.05 } }] };
    assert.deepEqual(checkSchema(ok), ok);
  });
});
