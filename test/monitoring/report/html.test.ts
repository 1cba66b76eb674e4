import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/core/clock.js';
import { analyzeDrift, type DriftTable } from '../../../src/monitoring/drift/index.js';
import { formatNumber, renderDriftHtml, renderDriftJson } from '../../../src/monitoring/report/index.js';

const clock = new ManualClock(0);
const categories = Array.from({ length: 40 }, (_, i) => `cat${i}`);
const table = (source: string, shift: number): DriftTable => ({
  source,
  rowCount: 400,
  columns: [
    { name: '<script>alert(1)</script>', type: 'number', values: Float64Array.from({ length: 400 }, (_, i) => (i % 97) + shift) },
    { name: 'many', type: 'string', values: Array.from({ length: 400 }, (_, i) => categories[(i * 7 + shift) % 40]) },
    { name: 'empty', type: 'string', values: Array.from({ length: 400 }, () => (source === 'a.csv' ? null : 'x')) },
  ],
});

test('the HTML report escapes names, folds long category lists and shows skipped columns', () => {
  const report = analyzeDrift(table('a.csv', 0), table('b.csv', 30), {}, clock);
  const html = renderDriftHtml(report);
  assert.ok(!html.includes('<script>alert'), 'column names are escaped');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.match(html, /other \(25\)/, '40 categories shown as the top 15 and "other"');
  assert.match(html, /all values are missing in a\.csv/);
  assert.match(html, /Dataset drift detected|No dataset drift/);
  assert.doesNotMatch(html, /https?:\/\/|<script|<link|src=/i);
  assert.equal(JSON.parse(renderDriftJson(report)).summary.columns, 3);
});

test('numbers in the report: tiny p-values in exponent form, others to 4 significant digits', () => {
  assert.equal(formatNumber(7.819704242718157e-131), '7.82e-131');
  assert.equal(formatNumber(0.30620394329), '0.3062');
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(undefined), '–');
  assert.equal(formatNumber(12345678), '1.23e+7');
});
