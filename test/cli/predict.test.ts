import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';
import { XGB } from '../serving/helpers.js';
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
    assert.equal((await cli('models', 'register', 'cancer', join(XGB, 'model.json'))).code, 0);
    assert.equal((await cli('deploy', 'cancer', '-v', '1')).code, 0);
    const { csv } = await makeInputs(dir, 200);
    const args = (output: string) => ['predict', 'cancer', '--input', csv, '--output', output, '--keep', 'id,customer', '--batch-size', '100'];

    const reference = join(dir, 'reference.csv');
    const whole = await cli(...args(reference));
    assert.equal(whole.code, 0, whole.stderr);
    assert.match(whole.stdout, /wrote 22800 predictions/);
    assert.match(whole.stderr, /scoring 22800 rows: 22800\/22800 done \(\d+ rows\/s\)/);

    const output = join(dir, 'out.csv');
    const killAt = 5 + Math.floor(Math.random() * 150);
    const child = spawnCli([...args(output), '--data', data]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));
    while (running && committedParts(output) < killAt) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    assert.equal(await exited, null, 'the job was killed, not finished');
    const committed = committedParts(output);
    assert.ok(committed >= killAt && committed < 228, `killed after ${committed} of 228 chunks`);
    assert.ok(!existsSync(output), 'no output until the job completes');

    const other = await cli(...args(output).slice(0, -1), '50');
    assert.equal(other.code, 2);
    assert.match(other.stderr, /modelport: an interrupted run of this job .* used other arguments \(--batch-size: was 100, now 50\)/);

    const resumed = await cli(...args(output));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming: ${committed * 100} of 22800 rows were scored by an interrupted run`));
    assert.ok(readFileSync(output).equals(readFileSync(reference)), 'resumed output is byte-identical to an uninterrupted run');
    const lines = readFileSync(output, 'utf8').split('\n');
    assert.equal(lines[0], 'id,customer,margin,prediction');
    assert.match(lines[22800], /^22799,"c, ""113""",/);
  });
});
