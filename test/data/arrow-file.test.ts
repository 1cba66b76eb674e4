import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, Type } from 'apache-arrow';
import { DuckSession } from '../../src/data/source.js';
import { writeArrowFile } from '../../src/data/arrow-file.js';
import { tempDir } from '../helpers/services.js';

test('every column type is written with its Arrow type, nulls kept, over several record batches', async () => {
  const session = await DuckSession.open();
  const path = join(tempDir('arrow'), 'out.arrow');
  try {
    const rows = await writeArrowFile(
      session.con,
      `SELECT i::INTEGER AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5 END AS score, i % 2 = 0 AS even,
              CASE WHEN i % 5 = 0 THEN NULL ELSE 'r' || i END AS "label ""q""",
              TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(i) AS at_tz,
              TIMESTAMP '2026-01-01 12:30:00.000001' AS at, DATE '1969-12-31' + i::INTEGER AS day,
              12345678901234::BIGINT AS big, 3.25::DECIMAL(6,2) AS dec, [i] AS list
       FROM range(70000) t(i) ORDER BY i`,
      path,
    );
    assert.equal(rows, 70_000);
    const bytes = readFileSync(path);
    assert.equal(bytes.subarray(0, 6).toString('latin1'), 'ARROW1', 'an Arrow IPC file, not a stream');
    const table = tableFromIPC(bytes);
    assert.equal(table.numRows, 70_000);
    assert.equal(table.batches.length, 2);
    assert.deepEqual(
      table.schema.fields.map((f) => [f.name, Type[f.type.typeId]]),
      [['id', 'Int'], ['score', 'Float'], ['even', 'Bool'], ['label "q"', 'Utf8'], ['at_tz', 'Timestamp'], ['at', 'Timestamp'], ['day', 'Date'], ['big', 'Int'], ['dec', 'Float'], ['list', 'Utf8']],
    );
    const row = (i: number) => table.get(i)!.toJSON();
    // apache-arrow reads timestamps back as milliseconds; the stored microseconds are checked below.
    assert.deepEqual(row(1), { id: 1n, score: 0.5, even: false, 'label "q"': 'r1', at_tz: 1767225600000.001, at: 1767270600000.001, day: 0, big: 12345678901234n, dec: 3.25, list: '[1]' });
    assert.equal(table.getChild('at_tz')!.data[0].values[1], 1767225600000001n);
    assert.equal(table.getChild('at')!.data[1].values[0], 1767270600000001n);
    assert.equal(row(0).score, null);
    assert.equal(row(0)['label "q"'], null);
    assert.equal(row(69999).id, 69999n);
    assert.equal(row(69999).even, false);
    assert.equal((table.schema.fields[4].type as { timezone?: string }).timezone, 'UTC');
    assert.equal((table.schema.fields[5].type as { timezone?: string | null }).timezone ?? null, null);
    assert.equal(table.getChild('score')!.nullCount, 10_000);

    const ends = join(tempDir('arrow'), 'ends.arrow');
    await writeArrowFile(session.con, `SELECT 'infinity'::TIMESTAMP AS t, '-infinity'::DATE AS d, TIMESTAMP_NS '2026-01-01 00:00:00.000001999' AS ns`, ends);
    const edge = tableFromIPC(readFileSync(ends));
    assert.equal(edge.getChild('t')!.data[0].values[0], 2n ** 63n - 1n, 'infinity is the largest value, not a null');
    assert.equal(edge.getChild('d')!.data[0].values[0], -(2 ** 31) + 1);
    assert.equal(edge.getChild('ns')!.data[0].values[0], 1767225600000001n, 'nanoseconds are cut to microseconds');
  } finally {
    session.close();
  }
});

test('an empty result is a valid file with the schema; a read that fails part-way raises instead of ending short', async () => {
  const dir = tempDir('arrow');
  const session = await DuckSession.open();
  try {
    const empty = join(dir, 'empty.arrow');
    assert.equal(await writeArrowFile(session.con, 'SELECT 1.5 AS x WHERE false', empty), 0);
    const table = tableFromIPC(readFileSync(empty));
    assert.equal(table.numRows, 0);
    assert.deepEqual(table.schema.fields.map((f) => f.name), ['x']);

    const text = join(dir, 'text.arrow');
    await writeArrowFile(session.con, `SELECT * FROM (VALUES ('héllo 😀'), (NULL), (''), ('x')) t(s)`, text);
    assert.deepEqual([...tableFromIPC(readFileSync(text)).getChild('s')!], ['héllo 😀', null, '', 'x']);

    // A file that cannot be written is the call's error, not the process's end.
    await assert.rejects(writeArrowFile(session.con, 'SELECT i FROM range(300000) t(i)', join(dir, 'no-such-folder', 'x.arrow')), /ENOENT/);

    const csv = join(dir, 'late.csv');
    writeFileSync(csv, `v\n${Array.from({ length: 150_000 }, (_, i) => (i === 140_000 ? 'oops' : String(i))).join('\n')}\n`);
    await assert.rejects(
      writeArrowFile(session.con, `SELECT CAST(v AS BIGINT) AS v FROM read_csv('${csv}', header = true, all_varchar = true)`, join(dir, 'late.arrow'), 150_000),
      /oops/,
    );
  } finally {
    session.close();
  }
});
