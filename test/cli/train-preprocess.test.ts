/**
 * A model trained on raw columns is registered with its one-hot encoding: it is deployed,
 * scored in batch and explained on the raw columns, and a bad preprocessing file is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOANS = join(ROOT, 'assets/demo/loans/loans.csv');
const ROWS = join(ROOT, 'examples/loans/rows.csv');

test('train --register stores the encoding: the version takes raw columns when served, scored and explained', async () => {
  const data = tempDir('mpcli');
  const out = tempDir('mpout');
  const cli = (...args: string[]) => runCli([...args, '--data', data]);
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('train', LOANS, '--target', 'defaulted', '--drop', 'loan_id,customer_id,event_timestamp', '--param', 'n_estimators=5', '--register', 'loans');
  const version = JSON.parse(await ok('models', 'show', 'loans', '1', '--json')) as { signature?: unknown };
  assert.match(JSON.stringify(version), /home_ownership/);
  assert.doesNotMatch(JSON.stringify(version.signature ?? {}), /home_ownership=RENT/, 'the version signature lists raw columns');
  await ok('deploy', 'loans', '-v', '1');
  const scored = join(out, 'scored.csv');
  await ok('predict', 'loans', '--input', ROWS, '--output', scored, '--keep', 'loan_id');
  const lines = readFileSync(scored, 'utf8').trim().split('\n');
  assert.equal(lines.length, 11);
  assert.match(lines[0], /^loan_id,/);
  const raw = join(out, 'raw.csv');
  writeFileSync(raw, `${readFileSync(ROWS, 'utf8').trim().split('\n').map((l) => l.slice(l.indexOf(',') + 1)).join('\n')}\n`);
  const explained = await ok('explain', 'loans', '--input', raw, '--top', '3');
  assert.match(explained, /method tree/);
  assert.match(explained, /^(amount|term_months|interest_rate|income|debt_to_income|credit_score|employment_years|home_ownership|purpose)\s/m);
  assert.doesNotMatch(explained, /=RENT|=MORTGAGE|=OWN/, 'attributions are per raw column');

  const bad = join(out, 'bad.json');
  writeFileSync(bad, JSON.stringify({ numeric: [{ column: 'amount', scale: 'x' }] }));
  const refused = await cli('models', 'register', 'other', join(ROOT, 'assets/demo/loans/candidates/xgb-d4-eta0.05'), '--preprocess', bad);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^modelport: --preprocess: .*numeric\[0\]\.scale must be a finite number/);
});
