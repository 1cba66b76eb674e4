import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatRows, packRows, rowAt, RowsBuilder, rowCount, sliceRows } from '../../src/storage/packed-rows.js';

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

test('a builder fills two areas of shared memory in turn, growing one only when a batch outgrows it', () => {
  const builder = new RowsBuilder(16);
  const put = (texts: string[]) => {
    const sizes = texts.map((s) => (Buffer.byteLength(s) + 7) & ~7);
    const area = builder.append(texts.length, sizes.reduce((a, b) => a + b, 0));
    let at = area.at;
    texts.forEach((s, i) => {
      const len = area.buf.write(s, at);
      area.bounds[area.boundsAt + 2 * i] = at;
      area.bounds[area.boundsAt + 2 * i + 1] = at + len;
      at += sizes[i];
    });
  };
  put(['one', 'two']);
  put(['a longer third row']);
  assert.equal(builder.rows, 3);
  const first = builder.take();
  assert.deepEqual(texts(first), ['one', 'two', 'a longer third row']);
  assert.ok(first.blob.buffer instanceof SharedArrayBuffer, 'a writer thread reads it where it lies');
  put(['four']);
  const second = builder.take();
  assert.deepEqual(texts(second), ['four']);
  assert.notEqual(second.blob.buffer, first.blob.buffer, 'the batch after a take does not touch the one taken');
  assert.deepEqual(texts(first), ['one', 'two', 'a longer third row']);
  put(['five']);
  assert.equal(builder.take().blob.buffer, first.blob.buffer, 'the first area serves again, grown as it was');
});
