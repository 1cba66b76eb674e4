import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { XGB } from '../serving/helpers.js';

describe('modelport explain', () => {
  test('explain a file through a deployment, store global importance, show it, fail clearly', async () => {
    const data = tempDir('mpcli');
    const dir = tempDir('mpcli-io');
    const cli = (...args: string[]) => runCli([...args, '--data', data]);
    const rows = readFileSync(join(XGB, 'input_missing.csv'), 'utf8').trim().split('\n');
    const input = join(dir, 'rows.csv');
    writeFileSync(input, `${rows.slice(0, 4).join('\n')}\n`);
    assert.equal((await cli('models', 'register', 'trees', join(XGB, 'model.json'))).code, 0);
    assert.equal((await cli('datasets', 'register', 'cancer', join(XGB, 'input.csv'))).code, 0);
    assert.equal((await cli('deploy', 'trees', '-v', '1')).code, 0);

    const shown = await cli('explain', 'trees', '--input', input, '--top', '2');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^model trees version 1, method tree, explaining "margin"\n/);
    assert.equal(shown.stdout.match(/^row \d: base -?[\d.]+ \+ attributions = -?[\d.]+$/gm)?.length, 2 + 1);
    assert.equal(shown.stdout.match(/^FEATURE +ATTRIBUTION$/gm)?.length, 3);

    const out = join(dir, 'explained.json');
    const written = await cli('explain', 'trees', '--input', input, '--method', 'kernel', '--background', 'cancer', '--budget', '100', '--output', out);
    assert.equal(written.code, 0, written.stderr);
    const body = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(body.method, 'kernel');
    assert.deepEqual(body.outputs[0].shape, [3, 30]);

    const importance = await cli('explain', 'importance', 'trees', '1', '--dataset', 'cancer', '--rows', '50');
    assert.equal(importance.code, 0, importance.stderr);
    assert.match(importance.stdout, /^mean \|SHAP\| \(tree, "margin"\) on cancer@1, 50 rows\nFEATURE +MEAN \|SHAP\|\n/);
    const show = await cli('models', 'show', 'trees', '1');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /mean \|SHAP\| \(tree, "margin"\) on cancer@1, 50 rows/);

    const html = join(dir, 'report.html');
    const report = await cli('explain', 'report', 'trees', '1', html, '--row', '2');
    assert.equal(report.code, 0, report.stderr);
    assert.match(readFileSync(html, 'utf8'), /<h2>Row 2: from the base value to the output<\/h2>/);

    const bad = await cli('explain', 'trees', '--input', input, '--method', 'magic');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr.trim(), /^[^\n]*--method: "magic" must be one of tree, kernel, lime$/);
  });
});
