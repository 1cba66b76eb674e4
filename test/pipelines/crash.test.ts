/**
 * Crash safety: the process driving a run is SIGKILLed in the middle of a step; `pipelines
 * resume` continues after the last completed step, which does not run again, and kills what
 * the dead driver's step left running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, runCli, spawnCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/services.js';

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

test('a driver SIGKILLed mid-run resumes after the last completed step', async () => {
  const data = tempDir('mpdata');
  const dir = tempDir('pl');
  // `slow` waits for a go file on its first attempt, so the kill lands while it runs.
  writeFileSync(
    join(dir, 'p.yaml'),
    `name: crashy
steps:
  - name: first
    run: echo first >> log; echo one > $MODELPORT_OUTPUT_DIR/one.txt
    outputs: [one.txt]
  - name: slow
    inputs: [first/one.txt]
    run: echo "slow $$" >> log; echo $$ > slow.pid; while [ ! -f go ]; do sleep 0.1; done; cat $MODELPORT_INPUT_FIRST/one.txt > $MODELPORT_OUTPUT_DIR/two.txt
  - name: last
    needs: [slow]
    run: echo last >> log
`,
  );
  const driver = spawnCli(['--data', data, 'pipelines', 'run', join(dir, 'p.yaml')]);
  const [, runId] = await waitForLine(driver, /run (\S+) started/);
  while (!existsSync(join(dir, 'slow.pid'))) await new Promise((r) => setTimeout(r, 50));
  const orphanPid = Number(readFileSync(join(dir, 'slow.pid'), 'utf8'));
  driver.kill('SIGKILL');
  await new Promise((r) => driver.once('exit', r));
  // The step's process group outlived its driver until someone takes over the run.
  assert.ok(isRunning(orphanPid));
  writeFileSync(join(dir, 'go'), '');
  const resumed = await runCli(['--data', data, 'pipelines', 'resume', runId]);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
  assert.match(resumed.stdout, new RegExp(`run ${runId} succeeded \\(3/3 steps\\)`));
  for (let i = 0; i < 50 && isRunning(orphanPid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!isRunning(orphanPid), 'nothing the dead driver started still runs');
  const log = lines(join(dir, 'log'));
  assert.equal(log.filter((l) => l === 'first').length, 1, log.join('\n'));
  assert.equal(log.filter((l) => l.startsWith('slow')).length, 2);
  assert.equal(log.filter((l) => l === 'last').length, 1);
  // A finished run cannot be resumed again: one line, non-zero exit.
  const again = await runCli(['--data', data, 'pipelines', 'resume', runId]);
  assert.equal(again.code, 2);
  assert.equal(again.stderr, `modelport: pipeline run ${runId} is succeeded; only a running run can be resumed\n`);
});
