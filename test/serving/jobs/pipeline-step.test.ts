import { test } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { testPlatform } from '../../helpers/platform.js';
import { registerSimulated } from '../rollouts/helpers.js';

test('batch_predict scores an upstream table from a pipeline as a listed job; its output becomes the step output', async () => {
  const platform = await testPlatform({});
  try {
    const { registry, serving, pipelines, jobs } = platform.services;
    await registerSimulated(registry, 'm', 0, 0);
    await serving.create({ name: 'd', model: 'm', version: 1 });
    const run = await pipelines.startRun({
      spec: {
        name: 'nightly-scoring',
        steps: [
          { name: 'rows', run: "printf 'id,x,region\\n7,1,0\\n8,2,0\\n9,3,1\\n' > $MODELPORT_OUTPUT_DIR/data.csv", outputs: ['data.csv'] },
          { name: 'score', uses: 'batch_predict', needs: ['rows'], with: { deployment: 'd', from: 'rows', keep: 'id' } },
          { name: 'bad', uses: 'batch_predict', needs: ['rows'], with: { deployment: 'd', from: 'rows', dataset: 'x' } },
        ],
      },
    });
    let view = await pipelines.getRun(run.id);
    for (let i = 0; i < 600 && (view.status === 'running' || view.status === 'queued'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await pipelines.getRun(run.id);
    }
    const step = (name: string) => view.steps.find((s) => s.name === name)!;
    assert.equal(step('score').status, 'succeeded', JSON.stringify(step('score')));
    assert.equal(step('bad').status, 'failed');
    assert.match(step('bad').error ?? '', /step bad: give with\.dataset \(NAME or NAME@VERSION\) or with\.from \(an upstream step\), one of them/);
    const outputs = await pipelines.stepOutputs(run.id, 'score');
    assert.deepEqual(outputs.files.map((f) => f.path).sort(), ['job.json', 'predictions.csv']);
    const csv = await text(await platform.blobs.get(outputs.files.find((f) => f.path === 'predictions.csv')!.sha256));
    assert.equal(csv, 'id,label\n7,1\n8,0\n9,1\n');
    const [job] = await jobs.list({ deployment: 'd' });
    assert.deepEqual([job.state, job.rowsDone], ['succeeded', 3]);
    assert.match(job.model ?? '', /^m version 1 /);
  } finally {
    await platform.close();
  }
});
