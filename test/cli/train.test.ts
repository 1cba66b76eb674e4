import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { parsePreprocess } from '../../src/models/preprocess.js';
import { parseXgboost } from '../../src/models/xgboost/model.js';

const BC = 'test/fixtures/training/breast_cancer_train.csv';

describe('modelport train and tune', () => {
  test('bad input is refused with one line naming the problem, before any training', async () => {
    const dir = tempDir('mp-train-bad');
    writeFileSync(join(dir, 'oneclass.csv'), 'a,b,y\n1,2,0\n3,4,0\n5,6,0\n');
    // The rest of the checks are covered in test/training; these show the CLI's one-line form.
    writeFileSync(join(dir, 'typo.csv'), `a,b,y\n${Array.from({ length: 20 }, (_, i) => `${i},${i === 7 ? 'n/a7' : i * 2},${i % 2}`).join('\n')}\n`);
    writeFileSync(join(dir, 'empty.json'), '{"eta": {"type": "float", "low": 0.5, "high": 0.1}}');
    const cases: [string[], RegExp][] = [
      [['train', join(dir, 'oneclass.csv'), '--target', 'y'], /target "y" holds one class only/],
      [['train', join(dir, 'typo.csv'), '--target', 'y', '--param', 'max_dept=3'], /parameter "max_dept" is not a GBDT parameter/],
      [['tune', join(dir, 'typo.csv'), '--target', 'y', '--drop', 'b', '--trials', '3', '--space', join(dir, 'empty.json')], /parameter "eta": the range \[0.5, 0.1\] is empty/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(['--data', join(dir, 'data'), ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /training:/);
    }
  });

  test('train writes XGBoost JSON, prints validation metrics; tune runs a tracked study', async () => {
    const dir = tempDir('mp-train');
    const out = join(dir, 'model.json');
    const r = await runCli(['--data', join(dir, 'data'), 'train', BC, '--target', 'target', '--valid-fraction', '0.25', '--param', 'max_depth=3', '--param', 'n_estimators=20', '--output', out, '--experiment', 'cli']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gbdt binary:logistic: 20 rounds, 30 features/);
    assert.match(r.stdout, /val_roc_auc\s+0\.9\d+/);
    assert.match(r.stdout, /run [0-9a-f]{32} in experiment cli/);
    assert.ok(existsSync(out));
    const model = parseXgboost(readFileSync(out));
    assert.equal(model.trees.length, 20);
    assert.equal(model.objective, 'binary:logistic');
    assert.ok(!existsSync(`${out}.preprocess.json`), 'no text column, no preprocessing');

    const t = await runCli(['--data', join(dir, 'data'), 'tune', BC, '--target', 'target', '--trials', '3', '--param', 'n_estimators=10', '--experiment', 'cli', '--study', 'cli-study', '--sampler', 'random', '--json']);
    assert.equal(t.code, 0, t.stderr);
    const result = JSON.parse(t.stdout) as { study: string; trials: unknown[]; best: { value: number }; counts: Record<string, number> };
    assert.equal(result.study, 'cli-study');
    assert.equal(result.trials.length, 3);
    assert.ok(result.best.value > 0.9);
  });

  test('train --output of a GBDT with text columns writes their category codes beside the model', async () => {
    const dir = tempDir('mp-train-text');
    const out = join(dir, 'loans.json');
    const r = await runCli(['--data', join(dir, 'data'), 'train', 'test/fixtures/loans/loans.csv', '--target', 'defaulted', '--drop', 'loan_id,customer_id,event_timestamp', '--param', 'n_estimators=5', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`preprocessing written to ${out}\\.preprocess\\.json`));
    const spec = parsePreprocess(JSON.parse(readFileSync(`${out}.preprocess.json`, 'utf8')), 'preprocess');
    assert.ok((spec.categorical ?? []).length > 0);
  });

  test('a study killed mid-run resumes: finished trials are kept, the interrupted one counts as failed', async () => {
    const dir = tempDir('mp-tune-kill');
    // Trials long enough (2,000 rounds) that the kill lands inside one, however fast the machine.
    const args = ['--data', join(dir, 'data'), 'tune', BC, '--target', 'target', '--param', 'n_estimators=2000', '--param', 'max_bin=16', '--experiment', 'kill', '--study', 'k', '--sampler', 'random'];
    const child = spawnCli([...args, '--trials', '20']);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stderr!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/trials: 2\/20/.test(seen)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`tune exited (${code}) before two trials ended: ${seen}`)));
    });
    // Trials follow each other without a gap but for creating the next run: shortly after, one is running.
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const again = await runCli([...args, '--trials', '1', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout) as { resumed: number; trials: { number: number; state: string }[] };
    assert.ok(result.resumed >= 3, `resumed ${result.resumed}`);
    const before = result.trials.slice(0, result.resumed);
    assert.ok(before.filter((t) => t.state === 'COMPLETE').length >= 2);
    // The trial that was running when the process died is marked failed, not left running.
    assert.ok(before.some((t) => t.state === 'FAIL'));
    assert.ok(result.trials.every((t) => t.state !== 'RUNNING'));
    assert.equal(result.trials.at(-1)!.number, Math.max(...before.map((t) => t.number)) + 1);
  });
});

