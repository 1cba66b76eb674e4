/** The online response's bytes: JSON.stringify's text, whatever the values, and shared lists written alike. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { onlineResponseJson } from '../../src/features/response-json.js';
import type { FeatureStatus, OnlineResponse, Value } from '../../src/features/types.js';

const asJson = (res: OnlineResponse) => JSON.stringify({ metadata: res.metadata, results: res.results.map((r) => ({ values: r.values, statuses: r.statuses, event_timestamps: r.event_timestamps })) });

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('online response JSON', () => {
  test('numbers are written as JSON.stringify writes them', () => {
    const next = random(7);
    const values: number[] = [0, -0, 1, -1, 0.1, 0.2, 0.3, 1e-6, 1e-7, -1e-7, 1.5e-6, 0.000001, 0.0000015, 123456.789, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 0.5, 2 ** 53, 1e21, 1e20, -1e21, 5e-324, Number.MAX_VALUE, 0.1 + 0.2, 1 / 3, 2147483.647, 999999.9999995, 9.999999, 99999999.9];
    for (let i = 0; i < 20_000; i++) {
      const scale = 10 ** Math.floor(next() * 16 - 8);
      const places = Math.floor(next() * 9);
      const raw = (next() - 0.5) * scale;
      values.push(raw, Math.round(raw * 10 ** places) / 10 ** places, Math.round(raw));
    }
    const res: OnlineResponse = { metadata: { feature_names: ['x'] }, results: [{ values, statuses: values.map(() => 'PRESENT'), event_timestamps: values.map(() => null) }] };
    const text = onlineResponseJson(res).toString('utf8');
    assert.equal(text, asJson(res));
  });

  test('strings, booleans, nulls and non-finite numbers as JSON.stringify writes them', () => {
    const values: Value[] = ['plain', '', 'quote " and \\ back', 'tab\tnew\nline\u0001', 'é ü 中文 😀', '\ud800 lone', true, false, null, NaN, Infinity, -Infinity, 10022];
    const res: OnlineResponse = {
      metadata: { feature_names: ['id', 'naïve "name"'] },
      results: [
        { values, statuses: values.map(() => 'PRESENT'), event_timestamps: values.map(() => null) },
        { values: values.map(() => 'x'.repeat(70_000)), statuses: values.map(() => 'NULL_VALUE'), event_timestamps: values.map((_, i) => (i % 2 ? '2025-01-01T00:00:00.000Z' : null)) },
      ],
    };
    assert.equal(onlineResponseJson(res).toString('utf8'), asJson(res));
  });

  test('lists shared between columns read the same as lists of their own', () => {
    const statuses: FeatureStatus[] = ['PRESENT', 'NOT_FOUND', 'OUTSIDE_MAX_AGE'];
    const times = ['2025-01-02T00:00:00.000Z', null, '2024-01-01T00:00:00.000Z'];
    const res: OnlineResponse = {
      metadata: { feature_names: ['a', 'b', 'c'] },
      results: [
        { values: [1.25, null, null], statuses, event_timestamps: times },
        { values: ['s', null, null], statuses: [...statuses], event_timestamps: times },
        { values: [true, null, null], statuses, event_timestamps: [...times] },
      ],
    };
    const first = onlineResponseJson(res);
    assert.equal(first.toString('utf8'), asJson(res));
    // Each answer is memory of its own: the next one does not write over it.
    onlineResponseJson({ metadata: { feature_names: ['zzz'] }, results: [] });
    assert.equal(first.toString('utf8'), asJson(res));
  });
});
