/** A chunk's text, pinned byte for byte: a resumed job stitches parts written by other runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch } from '../../../src/models/index.js';
import { ChunkBytes, encodeChunk, outputLayout } from '../../../src/serving/jobs/encode.js';
import { KeptText } from '../../../src/serving/jobs/kept-text.js';

const out = Batch.from(
  [
    ['score', { dtype: 'float32', shape: [], data: new Float32Array([0.1, Number.NaN, -2.5]) }],
    ['flag', { dtype: 'bool', shape: [], data: new Uint8Array([1, 0, 1]) }],
    ['label', { dtype: 'string', shape: [], data: ['a,b', '', 'say "x"'] }],
    ['probs', { dtype: 'float64', shape: [2], data: new Float64Array([0.25, 0.75, Number.POSITIVE_INFINITY, 1e-7, 1, 0]) }],
  ],
  3,
);
const kept = [
  { name: 'id', type: 'BIGINT', bare: true },
  { name: 'note', type: 'VARCHAR', bare: false },
];
const keptValues = [
  ['1', 'nan', null],
  ['x', null, 'line\nbreak'],
].map(KeptText.of);
const layout = outputLayout(kept, out);
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

test('CSV: kept columns quoted as needed, numbers bare, missing and non-finite values empty', () => {
  assert.deepEqual(layout.map((c) => c.name), ['id', 'note', 'score', 'flag', 'label', 'probs_0', 'probs_1']);
  assert.equal(
    text(encodeChunk('csv', layout, keptValues, out)),
    ['1,x,0.10000000149011612,true,"a,b",0.25,0.75', 'nan,,,false,"",,1e-7', ',"line\nbreak",-2.5,true,"say ""x""",1,0', ''].join('\n'),
  );
});

test('JSON Lines: null for missing and non-numbers in number columns, text as JSON strings', () => {
  assert.equal(
    text(encodeChunk('jsonl', layout, keptValues, out)),
    [
      '{"id":1,"note":"x","score":0.10000000149011612,"flag":true,"label":"a,b","probs_0":0.25,"probs_1":0.75}',
      '{"id":null,"note":null,"score":null,"flag":false,"label":"","probs_0":null,"probs_1":1e-7}',
      '{"id":null,"note":"line\\nbreak","score":-2.5,"flag":true,"label":"say \\"x\\"","probs_0":1,"probs_1":0}',
      '',
    ].join('\n'),
  );
});

test('text beyond ASCII is written as UTF-8, and a reused buffer holds only the latest chunk', () => {
  const sink = new ChunkBytes();
  const one = Batch.from([['score', { dtype: 'float64', shape: [], data: new Float64Array([0.5, 2]) }]], 2);
  const wide = 'é'.repeat(40_000);
  const oneLayout = outputLayout([kept[1]], one);
  assert.equal(text(encodeChunk('csv', oneLayout, [KeptText.of(['café, "crème"', wide])], one, sink)), `"café, ""crème""",0.5\n${wide},2\n`);
  assert.equal(text(encodeChunk('jsonl', oneLayout, [KeptText.of(['naïve\u2028', null])], one, sink)), '{"note":"naïve\u2028","score":0.5}\n{"note":null,"score":2}\n');

  // A leading byte-order mark is text like any other, quoted or not.
  assert.equal(text(encodeChunk('csv', oneLayout, [KeptText.of(['\uFEFFa,b', '\uFEFFplain'])], one, sink)), '"\uFEFFa,b",0.5\n\uFEFFplain,2\n');
  assert.equal(text(encodeChunk('jsonl', oneLayout, [KeptText.of(['\uFEFFx', null])], one, sink)), '{"note":"\uFEFFx","score":0.5}\n{"note":null,"score":2}\n');
});

test('kept text reused for a later chunk holds only that chunk; an empty string is quoted, a missing value empty', () => {
  const note = KeptText.of(['stale', 'rows']);
  note.clear();
  for (const v of ['', null, 'x']) {
    if (v === null) note.pushNull();
    else note.push(Buffer.from(v), 0, v.length);
  }
  const three = Batch.from([['score', { dtype: 'float64', shape: [], data: new Float64Array([1, 2, 3]) }]], 3);
  assert.equal(text(encodeChunk('csv', outputLayout([kept[1]], three), [note], three)), '"",1\n,2\nx,3\n');
  assert.deepEqual([note.text(0), note.text(1), note.text(2)], ['', null, 'x']);
});
