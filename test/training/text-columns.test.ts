/**
 * Text columns through `modelport train`'s path (trainFile): category codes for GBDTs by default,
 * stored with the registered model so the xgboost flavor takes the raw strings and predicts
 * what training evaluated; one-hot on request and for linear models.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelportError } from '../../src/core/errors.js';
import { readTable } from '../../src/data/read-table.js';
import { fromColumns } from '../../src/models/coerce.js';
import { loadModel } from '../../src/models/index.js';
import { rocAuc } from '../../src/stats/metrics.js';
import { predictMargins } from '../../src/training/gbdt/export.js';
import { encodeFeatures } from '../../src/training/prepare.js';
import { registerFitted, trainFile } from '../../src/training/session.js';
import type { TrainingTracker } from '../../src/training/tracker.js';
import { LOANS } from './helpers.js';

const DROP = ['loan_id', 'customer_id', 'event_timestamp'];
const PARAMS = { max_depth: 4, n_estimators: 20, eval_metric: 'auc' };

/** The model folder registerFitted hands the registry, copied out for loading. */
function folderTracker(into: string): TrainingTracker {
  return { registerModel: async (_name: string, folder: string) => (cpSync(folder, into, { recursive: true }), { version: 1 }) } as unknown as TrainingTracker;
}

describe('text columns of a table trained from the CLI path', () => {
  let dir: string;
  let train: string;
  let valid: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-text-'));
    const [header, ...lines] = readFileSync(LOANS, 'utf8').trim().split('\n');
    train = join(dir, 'train.csv');
    valid = join(dir, 'valid.csv');
    writeFileSync(train, [header, ...lines.slice(0, 3000)].join('\n'));
    // Validation rows with a purpose training never saw and missing home ownerships.
    const purpose = header.split(',').indexOf('purpose');
    const home = header.split(',').indexOf('home_ownership');
    const edited = lines.slice(3000, 3600).map((line, i) => {
      const cells = line.split(',');
      if (i % 7 === 0) cells[purpose] = 'space_travel';
      if (i % 11 === 0) cells[home] = '';
      return cells.join(',');
    });
    writeFileSync(valid, [header, ...edited].join('\n'));
  });

  test('gbdt: text columns are category codes by default; the registered model takes the raw strings and predicts what training evaluated', async () => {
    const result = await trainFile({ file: train, valid, target: 'defaulted', drop: DROP, params: PARAMS });
    assert.deepEqual(result.encoding.categorical.map((c) => c.column), ['home_ownership', 'purpose']);
    assert.equal(result.encoding.oneHot.length, 0);
    assert.deepEqual(result.fitted.gbdt!.categorical, result.encoding.featureNames.map((f) => f === 'home_ownership' || f === 'purpose'));
    assert.ok(result.fitted.gbdt!.trees.some((t) => t.categories.size > 0), 'some splits are on categories');

    const folder = join(dir, 'registered');
    await registerFitted(folderTracker(folder), 'loans', result.fitted, result.encoding, {});
    const predictor = await loadModel(folder, { threads: 0 });
    try {
      assert.deepEqual(
        predictor.signature.inputs.filter((s) => s.dtype === 'string').map((s) => s.name),
        ['home_ownership', 'purpose'],
      );
      const table = await readTable(valid);
      // A request sends a missing category as an empty string.
      const column = (name: string) => Array.from(table.columns.find((c) => c.name === name)!.values as ArrayLike<unknown>, (v) => v ?? '');
      const raw = Object.fromEntries(predictor.signature.inputs.map((s) => [s.name, column(s.name)]));
      const served = (await predictor.predict(fromColumns(raw, predictor.signature))).columns.get('margin')!.data as Float32Array;
      const x = encodeFeatures(table, result.encoding);
      assert.ok(x.x.some((v, i) => i % x.numFeature === x.featureNames.indexOf('purpose') && Number.isNaN(v)), 'the unseen purpose is missing');
      assert.deepEqual(Array.from(served), Array.from(predictMargins(result.fitted.gbdt!, x), Math.fround));
      const positives = column('defaulted').map((y) => y === 1);
      assert.ok(Math.abs((rocAuc(served, positives) as number) - result.metrics.val_roc_auc) < 1e-6);
      assert.ok(Math.abs(result.fitted.curve.validation.auc.at(-1)! - result.metrics.val_roc_auc) < 1e-9, 'the curve was evaluated on the same codes');
    } finally {
      await predictor.close();
    }
  });

  test('one-hot is kept on request and for linear models; a linear model cannot take categories', async () => {
    const oneHot = await trainFile({ file: train, valid, target: 'defaulted', drop: DROP, params: PARAMS, text: 'one-hot' });
    assert.equal(oneHot.encoding.categorical.length, 0);
    assert.ok(oneHot.encoding.featureNames.includes('purpose=credit_card'));
    const linear = await trainFile({ file: train, valid, target: 'defaulted', drop: DROP, model: 'linear' });
    assert.ok(linear.encoding.featureNames.includes('home_ownership=RENT'));
    const refused = (e: unknown, pattern: RegExp) => e instanceof ModelportError && e.code === 'InvalidArgument' && pattern.test(e.message);
    await assert.rejects(trainFile({ file: train, target: 'defaulted', drop: DROP, model: 'linear', text: 'categorical' }), (e) => refused(e, /^text: a linear model cannot split categorical features/));
    await assert.rejects(trainFile({ file: train, target: 'defaulted', drop: DROP, text: 'codes' as 'one-hot' }), (e) => refused(e, /^text: "codes" is not one of categorical, one-hot/));
  });
});
