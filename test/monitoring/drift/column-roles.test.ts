/** Ids and timestamps are reported but never counted in the drift verdict. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDrift, identityRole } from '../../../src/monitoring/drift/index.js';
import type { TableColumn } from '../../../src/data/read-table.js';

const n = 200;
const text = (name: string, f: (i: number) => string | null): TableColumn => ({ name, type: 'string', values: Array.from({ length: n }, (_, i) => f(i)) });
const num = (name: string, f: (i: number) => number): TableColumn => ({ name, type: 'number', values: Float64Array.from({ length: n }, (_, i) => f(i)) });

test('recognises ids and timestamps by their values and names, and nothing else', () => {
  assert.equal(identityRole(text('loan_ref', (i) => `L${i}`))?.role, 'id', 'unique text');
  assert.equal(identityRole(num('customer_id', (i) => i % 7))?.role, 'id', 'an entity key repeats and is still an id');
  assert.equal(identityRole(text('when', (i) => `2025-01-0${1 + (i % 9)} 00:02:20+00`))?.role, 'timestamp');
  assert.equal(identityRole(text('t', (i) => `2025-03-01T10:00:${String(i % 60).padStart(2, '0')}Z`))?.role, 'timestamp');
  assert.equal(identityRole(num('created_at', (i) => 1_700_000_000 + i))?.role, 'timestamp');
  assert.equal(identityRole(num('amount', (i) => i * 1.5)), undefined, 'unique numbers are a feature');
  assert.equal(identityRole(num('paid', (i) => i)), undefined, 'an id needs an id name when it is a number');
  assert.equal(identityRole(num('customerId', (i) => i % 3))?.role, 'id');
  assert.equal(identityRole(text('code', (i) => String(i))), undefined, 'numbers written as text are no id');
  assert.equal(identityRole(text('grade', (i) => 'ABC'[i % 3]!)), undefined);
  assert.equal(identityRole(text('few', (i) => (i < 5 ? `x${i}` : null))), undefined, 'too few values to call unique');
});

test('the verdict leaves them out and says so; naming them works and detection can be turned off', () => {
  const table = (shift: number) => ({
    rowCount: n,
    columns: [text('loan_id', (i) => `L${i + shift * 1000}`), text('ts', (i) => `2025-0${1 + shift}-01T00:00:00Z`), num('x', (i) => (i % 10) + 0.5), num('y', (i) => i % 4)],
  });
  const report = analyzeDrift(table(0), table(5));
  const byName = new Map(report.columns.map((c) => [c.column, c]));
  assert.equal(byName.get('loan_id')?.role, 'id');
  assert.equal(byName.get('ts')?.role, 'timestamp');
  assert.match((byName.get('loan_id') as { reason: string }).reason, /left out of the verdict: id column/);
  assert.deepEqual([report.summary.columns, report.summary.computed, report.summary.drifted, report.summary.datasetDrift], [4, 2, 0, false]);

  const named = analyzeDrift(table(0), table(5), { idColumns: ['y'], detectIdentity: false });
  assert.deepEqual(named.columns.map((c) => [c.column, c.role, c.computed]), [['loan_id', 'feature', true], ['ts', 'feature', true], ['x', 'feature', true], ['y', 'id', false]]);
  assert.equal(named.summary.drifted, 2, 'ids and timestamps always drift once compared');
  assert.throws(() => analyzeDrift(table(0), table(5), { timestampColumns: ['nope'] }), /no column "nope"/);
});
