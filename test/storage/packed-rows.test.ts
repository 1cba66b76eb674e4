import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatRows, packRows, rowAt, rowCount, sliceRows } from '../../src/storage/packed-rows.js';

const texts = (rows: ReturnType<typeof packRows>) => Array.from({ length: rowCount(rows) }, (_, i) => rowAt(rows, i).toString());

test('rows pack, slice and join without losing or moving a byte', () => {
  const a = packRows(['alpha', '', 'gamma'].map((s) => Buffer.from(s)));
  assert.deepEqual(texts(a), ['alpha', '', 'gamma']);
  assert.equal(a.blob.length, 10, 'packed rows hold their bytes alone');
  // Rows with gaps between them, as an encoder aligning each row leaves them.
  const gappy = { blob: Buffer.from('ab..cde...f'), bounds: Uint32Array.of(0, 2, 4, 7, 10, 11) };
  const mid = sliceRows(gappy, 1, 3);
  assert.deepEqual(texts(mid), ['cde', 'f']);
  assert.equal(mid.blob.buffer, gappy.blob.buffer, 'a slice is a view');
  assert.deepEqual(Array.from(mid.bounds), [0, 3, 6, 7]);
  assert.equal(rowCount(sliceRows(gappy, 2, 2)), 0);
  const joined = concatRows([a, mid, sliceRows(a, 0, 0), gappy]);
  assert.deepEqual(texts(joined), ['alpha', '', 'gamma', 'cde', 'f', 'ab', 'cde', 'f']);
  assert.equal(joined.blob.byteOffset, 0);
  assert.equal(joined.blob.byteLength, joined.blob.buffer.byteLength, 'a joined blob fills its own memory, so it can move to a thread');
});
