/** The datasets service as one contract, run on SQLite and on PostgreSQL. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync, mkdirSync, readdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { openMetadataStore, migrate, type MetadataStore } from '../../src/storage/metadata.js';
import { coreMigrations } from '../../src/storage/core-migrations.js';
import { openFileBlobStore } from '../../src/storage/blobs-file.js';
import { readBlob, type BlobStore } from '../../src/storage/blobs.js';
import { parseStoreUri } from '../../src/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { ModelportError } from '../../src/core/errors.js';
import { DatasetsService, datasetMigrations, parseVersionRef } from '../../src/data/index.js';
import { tempDir, postgresSkip, freshPostgresUri, dropSchema } from '../helpers/services.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/loans/', import.meta.url));
const LOANS = join(FIXTURES, 'loans.csv');
const SHIFTED = join(FIXTURES, 'loans_shifted.csv');
const CORRUPTED = join(FIXTURES, 'loans_corrupted.csv');
const ISSUES = JSON.parse(readFileSync(join(FIXTURES, 'loans_corrupted_issues.json'), 'utf8'));

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function csvColumn(path: string, name: string): string[] {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const i = header.split(',').indexOf(name);
  return lines.map((l) => l.split(',')[i]);
}

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ModelportError, `not a ModelportError: ${err}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return true;
  });
}

/** Files with problems a registration must refuse, each with the message it must give. */
async function badInputs(dir: string): Promise<[string, string, RegExp][]> {
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const pq = join(dir, 'good.parquet');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`COPY (SELECT i AS x FROM range(1000) t(i)) TO '${pq}' (FORMAT parquet)`);
  con.closeSync();
  inst.closeSync();
  const bytes = readFileSync(pq);
  writeFileSync(join(dir, 'truncated.parquet'), bytes.subarray(0, bytes.length - 200));
  const ints = Array.from({ length: 30000 }, (_, i) => String(i)).join('\n');
  return [
    [join(dir, 'absent.csv'), 'NotFound', /absent\.csv: no such file or folder/],
    [join(dir, 'truncated.parquet'), 'InvalidArgument', /truncated\.parquet: not a Parquet file, or truncated/],
    [file('text.parquet', 'hello, not parquet'), 'InvalidArgument', /text\.parquet: not a Parquet file/],
    [file('ragged.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n'), 'InvalidArgument', /ragged\.csv: line 3: Expected Number of Columns: 3 Found: 2/],
    [file('cut.csv', 'a,b,c\n1,2,3\n4,"5'), 'InvalidArgument', /cut\.csv: line 3: Value with unterminated quote found/],
    [file('mixed.csv', `x\n${ints}\nabc\n7\n`), 'InvalidArgument', /mixed\.csv: line 30002, column "x": "abc" is not BIGINT like the values above it \(mixed types in one column\)/],
    [file('header.csv', 'a,b,c\n'), 'InvalidArgument', /header\.csv: no data rows \(only a header\)/],
    [file('semi.csv', 'a;b;c\n1;2;3\n'), 'InvalidArgument', /semi\.csv: line 1 has no "," but contains ";": the file looks ";"-delimited; pass delimiter ";"/],
    [file('empty.csv', ''), 'InvalidArgument', /empty\.csv: file is empty/],
    [file('mixed.jsonl', '{"z": 1}\n{"z": 2}\n{"z": "two"}\n'), 'InvalidArgument', /mixed\.jsonl: line 3, column "z": a string where line 1 has a number \(mixed types in one column\)/],
    [file('broken.jsonl', '{"a": 1}\n{"a": 2\n{"a": 3}\n'), 'InvalidArgument', /broken\.jsonl: line 3: malformed JSON/],
    [file('notes.txt.gz', 'x'), 'InvalidArgument', /notes\.txt\.gz: unknown table format/],
  ];
}

