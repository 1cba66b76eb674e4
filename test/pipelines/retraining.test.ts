/**
 * The retraining loop end to end on the loans data: a drift alert triggers the retraining
 * pipeline (load, validate, split, train, register, gate, promote); the challenger passes the
 * gate and becomes champion; a deliberately worse challenger is stopped at the gate and the
 * champion stays. `modelport gate` gives CI the same verdict through the API.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../../src/platform.js';
import { loadPipelineFile } from '../../src/pipelines/index.js';
import { buildApp } from '../../src/server/app.js';
import { ModelportClient } from '../../src/client/client.js';
import { InjectTransport } from '../../src/client/transport.js';
import { PipelinesClient } from '../../src/client/pipelines.js';
import { readTable } from '../../src/data/read-table.js';
import { tableToColumns } from '../../src/pipelines/gate.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';
import { runCli } from '../helpers/cli.js';

const RETRAIN = fileURLToPath(new URL('../../examples/pipelines/retrain/retrain.yaml', import.meta.url));
const LOANS = fileURLToPath(new URL('../fixtures/loans/loans.csv', import.meta.url));

let platform: Platform;
let data: string;
let holdout: string;
before(async () => {
  data = tempDir('mpdata');
  platform = await testPlatform({ data });
  const dir = tempDir('loans');
  const lines = readFileSync(LOANS, 'utf8').split('\n');
  writeFileSync(join(dir, 'loans.csv'), `${lines.slice(0, 4001).join('\n')}\n`);
  holdout = join(dir, 'holdout.csv');
  writeFileSync(holdout, `${[lines[0], ...lines.slice(4001, 5001)].join('\n')}\n`);
  await platform.services.datasets.register('loans', join(dir, 'loans.csv'));
});
after(async () => {
  await platform.close();
});

test('a drift alert retrains; a better challenger is promoted, a worse one is stopped at the gate', async () => {
  const pipelines = platform.services.pipelines;
  await pipelines.savePipeline(loadPipelineFile(RETRAIN));
  await pipelines.triggers.addTrigger('retrain-loans', { kind: 'alert', deployment: 'loans', alertKind: 'drift' });

  // The drift monitor's alert (raised the way monitors raise it) starts the retraining.
  await platform.services.monitoring.alerts.raise({ dedupKey: 'drift:loans', deployment: 'loans', kind: 'drift', message: 'credit_score drifted' });
  await pipelines.triggers.tick();
  // The alert also nudges the platform's own tick, which may take the alert first: its run then
  // appears once that tick has started it.
  let [triggered] = await pipelines.listRuns({ pipeline: 'retrain-loans' });
  for (let i = 0; i < 100 && !triggered; i++) {
    await new Promise((r) => setTimeout(r, 50));
    [triggered] = await pipelines.listRuns({ pipeline: 'retrain-loans' });
  }
  assert.ok(triggered, 'the drift alert started a run');
  assert.match(triggered.trigger, /^alert:/);
  const first = await pipelines.wait(triggered.id, 100);
  assert.equal(first.status, 'succeeded', JSON.stringify(first.steps.map((s) => [s.name, s.status, s.error])));
  const champion1 = await platform.services.registry.getVersionByAlias('loans-default', 'champion');
  assert.equal(champion1.version, 1);
  const gate1 = first.steps.find((s) => s.name === 'gate')!;
  assert.equal(gate1.metrics.gate_passed, 1);
  // Lineage: the version points at the register step's tracking run, which is nested in the pipeline's.
  const registerStep = first.steps.find((s) => s.name === 'register')!;
  assert.equal(champion1.runId, registerStep.trackingRunId);
  const lineage = await platform.services.datasets.lineage({ name: 'loans', version: 1 });
  assert.ok(JSON.stringify(lineage).includes('loans-default'), JSON.stringify(lineage));

  // A second alert-triggered run trains the same good model: it ties the champion (min delta 0) and is promoted.
  const second = await pipelines.wait((await pipelines.startRun({ pipeline: 'retrain-loans', trigger: 'api' })).id, 100);
  assert.equal(second.status, 'succeeded');
  assert.equal(second.steps.find((s) => s.name === 'train')!.status, 'cached');
  assert.equal((await platform.services.registry.getVersionByAlias('loans-default', 'champion')).version, 2);

  // The deliberately worse challenger is registered but stopped at the gate.
  const bad = await pipelines.wait((await pipelines.startRun({ pipeline: 'retrain-loans', params: { quality: 'bad' } })).id, 100);
  assert.equal(bad.status, 'failed');
  const status = Object.fromEntries(bad.steps.map((s) => [s.name, s.status]));
  assert.deepEqual(status, { load: 'succeeded', validate: 'succeeded', split: 'succeeded', train: 'succeeded', register: 'succeeded', gate: 'failed', promote: 'upstream_failed' });
  assert.match(bad.error!, /^step gate: gate failed: beats champion \(roc_auc 0\.\d+ vs champion \(version 2\) 0\.\d+: improvement -0\.\d+ < 0\)/);
  assert.equal((await platform.services.registry.getVersionByAlias('loans-default', 'champion')).version, 2);
  const gateLog = (await pipelines.stepLog(bad.id, 'gate', 'stdout')).toString();
  assert.match(gateLog, /gate FAILED: loans-default version 3 on \d+ rows/);

  // The CI gate over the API gives the same verdicts on a fresh holdout.
  const app = await buildApp(platform, { logger: false });
  const api = new PipelinesClient(new ModelportClient(new InjectTransport(app)));
  const columns = tableToColumns(await readTable(holdout));
  const pass = await api.gate({ model: 'loans-default', candidate: '1', against: 'champion', metric: 'roc_auc', minDelta: 0, label: 'defaulted' }, columns);
  assert.equal(pass.passed, true);
  assert.equal(pass.delta, 0);
  const fail = await api.gate({ model: 'loans-default', candidate: '3', against: 'champion', metric: 'roc_auc', minDelta: 0, label: 'defaulted' }, columns);
  assert.equal(fail.passed, false);
  const auc = (e: typeof fail.candidate) => (e.metrics.find((m) => m.name === 'roc_auc') as { value: number }).value;
  // Flipped weights give the mirrored ranking: AUC(bad) = 1 − AUC(good) on the same rows.
  assert.ok(Math.abs(auc(fail.candidate) - (1 - auc(fail.champion!))) < 1e-9);
  await assert.rejects(api.gate({ model: 'loans-default', candidate: '3', metric: 'rmse_typo', label: 'defaulted' }, columns), /metric: "rmse_typo" is not a classification metric/);
  await app.close();
});

test('modelport gate exits 1 with the report for a worse candidate', async () => {
  const res = await runCli(['gate', '--model', 'loans-default', '--candidate', '3', '--against', 'champion', '--metric', 'roc_auc', '--min-delta', '0.0', '--data', holdout, '--label', 'defaulted'], { MODELPORT_DATA: data });
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stdout, /^gate FAILED: loans-default version 3 on 1000 rows\n/);
  assert.match(res.stdout, /\[FAIL\] beats champion: roc_auc 0\.\d+ vs champion \(version 2\)/);
  assert.match(res.stdout, /\[ok\] no NaN outputs: 0 non-finite output cells/);
});
