import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckSession } from '../../src/data/source.js';
import { readerSql } from '../../src/data/read-table.js';
import { knownRows } from '../../src/data/row-count.js';
import { tempDir } from '../helpers/services.js';

test('rows known without parsing: from line breaks where they tell, else nothing', async () => {
  const dir = tempDir('rows');
  const session = await DuckSession.open();
  const rows = (name: string, text: string, format: 'csv' | 'jsonl') => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return knownRows(session.con, readerSql(path, format), path, format);
  };
  try {
    assert.equal(await rows('a.csv', 'v,w\n1,2\n3,4\n', 'csv'), 2);
    assert.equal(await rows('b.csv', 'v,w\n1,2\n3,4', 'csv'), 2, 'no final line break');
    assert.equal(await rows('c.csv', 'v,w\n"1",2\n', 'csv'), undefined, 'a quote can hide a line break');
    // DuckDB reads each empty line of a one-column file as a null row: 6 rows, 3 non-empty lines.
    assert.equal(await rows('d.csv', 'v\n1\n\n2\n\n\n3\n', 'csv'), undefined);
    assert.equal(Number((await session.rows(`SELECT count(*) FROM ${readerSql(join(dir, 'd.csv'), 'csv')}`))[0][0]), 6);
    assert.equal(await rows('e.jsonl', '{"v":1}\n\n{"v":2}\n', 'jsonl'), 2, 'JSON Lines skip empty lines, as DuckDB does');
  } finally {
    session.close();
  }
});