function contract(label: string, openStore: () => Promise<{ store: MetadataStore; cleanup(): Promise<void> }>, skip: () => Promise<string | false>) {
  describe(`datasets service: ${label}`, async () => {
    const reason = await skip();
    let store: MetadataStore;
    let cleanup: () => Promise<void>;
    let blobs: BlobStore;
    let ds: DatasetsService;
    let workDir: string;
    const clock = new ManualClock(1_795_000_000_000);
    before(async () => {
      if (reason) return;
      ({ store, cleanup } = await openStore());
      await migrate(store, { ...coreMigrations, ...datasetMigrations });
      const dir = tempDir('ds-service');
      workDir = join(dir, 'work');
      blobs = await openFileBlobStore(join(dir, 'blobs'));
      ds = new DatasetsService({ metadata: store, blobs, clock, workDir });
    });
    after(async () => {
      if (reason) return;
      await store.close();
      await cleanup();
    });

    test('register: sha256 identity, metadata, blob, dedupe, auto-incremented versions', { skip: reason }, async () => {
      const first = await ds.register('loans', LOANS, { creator: 'ana', description: 'H1 2025' });
      assert.equal(first.created, true);
      const v = first.version;
      assert.deepEqual(
        [v.name, v.version, v.digest, v.kind, v.format, v.rowCount, v.columnCount, v.creator, v.description, v.source, v.createdAt],
        ['loans', 1, sha256(LOANS), 'file', 'csv', 20000, 13, 'ana', 'H1 2025', LOANS, clock.now()],
      );
      assert.equal(v.sizeBytes, readFileSync(LOANS).length);
      assert.ok((await readBlob(blobs, v.digest)).equals(readFileSync(LOANS)), 'the blob holds the file');
      assert.equal(v.schema.columns.length, 13);
      assert.equal(v.profile!.rowCount, 20000);

      clock.advance(1000);
      const again = await ds.register('loans', LOANS);
      assert.equal(again.created, false);
      assert.equal(again.version.version, 1);

      const second = await ds.register('loans', SHIFTED, { creator: 'ana' });
      assert.equal(second.version.version, 2);
      const other = await ds.register('loans-copy', LOANS);
      assert.equal(other.version.version, 1);
      assert.equal(other.version.digest, v.digest, 'same content, same blob');
      assert.deepEqual((await ds.versions('loans')).map((x) => [x.version, x.profile]), [[2, undefined], [1, undefined]]);
      assert.deepEqual(
        (await ds.list()).map((s) => [s.name, s.latestVersion, s.versionCount, s.rowCount]),
        [['loans', 2, 2, 5000], ['loans-copy', 1, 1, 20000]],
      );
      assert.equal((await ds.get({ name: 'loans' })).version, 2, 'latest by default');
      await rejects(ds.get({ name: 'loans', version: 9 }), 'NotFound', /dataset "loans" has no version 9/);
      await rejects(ds.get({ name: 'nope' }), 'NotFound', /dataset "nope" does not exist/);
      await rejects(ds.register('bad name', LOANS), 'InvalidArgument', /dataset name "bad name" must start with/);
    });

    test('concurrent registrations under one name get distinct versions', { skip: reason }, async () => {
      const dir = tempDir('ds-concurrent');
      const files = Array.from({ length: 6 }, (_, i) => {
        const p = join(dir, `part${i}.csv`);
        writeFileSync(p, `i,v\n${i},${i * 2}\n`);
        return p;
      });
      const results = await Promise.all(files.map((f) => ds.register('parts', f)));
      assert.deepEqual(results.map((r) => r.version.version).sort(), [1, 2, 3, 4, 5, 6]);
    });

    test('a folder is one version; its digest is the manifest of its files', { skip: reason }, async () => {
      const dir = tempDir('ds-dir');
      mkdirSync(join(dir, 'q1'));
      copyFileSync(LOANS, join(dir, 'q1', 'loans.csv'));
      copyFileSync(SHIFTED, join(dir, 'shifted.csv'));
      const r = await ds.register('folder', dir);
      assert.equal(r.version.kind, 'folder');
      assert.equal(r.version.rowCount, 25000);
      const manifest = JSON.stringify({
        files: [
          { path: 'q1/loans.csv', sha256: sha256(LOANS), size: readFileSync(LOANS).length },
          { path: 'shifted.csv', sha256: sha256(SHIFTED), size: readFileSync(SHIFTED).length },
        ],
      });
      assert.equal(r.version.digest, createHash('sha256').update(manifest).digest('hex'));
      assert.equal((await readBlob(blobs, r.version.digest)).toString(), manifest);
      assert.equal((await ds.register('folder', dir)).created, false);
      writeFileSync(join(dir, 'shifted.csv'), readFileSync(SHIFTED, 'utf8').split('\n').slice(0, 100).join('\n') + '\n');
      assert.equal((await ds.register('folder', dir)).version.version, 2);
    });

    test('loans_corrupted.csv is rejected with every listed issue', { skip: reason }, async () => {
      const report = await ds.validate('loans', CORRUPTED, { against: 1 });
      assert.equal(report.valid, false);
      assert.equal(report.rowCount, 200);
      assert.equal(report.comparedWith, 1);
      const find = (kind: string, column: string) => {
        const a = report.anomalies.find((x) => x.kind === kind && x.column === column);
        assert.ok(a, `${kind} on ${column} among ${report.anomalies.map((x) => `${x.kind}:${x.column}`).join(', ')}`);
        return a;
      };
      const ids = csvColumn(CORRUPTED, 'loan_id');
      const p = ISSUES.problems;

      const score = find('type_mismatch', 'credit_score');
      assert.equal(score.expected, 'int');
      assert.deepEqual(score.examples, p.credit_score_not_integer.rows.map((row: number, i: number) => ({ row, value: p.credit_score_not_integer.values[i] })));
      assert.deepEqual(score.examples!.map((e) => ids[e.row]), p.credit_score_not_integer.loan_ids);

      const amount = find('out_of_range', 'amount');
      assert.equal(amount.count, 4);
      assert.deepEqual(amount.examples!.map((e) => e.row), p.amount_negative.rows);
      assert.deepEqual(amount.examples!.map((e) => ids[e.row]), p.amount_negative.loan_ids);
      assert.ok(amount.examples!.every((e) => Number(e.value) < 0));

      const home = find('out_of_domain', 'home_ownership');
      assert.equal(home.count, 4);
      assert.deepEqual(home.examples!.map((e) => e.row), p.home_ownership_unknown_level.rows);
      assert.deepEqual(home.examples!.map((e) => e.value), p.home_ownership_unknown_level.values);
      assert.equal(home.expected, `one of ${[...p.home_ownership_unknown_level.allowed].sort().map((v: string) => `"${v}"`).join(', ')}`);

      const income = find('too_many_missing', 'income');
      assert.equal(income.count, p.income_missing.count);
      assert.equal(income.count! / report.rowCount, p.income_missing.share);
      assert.deepEqual(income.examples!.map((e) => e.row), p.income_missing.rows.slice(0, income.examples!.length));
    });

    test('--validate refuses a version that breaks the schema, and writes nothing', { skip: reason }, async () => {
      // Version 2 (the shifted loans) is the latest, so the drift comparators fire as well.
      await rejects(
        ds.register('loans', CORRUPTED, { validate: true }),
        'FailedPrecondition',
        /loans_corrupted\.csv: 7 anomalies against the schema of "loans": column "amount": 4 values below the minimum 0.*distribution drifted from version 2/,
      );
      assert.equal((await ds.versions('loans')).length, 2);
      assert.equal(await ds.findByDigest(sha256(CORRUPTED)), undefined);
    });

    test('bad input: a clear one-line message naming file, line and column; nothing registered', { skip: reason }, async () => {
      for (const [path, code, message] of await badInputs(tempDir('ds-bad'))) {
        await rejects(ds.register('bad', path), code, message);
      }
      await rejects(ds.register('bad', tempDir('ds-empty-dir')), 'InvalidArgument', /folder holds no \.csv, \.tsv, \.jsonl or \.parquet files/);
      await rejects(ds.versions('bad'), 'NotFound', /dataset "bad" does not exist/);
      // With the right delimiter the semicolon file registers.
      const semi = join(tempDir('ds-semi'), 'semi.csv');
      writeFileSync(semi, 'a;b\n1;x\n2;y\n');
      assert.equal((await ds.register('semi', semi, { delimiter: ';' })).version.columnCount, 2);
    });

    test('a failing blob store leaves no metadata behind', { skip: reason }, async () => {
      const failing: BlobStore = { ...blobs, put: async () => Promise.reject(new Error('disk full')) };
      const broken = new DatasetsService({ metadata: store, blobs: failing, clock, workDir });
      const file = join(tempDir('ds-fail'), 'f.csv');
      writeFileSync(file, 'a\n1\n');
      await assert.rejects(broken.register('never', file), /disk full/);
      await rejects(ds.versions('never'), 'NotFound', /does not exist/);
    });

    test('uploads are spooled, size-limited and cleaned up', { skip: reason }, async () => {
      const r = await ds.registerUpload('uploaded', createReadStream(SHIFTED), { filename: 'shifted.csv' });
      assert.equal(r.version.digest, sha256(SHIFTED));
      assert.equal(r.version.source, 'upload:shifted.csv');
      await rejects(ds.registerUpload('uploaded', createReadStream(LOANS), { filename: 'loans.csv', maxBytes: 1000 }), 'InvalidArgument', /larger than the 1000 bytes/);
      await rejects(ds.registerUpload('uploaded', createReadStream(LOANS), {}), 'InvalidArgument', /give a format/);
      await rejects(
        ds.registerUpload('uploaded', (async function* () { yield Buffer.from('a,b\n1,2\n3\n'); })(), { filename: 'mine.csv' }),
        'InvalidArgument',
        /^mine\.csv: line 3: Expected Number of Columns: 2 Found: 1$/,
      );
      assert.deepEqual(readdirSync(join(workDir, 'uploads')), []);
    });

    test('schema: inferred on first registration, edited, re-inferred', { skip: reason }, async () => {
      const schema = await ds.getSchema('loans');
      assert.deepEqual(schema, (await ds.get({ name: 'loans', version: 1 })).schema);
      const edited = { columns: schema.columns.map((c) => (c.name === 'amount' ? { ...c, min: 1000, max: 40000 } : c)) };
      await ds.setSchema('loans', edited);
      assert.deepEqual((await ds.getSchema('loans')).columns.find((c) => c.name === 'amount'), { ...schema.columns.find((c) => c.name === 'amount'), min: 1000, max: 40000 });
      await rejects(ds.setSchema('loans', { columns: [{ name: 'x', type: 'int', required: true, min: 2, max: 1 }] }), 'InvalidArgument', /column "x": min 2 is above max 1/);
      await rejects(ds.setSchema('nope', edited), 'NotFound', /dataset "nope" does not exist/);
      const reinferred = await ds.inferSchema({ name: 'loans', version: 1 }, { save: true });
      assert.deepEqual(await ds.getSchema('loans'), reinferred);
      assert.deepEqual(reinferred, schema);
    });

    test('in-memory columns (a batch of requests) are validated like files', { skip: reason }, async () => {
      const report = await ds.validateColumns('loans', [
        { name: 'credit_score', values: [700, '7O5', 650] },
        { name: 'home_ownership', values: ['RENT', 'OWN', 'CASTLE'] },
      ]);
      const kinds = report.anomalies.map((a) => `${a.kind}:${a.column}`);
      assert.ok(kinds.includes('type_mismatch:credit_score'), kinds.join());
      assert.ok(kinds.includes('out_of_domain:home_ownership'), kinds.join());
      assert.ok(kinds.includes('missing_column:loan_id'), kinds.join());
    });

    test('diff: drift distances agree with shares computed from the files', { skip: reason }, async () => {
      const d = await ds.diff({ name: 'loans', version: 1 }, { name: 'loans', version: 2 });
      assert.equal(d.sameContent, false);
      const shares = (path: string) => {
        const v = csvColumn(path, 'purpose');
        const m = new Map<string, number>();
        for (const x of v) m.set(x, (m.get(x) ?? 0) + 1 / v.length);
        return m;
      };
      const [a, b] = [shares(LOANS), shares(SHIFTED)];
      const linf = Math.max(...[...a.keys()].map((k) => Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0))));
      const purpose = d.columns.find((c) => c.name === 'purpose')!;
      assert.ok(Math.abs(purpose.lInfinity! - linf) < 1e-12);
      assert.equal(purpose.lInfinityValue, 'small_business');
      assert.ok(d.columns.find((c) => c.name === 'interest_rate')!.jensenShannon! > 0.1);
      assert.ok(d.columns.find((c) => c.name === 'term_months')!.jensenShannon! < 0.001);
      const same = await ds.diff({ name: 'loans', version: 1 }, { name: 'loans-copy', version: 1 });
      assert.equal(same.sameContent, true);
      assert.ok(same.columns.every((c) => c.change === 'same'));
    });

    test('lineage: run and model links, idempotent, and the inputs of a run', { skip: reason }, async () => {
      const ref = { name: 'loans', version: 1 };
      await ds.linkRun(ref, 'run-a');
      await ds.linkRun(ref, 'run-a');
      clock.advance(5);
      await ds.linkRun(ref, 'run-b', 'evaluation');
      await ds.linkRun({ name: 'loans', version: 2 }, 'run-b', 'evaluation');
      await ds.linkModel(ref, { name: 'credit', version: 3, runId: 'run-a' });
      const l = await ds.lineage(ref);
      assert.deepEqual(l.runs.map((r) => [r.runId, r.context]), [['run-a', 'training'], ['run-b', 'evaluation']]);
      assert.deepEqual(l.models.map((m) => [m.modelName, m.modelVersion, m.runId]), [['credit', '3', 'run-a']]);
      assert.deepEqual(await ds.inputsOfRun('run-b'), [
        { name: 'loans', version: 1, context: 'evaluation' },
        { name: 'loans', version: 2, context: 'evaluation' },
      ]);
      await rejects(ds.linkRun({ name: 'loans', version: 99 }, 'run-c'), 'NotFound', /no version 99/);
    });

    test('MLflow dataset entity and lookup by (short) digest', { skip: reason }, async () => {
      const m = await ds.mlflowDataset({ name: 'loans', version: 1 });
      assert.equal(m.name, 'loans');
      assert.equal(m.digest, sha256(LOANS).slice(0, 16));
      assert.equal(m.source_type, 'modelport');
      assert.deepEqual(JSON.parse(m.source), { uri: 'modelport:/datasets/loans/versions/1', origin: LOANS });
      assert.deepEqual(JSON.parse(m.schema).mlflow_colspec.slice(0, 3), [
        { type: 'string', name: 'loan_id', required: true },
        { type: 'long', name: 'customer_id', required: true },
        { type: 'datetime', name: 'event_timestamp', required: true },
      ]);
      assert.deepEqual(JSON.parse(m.profile), { num_rows: 20000, num_elements: 260000 });
      assert.equal((await ds.findByDigest(m.digest))?.digest, sha256(LOANS));
      assert.deepEqual(await ds.linkMlflowInput('run-m', { name: m.name, digest: m.digest }), { name: 'loans', version: 1 });
      assert.equal(await ds.linkMlflowInput('run-m', { name: 'other', digest: m.digest }), undefined, 'the name must match too');
      assert.equal(await ds.linkMlflowInput('run-m', { name: 'loans', digest: 'abc' }), undefined);
      assert.deepEqual(await ds.inputsOfRun('run-m'), [{ name: 'loans', version: 1, context: 'training' }]);
      assert.equal(await ds.findByDigest('zz'), undefined);
    });
  });
}

contract(
  'sqlite',
  async () => ({ store: await openMetadataStore(parseStoreUri(`sqlite:${join(tempDir('ds-sqlite'), 'm.db')}`)), cleanup: async () => {} }),
  async () => false,
);

contract(
  'postgres',
  async () => {
    const { uri, schema } = freshPostgresUri();
    return { store: await openMetadataStore(parseStoreUri(uri)), cleanup: () => dropSchema(schema) };
  },
  postgresSkip,
);

test('version references', () => {
  assert.deepEqual(parseVersionRef('loans'), { name: 'loans' });
  assert.deepEqual(parseVersionRef('loans@3'), { name: 'loans', version: 3 });
  assert.deepEqual(parseVersionRef('loans@latest'), { name: 'loans' });
  assert.throws(() => parseVersionRef('loans@0'), /version must be a positive whole number/);
  assert.throws(() => parseVersionRef('lo ans@1'), /dataset name "lo ans"/);
});
