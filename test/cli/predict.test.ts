import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { register, XGB } from '../serving/helpers.js';
import { createPlatform } from '../../src/platform.js';
import { testConfig } from '../helpers/platform.js';
import { makeInputs } from '../serving/jobs/helpers.js';
import { workDirOf } from '../../src/serving/jobs/parts.js';

const committedParts = (output: string) => {
  try {
    return readdirSync(workDirOf(output)).filter((f) => /^part-\d+\.txt$/.test(f)).length;
  } catch {
    return 0;
  }
};

describe('modelport predict (batch job)', () => {
  test('SIGKILLed at a random chunk, the same command resumes and writes the same bytes', async () => {
    const data = tempDir('mpcli');
    const dir = tempDir('mpcli-io');
    const cli = (...args: string[]) => runCli([...args, '--data', data]);
    const platform = await createPlatform(testConfig({ data }));
    await register(platform.services.registry, 'cancer', XGB, ['model.json']);
    await platform.services.serving.create({ name: 'cancer', model: 'cancer', version: 1 });
    await platform.close();
    const { csv } = await makeInputs(dir, 100);
    const args = (output: string) => ['predict', 'cancer', '--input', csv, '--output', output, '--keep', 'id,customer', '--batch-size', '100'];

    const reference = join(dir, 'reference.csv');
    const whole = await cli(...args(reference));
    assert.equal(whole.code, 0, whole.stderr);
    assert.match(whole.stdout, /wrote 11400 predictions/);
    assert.match(whole.stderr, /scoring 11400 rows: 11400\/11400 done \(\d+ rows\/s\)/);

    const output = join(dir, 'out.csv');
    const killAt = 5 + Math.floor(Math.random() * 80);
    const child = spawnCli([...args(output), '--data', data]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));
    while (running && committedParts(output) < killAt) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    assert.equal(await exited, null, 'the job was killed, not finished');
    const committed = committedParts(output);
    assert.ok(committed >= killAt && committed < 114, `killed after ${committed} of 114 chunks`);
    assert.ok(!existsSync(output), 'no output until the job completes');

    const other = await cli(...args(output).slice(0, -1), '50');
    assert.equal(other.code, 2);
    assert.match(other.stderr, /modelport: an interrupted run of this job .* used other arguments \(--batch-size: was 100, now 50\)/);

    const resumed = await cli(...args(output));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming: ${committed * 100} of 11400 rows were scored by an interrupted run`));
    assert.ok(readFileSync(output).equals(readFileSync(reference)), 'resumed output is byte-identical to an uninterrupted run');
    const lines = readFileSync(output, 'utf8').split('\n');
    assert.equal(lines[0], 'id,customer,margin,prediction');
    assert.match(lines[11400], /^11399,"c, ""113""",/);
  });
});
