/** `modelport datasets ...` spawned as a user runs it, embedded and against a server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { testServer } from '../helpers/platform.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/loans/', import.meta.url));
const LOANS = join(FIXTURES, 'loans.csv');
const SHIFTED = join(FIXTURES, 'loans_shifted.csv');
const CORRUPTED = join(FIXTURES, 'loans_corrupted.csv');

test('embedded: register, list, show, validate, diff, schema', async () => {
  const data = ['--data', tempDir('ds-cli')];
  let r = await runCli([...data, 'datasets', 'register', 'loans', LOANS, '--description', 'first half']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^registered loans@1: 20,000 rows × 13 columns, csv, 1,994,440 bytes, sha256 d721c6ff/);
  r = await runCli([...data, 'datasets', 'register', 'loans', LOANS]);
  assert.match(r.stdout, /^unchanged: loans@1 already holds this content/);
  r = await runCli([...data, 'datasets', 'register', 'loans', LOANS, '--description', 'H1 2025']);
  assert.match(r.stdout, /^described: loans@1 already holds this content \(sha256 d721c6ff\w+\); its description is now "H1 2025"/);
  r = await runCli([...data, 'datasets', 'show', 'loans@1', '--json']);
  assert.equal(JSON.parse(r.stdout).description, 'H1 2025');
  r = await runCli([...data, 'datasets', 'register', 'loans', SHIFTED, '--json']);
  assert.equal(JSON.parse(r.stdout).version.version, 2);

  r = await runCli([...data, 'datasets', 'list']);
  assert.match(r.stdout, /^name\s+latest\s+versions\s+rows\s+columns\s+updated\nloans\s+2\s+2\s+5,000\s+13\s+/);

  r = await runCli([...data, 'datasets', 'show', 'loans@1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /created .* by .*: H1 2025/);
  assert.match(r.stdout, /\npurpose\s+string\s+0%\s+5\s+credit_card\s+small_business\s+debt_consolidation \(9,101\)/);

  r = await runCli([...data, 'datasets', 'validate', 'loans', CORRUPTED, '--against', '1']);
  assert.equal(r.code, 1, 'anomalies exit 1');
  assert.match(r.stdout, /loans_corrupted\.csv: 4 anomalies against the schema of loans \(200 rows, drift against loans@1\)/);
  for (const line of [/type_mismatch\s+column "credit_score"/, /out_of_range\s+column "amount"/, /out_of_domain\s+column "home_ownership"/, /too_many_missing\s+column "income"/]) {
    assert.match(r.stdout, line);
  }
  r = await runCli([...data, 'datasets', 'validate', 'loans', LOANS, '--against', '1']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /valid against the schema of loans/);

  r = await runCli([...data, 'datasets', 'diff', 'loans@1', 'loans@2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^loans@1 \(20,000 rows\) → loans@2 \(5,000 rows\)/);
  assert.match(r.stdout, /\npurpose\s+changed\s+string\s+0% → 0%.*L∞ 0\.24\d* \(small_business\)/);

  const schemaFile = join(tempDir('ds-cli-schema'), 'schema.json');
  r = await runCli([...data, 'datasets', 'schema', 'loans']);
  const schema = JSON.parse(r.stdout);
  schema.columns = schema.columns.filter((c: { name: string }) => c.name !== 'loan_id');
  writeFileSync(schemaFile, JSON.stringify(schema));
  r = await runCli([...data, 'datasets', 'schema', 'loans', '--set', schemaFile]);
  assert.equal(r.code, 0, r.stderr);
  r = await runCli([...data, 'datasets', 'validate', 'loans', LOANS, '--against', '1', '--json']);
  assert.deepEqual(JSON.parse(r.stdout).anomalies.map((a: { kind: string; column: string }) => `${a.kind}:${a.column}`), ['new_column:loan_id']);
});

test('embedded: bad input is one line on stderr and exit 2', async () => {
  const data = ['--data', tempDir('ds-cli-bad')];
  const dir = tempDir('ds-cli-files');
  writeFileSync(join(dir, 'semi.csv'), 'a;b\n1;2\n');
  writeFileSync(join(dir, 'head.csv'), 'a,b\n');
  const cases: [string[], RegExp][] = [
    [['datasets', 'register', 'x', join(dir, 'semi.csv')], /^modelport: .*semi\.csv: line 1 has no "," but contains ";"/],
    [['datasets', 'register', 'x', join(dir, 'head.csv')], /^modelport: .*head\.csv: no data rows \(only a header\)/],
    [['datasets', 'register', 'x', join(dir, 'none.csv')], /^modelport: .*none\.csv: no such file or folder/],
    [['datasets', 'show', 'x@0'], /^modelport: dataset: "x@0" must be NAME or NAME@VERSION/],
    [['datasets', 'show', 'x'], /^modelport: dataset "x" does not exist/],
    [['datasets', 'validate', 'x', join(dir, 'semi.csv'), '--format', 'xls'], /^modelport: --format: "xls" is not csv, jsonl or parquet/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([...data, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  const r = await runCli([...data, 'datasets', 'register', 'x', join(dir, 'semi.csv'), '--delimiter', ';']);
  assert.equal(r.code, 0, r.stderr);
});

test('--server: the file is streamed to the server', async () => {
  const server = await testServer();
  try {
    const r = await runCli(['--server', server.url, 'datasets', 'register', 'loans', LOANS]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^registered loans@1: 20,000 rows/);
    const v = await server.platform.services.datasets.get({ name: 'loans', version: 1 });
    assert.equal(v.source, 'upload:loans.csv');
    const bad = await runCli(['--server', server.url, 'datasets', 'validate', 'loans', CORRUPTED]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /4 anomalies/);
  } finally {
    await server.close();
  }
});
