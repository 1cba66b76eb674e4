import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerDriftCommand } from '../../src/cli/drift.js';
import { ModelportError } from '../../src/core/errors.js';
import type { DriftReport } from '../../src/monitoring/drift/index.js';

const ref = fileURLToPath(new URL('../fixtures/drift/reference.csv', import.meta.url));
const cur = fileURLToPath(new URL('../fixtures/drift/current.csv', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'modelport-drift-cli-'));

/** A fresh program per run, as main.ts builds it: commander throws instead of exiting. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const program = new Command('modelport')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  registerDriftCommand(program);
  for (const c of program.commands) c.exitOverride();
  await program.parseAsync(['drift', ...args], { from: 'user' });
  return { stdout, stderr };
}

async function failsWith(args: string[], code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(run(...args), (e: unknown) => {
    assert.ok(e instanceof ModelportError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('modelport drift', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  test('JSON on standard output by default', async () => {
    const { stdout } = await run('--reference', ref, '--current', cur);
    const report = JSON.parse(stdout) as DriftReport;
    assert.equal(report.summary.drifted, 3);
    assert.equal(report.summary.datasetDrift, false);
    assert.equal(report.reference.name, ref);
    assert.equal(report.columns.length, 7);
  });

  test('HTML report to a file, self-contained', async () => {
    const out = join(dir, 'drift.html');
    const { stdout, stderr } = await run('--reference', ref, '--current', cur, '--output', out);
    assert.equal(stdout, '');
    assert.match(stderr, /no dataset drift: 3 of 7 columns drifted; report written to .*drift\.html/);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.equal((html.match(/<svg viewBox="0 0 620 230"/g) ?? []).length, 7, 'one histogram per column');
    assert.doesNotMatch(html, /https?:\/\/|src=|<script|<link/i, 'no external resources');
    assert.match(html, /No dataset drift/);
  });

  test('thresholds, methods and column kinds from flags', async () => {
    const { stdout } = await run(
      '--reference', ref, '--current', cur, '--format', 'json',
      '--method', 'psi', '--threshold', '0.05', '--threshold', 'age=0.01', '--method', 'tenure=chisquare',
      '--categorical', 'tenure', '--columns', 'age,income,tenure', '--drift-share', '0.3',
    );
    const report = JSON.parse(stdout) as DriftReport;
    const byName = Object.fromEntries(report.columns.map((c) => [c.column, c]));
    assert.deepEqual(Object.keys(byName), ['age', 'income', 'tenure']);
    assert.ok(byName.age.computed && byName.age.method === 'psi' && byName.age.threshold === 0.01 && byName.age.drift);
    assert.ok(byName.income.computed && byName.income.threshold === 0.05);
    assert.ok(byName.tenure.computed && byName.tenure.kind === 'categorical' && byName.tenure.method === 'chisquare');
    assert.equal(report.summary.driftShare, 0.3);
  });

  test('--fail-on-drift sets exit status 1 when the dataset drifts', async () => {
    await run('--reference', ref, '--current', cur, '--fail-on-drift', '--drift-share', '0.4', '--output', join(dir, 'x.json'));
    assert.equal(process.exitCode, 1);
  });

  test('bad input is a one-line ModelportError for the caller to print (exit 2)', async () => {
    await failsWith(['--reference', join(dir, 'nope.csv'), '--current', cur], 'NotFound', /nope\.csv: no such file/);
    await failsWith(['--reference', ref, '--current', cur, '--threshold', 'abc'], 'InvalidArgument', /--threshold: "abc" is not a number/);
    await failsWith(['--reference', ref, '--current', cur, '--method', 'age=median'], 'InvalidArgument', /unknown method "median"/);
    await failsWith(['--reference', ref, '--current', cur, '--method', 'region=ks', '--categorical', 'region'], 'InvalidArgument', /column "region": method ks does not apply to categorical columns/);
    await failsWith(['--reference', ref, '--current', cur, '--format', 'xml'], 'InvalidArgument', /--format: "xml" is not json or html/);
    await failsWith(['--reference', ref, '--current', cur, '--drift-share', '2'], 'InvalidArgument', /drift share must be in \(0, 1\]/);
    await failsWith(['--reference', ref, '--current', cur, '--columns', 'age,wage'], 'InvalidArgument', /no column "wage"/);
    await failsWith(['--reference', ref, '--current', cur, '--output', join(dir, 'missing-dir', 'r.json')], 'InvalidArgument', /--output .*cannot write \(ENOENT\)/);
    await assert.rejects(run('--reference', ref), (e: unknown) => e instanceof CommanderError && e.code === 'commander.missingMandatoryOptionValue');
  });
});
