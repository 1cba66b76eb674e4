/** Definitions: the YAML shape, and every mistake named by its step before anything runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePipeline, parseDuration, parseResources, resolveParams, substituteParams, definePipeline, type PipelineSpec } from '../../src/pipelines/definition.js';
import { parsePipelineText } from '../../src/pipelines/yaml.js';
import { defaultSteps } from '../../src/pipelines/builtins.js';

const steps = defaultSteps();
const norm = (spec: PipelineSpec) => normalizePipeline(spec, steps);

test("the issue's YAML shape parses with retries, timeout and cache", () => {
  const spec = parsePipelineText(
    `name: nightly
params: { rows: 1000 }
steps:
  - name: extract
    run: ./extract.sh
  - name: train
    needs: [extract]
    run: python3 train.py
    retries: 2
    timeout: 10m
    cache: true
`,
    'nightly.yaml',
    '/pipelines',
  );
  const p = norm(spec);
  assert.equal(p.name, 'nightly');
  assert.equal(p.dir, '/pipelines');
  assert.deepEqual(p.params, { rows: 1000 });
  const train = p.steps.find((s) => s.name === 'train')!;
  assert.equal(train.kind, 'command');
  assert.equal(train.command, 'python3 train.py');
  assert.deepEqual(train.needs, ['extract']);
  assert.equal(train.retries, 2);
  assert.equal(train.timeoutMs, 600_000);
  assert.equal(train.cache, true);
  assert.deepEqual(train.params, ['rows']);
  assert.deepEqual(train.resources, { cpu: 1, memory: 0, gpu: 0 });
});

test('mistakes are refused with the step named', () => {
  const cases: [PipelineSpec, RegExp][] = [
    [{ name: 'p', steps: [{ name: 'a', run: 'true', needs: ['b'] }, { name: 'b', run: 'true', needs: ['c'] }, { name: 'c', run: 'true', needs: ['a'] }] }, /^step a: dependency cycle a -> b -> c -> a$/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', needs: ['nope'] }] }, /^step a: needs unknown step "nope"$/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', params: ['rows'] }] }, /^step a: uses parameter "rows", which the pipeline does not declare$/],
    [{ name: 'p', steps: [{ name: 'a', uses: 'dataset.load', with: { dataset: '${params.ds}' } }] }, /^step a: uses parameter "ds"/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', outputs: ['x.csv'] }, { name: 'b', run: 'true', inputs: ['a/y.csv'] }] }, /^step b: input "a\/y.csv" is not an output of step a \(it declares x.csv\)$/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true' }, { name: 'a', run: 'true' }] }, /^step a: the name is used by two steps$/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', uses: 'split' }] }, /^step a: give exactly one of run/],
    [{ name: 'p', steps: [{ name: 'a', uses: 'nope' }] }, /^step a: uses unknown built-in step "nope" \(known: dataset.load/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', timeout: 'soon' }] }, /^step a timeout: "soon" is not a duration/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', retries: -1 }] }, /^step a: retries must be a whole number/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', resources: { memory: 'lots' } }] }, /^step a resources.memory: "lots"/],
    [{ name: 'p', steps: [{ name: 'a', run: 'true', colour: 'red' } as never] }, /^step a: unknown field "colour"$/],
    [{ name: 'p', steps: [] }, /steps must be a non-empty list/],
  ];
  for (const [spec, message] of cases) assert.throws(() => norm(spec), (err: Error) => err.name === 'InvalidArgument' && message.test(err.message), JSON.stringify(spec));
});

test('inputs add their producer as a dependency and steps come in dependency order', () => {
  const p = norm({ name: 'p', steps: [{ name: 'b', run: 'true', inputs: ['a/x.csv'] }, { name: 'a', run: 'true', outputs: ['x.csv'] }] });
  assert.deepEqual(p.steps.map((s) => s.name), ['a', 'b']);
  assert.deepEqual(p.steps[1].needs, ['a']);
  const builtin = norm({ name: 'p', steps: [{ name: 'load', uses: 'dataset.load', with: { dataset: 'loans' } }, { name: 'split', uses: 'split', inputs: ['load/data.csv'] }] });
  assert.deepEqual(builtin.steps[0].outputs, ['data.csv', 'dataset.json']);
});

test('parameters: defaults, required ones, types from the defaults, and substitution', () => {
  const p = norm({ name: 'p', params: { rows: 10, fast: false, tag: null }, steps: [{ name: 'a', run: 'true' }] });
  assert.throws(() => resolveParams(p, {}), /--param tag: pipeline p needs a value for "tag"/);
  assert.throws(() => resolveParams(p, { tag: 'x', nope: 1 }), /--param nope: pipeline p has no parameter "nope"/);
  assert.deepEqual(resolveParams(p, { tag: 'x', rows: '25', fast: 'true' }), { rows: 25, fast: true, tag: 'x' });
  assert.deepEqual(substituteParams({ n: '${params.rows}', s: 'v${params.rows}', l: ['${params.tag}'] }, { rows: 3, tag: 'x' }), { n: 3, s: 'v3', l: ['x'] });
});

test('durations, memory and resources', () => {
  assert.equal(parseDuration('10m', 't'), 600_000);
  assert.equal(parseDuration('250ms', 't'), 250);
  assert.equal(parseDuration(1500, 't'), 1500);
  assert.deepEqual(parseResources('cpu=2,gpu=1,memory=512Mi', '--resources', { cpu: 1, memory: 0, gpu: 0 }), { cpu: 2, gpu: 1, memory: 512 * 1024 ** 2 });
  assert.throws(() => parseResources('tpu=1', '--resources', { cpu: 1, memory: 0, gpu: 0 }), /--resources: unknown resource "tpu"/);
  assert.equal(definePipeline({ name: 'x', steps: [{ name: 'a', run: async () => undefined }] }).steps[0].name, 'a');
  assert.equal(norm(definePipeline({ name: 'x', steps: [{ name: 'a', run: async () => undefined }] })).steps[0].kind, 'function');
});
