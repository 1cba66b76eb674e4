import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Platform } from '../../../src/platform.js';
import { readTable, type TextColumn, type NumericColumn } from '../../../src/data/read-table.js';
import { runBatchJob, type Scorer } from '../../../src/serving/jobs/run.js';
import { deploymentScorer } from '../../../src/serving/jobs/scorer.js';
import { workDirOf } from '../../../src/serving/jobs/parts.js';
import { CsvDirect } from '../../../src/serving/jobs/csv-direct.js';
import { testPlatform } from '../../helpers/platform.js';
import { tempDir } from '../../helpers/services.js';
import { LOGREG, register, XGB } from '../helpers.js';
import { expectedProbabilities, makeInputs, type Inputs } from './helpers.js';

describe('batch jobs', () => {
  let platform: Platform;
  let scorer: Scorer;
  let inputs: Inputs;
  let dir: string;
  const expected = expectedProbabilities();

  before(async () => {
    platform = await testPlatform();
    await register(platform.services.registry, 'cancer', XGB, ['model.json']);
    await platform.services.serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    scorer = await deploymentScorer(platform.services.serving, 'cancer');
    dir = tempDir('mpjobs');
    inputs = await makeInputs(dir);
  });
  after(() => platform.close());

  test('CSV, JSON Lines and Parquet in, each format out: kept columns first, in order, predictions as XGBoost computes them', async () => {
    const csvOutputs: Buffer[] = [];
    for (const [inFormat, input] of Object.entries(inputs)) {
      for (const outFormat of ['csv', 'jsonl', 'parquet']) {
        const output = join(dir, `${inFormat}-to.${outFormat}`);
        const result = await runBatchJob({ deployment: 'cancer', input, output, keep: ['customer', 'id'], chunkRows: 25 }, scorer);
        assert.deepEqual([result.rows, result.chunks, result.resumedChunks], [114, 5, 0]);
        assert.ok(!existsSync(workDirOf(output)), 'the work folder is removed once the output is whole');
        const table = await readTable(output);
        assert.deepEqual(table.columns.map((c) => c.name), ['customer', 'id', 'margin', 'prediction'], `${inFormat} -> ${outFormat}`);
        assert.equal(table.rowCount, 114);
        const [customer, id, , prediction] = table.columns;
        assert.deepEqual(Array.from((id as NumericColumn).values), expected.map((_, i) => i));
        assert.equal((customer as TextColumn).values[7], 'c, "7"');
        (prediction as NumericColumn).values.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) <= 1e-5 * Math.max(1, expected[i]), `row ${i}: ${p} vs ${expected[i]}`));
        if (outFormat === 'csv') csvOutputs.push(readFileSync(output));
      }
    }
    assert.ok(csvOutputs.every((b) => b.equals(csvOutputs[0])), 'the same rows give the same bytes whatever the input format');
    assert.match(csvOutputs[0].toString().split('\n')[8], /^"c, ""7""",7,/);
  });

  test('rows read side by side for the model (its rowMajorInput) or a column per feature give the same bytes, missing values included', async () => {
    assert.equal(scorer.rowMajorInput?.name, 'features');
    const [header, ...rows] = readFileSync(inputs.csv, 'utf8').trim().split('\n');
    // Every 7th row loses a feature: NULL is read as NaN either way.
    const input = join(dir, 'gaps.csv');
    writeFileSync(input, `${[header, ...rows.map((r, i) => (i % 7 === 0 ? r.replace(/,[^,]*$/, ',') : r))].join('\n')}\n`);
    const columnwise: Scorer = { identity: scorer.identity, signature: scorer.signature, score: (b) => scorer.score(b) };
    const outputs: string[] = [];
    for (const [name, s] of [['rows', scorer], ['columns', columnwise]] as const) {
      const output = join(dir, `gaps-${name}.csv`);
      await runBatchJob({ deployment: 'cancer', input, output, keep: ['id', 'customer'], chunkRows: 30 }, s);
      outputs.push(readFileSync(output, 'utf8'));
    }
    assert.equal(outputs[0], outputs[1]);
    assert.equal(outputs[0].split('\n').length, 116);
  });

  test('a model of one vector input (ONNX float32[N, 30]) takes the feature columns, in file order, as its rows', async () => {
    await register(platform.services.registry, 'logreg', LOGREG, ['model.onnx']);
    await platform.services.serving.create({ name: 'logreg', model: 'logreg', version: 1 });
    const onnx = await deploymentScorer(platform.services.serving, 'logreg');
    const output = join(dir, 'logreg.csv');
    await runBatchJob({ deployment: 'logreg', input: inputs.parquet, output, keep: ['id', 'customer'], chunkRows: 50 }, onnx);
    const want = JSON.parse(readFileSync(join(LOGREG, 'expected.json'), 'utf8')) as { label: number[]; probabilities: number[][] };
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'id,customer,label,probabilities_0,probabilities_1');
    const rows = lines.slice(1).map((l) => l.split(',').slice(-3).map(Number));
    assert.deepEqual(rows.map((r) => r[0]), want.label);
    rows.forEach((r, i) => assert.ok(Math.abs(r[2] - want.probabilities[i][1]) < 1e-5, `row ${i}: ${r[2]} vs ${want.probabilities[i][1]}`));
  });

  test('kept text is copied as read: long and non-ASCII values, a missing value, one needing quotes', async () => {
    const [header, ...rows] = readFileSync(join(XGB, 'input.csv'), 'utf8').trim().split('\n');
    // DuckDB keeps a value of up to 12 bytes inside its vector and a longer one behind a pointer.
    const notes = ['short', 'a note well past twelve bytes, ünïcode', '', 'abcdefghijklmnopqrstuvwxyzé'];
    const input = join(dir, 'notes.csv');
    writeFileSync(input, `note,${header}\n${notes.map((n, i) => `${n.includes(',') ? `"${n}"` : n},${rows[i]}`).join('\n')}\n`);
    const output = join(dir, 'notes-out.csv');
    await runBatchJob({ deployment: 'cancer', input, output, keep: ['note'], chunkRows: 2 }, scorer);
    const cells = readFileSync(output, 'utf8').trim().split('\n').slice(1).map((l) => l.slice(0, l.lastIndexOf(',', l.lastIndexOf(',') - 1)));
    assert.deepEqual(cells, ['short', '"a note well past twelve bytes, ünïcode"', '', 'abcdefghijklmnopqrstuvwxyzé']);
  });

  test('a value that does not parse far into the input fails the job instead of cutting its output short', async () => {
    // DuckDB's Node client ends a stream that failed after its first chunks as if it were complete.
    const big = await makeInputs(tempDir('mpjobs-late'), 1300);
    const lines = readFileSync(big.csv, 'utf8').split('\n');
    const cells = lines[140_001].split(',');
    cells[cells.length - 30] = 'abc';
    lines[140_001] = cells.join(',');
    writeFileSync(big.csv, lines.join('\n'));
    const output = join(dir, 'late.csv');
    await assert.rejects(runBatchJob({ deployment: 'cancer', input: big.csv, output, keep: ['id', 'customer'], chunkRows: 10_000 }, scorer), /input\.csv: cannot read as csv: .*line:? 140002/i);
    assert.equal(existsSync(output), false, 'no output is written');
  });

  test('columns are checked before any work, naming every missing, extra and mistyped one', async () => {
    const [header, ...rows] = readFileSync(inputs.csv, 'utf8').trim().split('\n');
    const cols = header.split(',');
    // Drops mean_radius, turns mean_texture into text, adds "note".
    const fix = (cells: string[]) => [...cells.slice(0, 2), 'n', ...cells.slice(3, 4).map((c) => (c === 'mean_texture' ? c : `x${c}`)), ...cells.slice(5)];
    const bad = join(dir, 'bad.csv');
    const all = [header, ...rows].map((l) => l.replace(/^(\d+),"c, ""\d+""",/, '$1,c,').split(','));
    writeFileSync(bad, `${[['id', 'customer', 'note', 'mean_texture', ...cols.slice(5)], ...all.slice(1).map(fix)].map((r) => r.join(',')).join('\n')}\n`);
    const output = join(dir, 'bad.csv.out.csv');
    await assert.rejects(runBatchJob({ deployment: 'cancer', input: bad, output, keep: ['id', 'customer'] }, scorer), (err: Error) => {
      assert.match(err.message, /missing "mean_radius" \(float32\)/);
      assert.match(err.message, /extra "note"/);
      assert.match(err.message, /mistyped: "mean_texture" is VARCHAR, the model expects float32/);
      return true;
    });
    assert.ok(!existsSync(workDirOf(output)), 'nothing was started');
    await assert.rejects(runBatchJob({ deployment: 'cancer', input: inputs.csv, output: join(dir, 'x.xlsx') }, scorer), /--output: ".*x\.xlsx" has an unknown format "\.xlsx"/);
    await assert.rejects(runBatchJob({ deployment: 'cancer', input: inputs.csv, output: join(dir, 'y.csv'), keep: ['id', 'nope'] }, scorer), /--keep: no column "nope"/);
    await assert.rejects(runBatchJob({ deployment: 'cancer', input: join(dir, 'absent.csv'), output: join(dir, 'y.csv') }, scorer), /--input: .*absent\.csv: no such file/);
  });

  test('a plain CSV file (no quotes) is parsed on threads of its own into the same bytes DuckDB gives; a chunk that is not plain hands over to DuckDB', async () => {
    const plainDir = tempDir('mpjobs-plain');
    const big = await makeInputs(plainDir, 30);
    // The same rows without the quoted text column: plain CSV, and Parquet for DuckDB to read them from.
    const lines = readFileSync(big.csv, 'utf8').trim().split('\n').map((l) => l.replace(/^(\d+),"c, ""\d+""",/, '$1,').replace(/^id,customer,/, 'id,'));
    const plain = join(plainDir, 'plain.csv');
    writeFileSync(plain, `${lines.join('\n')}\n`);
    const names = lines[0].split(',');
    const roles = names.map((_, c) => (c === 0 ? { feature: -1, kept: 0, type: 'integer' as const, digits: 18 } : { feature: c - 1, kept: -1, type: 'double' as const, digits: 0 }));
    const direct = await CsvDirect.open(plain, ',', names, roles, 1000);
    await direct?.close();
    assert.deepEqual({ rows: direct?.layout.rows, starts: direct?.layout.starts.length }, { rows: 3420, starts: 5 });
    assert.equal(await CsvDirect.open(big.csv, ',', ['id', 'customer', ...names.slice(1)], roles, 1000), undefined, 'a file with quotes is left to DuckDB');
    const parquetOf = async (rows: string[], name: string) => {
      const csv = join(plainDir, `${name}-rows.csv`);
      const parquet = join(plainDir, `${name}.parquet`);
      writeFileSync(csv, `${rows.join('\n')}\n`);
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      await con.run(`COPY (SELECT * FROM read_csv('${csv}', header = true)) TO '${parquet}' (FORMAT PARQUET)`);
      con.closeSync();
      db.closeSync();
      return parquet;
    };
    const viaDuckdb = await parquetOf(lines, 'plain');
    for (const format of ['csv', 'jsonl']) {
      const direct = join(plainDir, `direct.${format}`);
      const duck = join(plainDir, `duck.${format}`);
      await runBatchJob({ deployment: 'cancer', input: plain, output: direct, keep: ['id'], chunkRows: 1000 }, scorer);
      await runBatchJob({ deployment: 'cancer', input: viaDuckdb, output: duck, keep: ['id'], chunkRows: 1000 }, scorer);
      assert.ok(readFileSync(direct).equals(readFileSync(duck)), `${format}: the same bytes`);
    }
    // DuckDB takes " 2.5" (it trims a number's spaces), the parser here does not: chunk 2 on is DuckDB's.
    const spaced = lines.map((l, i) => (i === 2500 ? l.replace(/,([^,]*)$/, ', $1') : l));
    writeFileSync(plain, `${spaced.join('\n')}\n`);
    const handed = join(plainDir, 'handed.csv');
    const spacedOut = join(plainDir, 'spaced.csv');
    await runBatchJob({ deployment: 'cancer', input: plain, output: handed, keep: ['id'], chunkRows: 1000 }, scorer);
    await runBatchJob({ deployment: 'cancer', input: await parquetOf(spaced, 'spaced'), output: spacedOut, keep: ['id'], chunkRows: 1000 }, scorer);
    assert.ok(readFileSync(handed).equals(readFileSync(spacedOut)));
    // A value nothing reads, past DuckDB's sample for typing the columns, fails the job with DuckDB's message, naming the line.
    const more = [lines[0], ...Array.from({ length: 7 }, () => lines.slice(1)).flat()];
    writeFileSync(plain, `${more.map((l, i) => (i === 22_001 ? l.replace(/,[^,]*$/, ',abc') : l)).join('\n')}\n`);
    const bad = join(plainDir, 'bad.csv');
    await assert.rejects(runBatchJob({ deployment: 'cancer', input: plain, output: bad, keep: ['id'], chunkRows: 1000 }, scorer), /plain\.csv: cannot read as csv: .*line:? 22002/i);
    assert.equal(existsSync(bad), false);
    // Stopped and resumed, the threads parse only the chunks not committed, to the same bytes.
    writeFileSync(plain, `${lines.join('\n')}\n`);
    const resumed = join(plainDir, 'resumed.csv');
    const stop = new AbortController();
    let scored = 0;
    const job = { deployment: 'cancer', input: plain, output: resumed, keep: ['id'], chunkRows: 300 };
    await assert.rejects(runBatchJob(job, scorer, { signal: stop.signal, onChunk: () => ++scored === 3 && stop.abort() }), /abort/i);
    const committed = readdirSync(workDirOf(resumed)).filter((f) => f.startsWith('part-')).length;
    assert.ok(committed >= 3 && committed < 12, `${committed} chunks committed`);
    const result = await runBatchJob(job, scorer);
    assert.equal(result.resumedChunks, committed);
    assert.ok(readFileSync(resumed).equals(readFileSync(join(plainDir, 'direct.csv'))), 'resumed output is byte-identical');
  });

  test('a stopped job resumes from its committed chunks to the same bytes; other arguments are refused, naming them', async () => {
    const whole = join(dir, 'whole.parquet');
    await runBatchJob({ deployment: 'cancer', input: inputs.parquet, output: whole, keep: ['id', 'customer'], chunkRows: 10 }, scorer);
    const output = join(dir, 'resumed.parquet');
    const stop = new AbortController();
    let scored = 0;
    await assert.rejects(
      runBatchJob({ deployment: 'cancer', input: inputs.parquet, output, keep: ['id', 'customer'], chunkRows: 10 }, scorer, {
        signal: stop.signal,
        onChunk: () => ++scored === 3 && stop.abort(),
      }),
      /abort/i,
    );
    assert.ok(!existsSync(output));
    const committed = readdirSync(workDirOf(output)).filter((f) => f.startsWith('part-')).length;
    assert.ok(committed >= 3 && committed < 12, `${committed} chunks committed`);
    await assert.rejects(
      runBatchJob({ deployment: 'cancer', input: inputs.parquet, output, keep: ['id', 'customer'], chunkRows: 20 }, scorer),
      /used other arguments \(--batch-size: was 10, now 20\)/,
    );
    await assert.rejects(
      runBatchJob({ deployment: 'cancer', input: inputs.parquet, output, keep: ['customer', 'id'], chunkRows: 10 }, scorer),
      /--keep: was \["id","customer"\], now \["customer","id"\]/,
    );
    let started: [number, number] | undefined;
    const result = await runBatchJob({ deployment: 'cancer', input: inputs.parquet, output, keep: ['id', 'customer'], chunkRows: 10 }, scorer, {
      onStart: (total, done) => (started = [total, done]),
    });
    assert.deepEqual(started, [114, committed * 10]);
    assert.equal(result.resumedChunks, committed);
    assert.ok(readFileSync(output).equals(readFileSync(whole)), 'resumed output is byte-identical');
  });
});
