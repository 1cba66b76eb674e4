/** The search grammar: what parses to which clauses, and where parsing fails. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPERIMENTS, RUNS, parseFilter, parseOrderBy } from '../../src/tracking/search.js';
import { likeToGlob } from '../../src/tracking/search-sql.js';
import { ModelportError } from '../../src/core/errors.js';

test('entity aliases, quoting styles, dotted keys and every comparator', () => {
  assert.deepEqual(parseFilter('', RUNS), []);
  assert.deepEqual(
    parseFilter(
      "metric.acc >= 0.9 and params.`batch size` = '32' AND tag.\"team-name\" ILIKE '%ml%' and attr.status IN ('FINISHED','FAILED') and metrics.val.loss < -1.5e-3",
      RUNS,
    ),
    [
      { type: 'metric', key: 'acc', comparator: '>=', value: 0.9 },
      { type: 'param', key: 'batch size', comparator: '=', value: '32' },
      { type: 'tag', key: 'team-name', comparator: 'ILIKE', value: '%ml%' },
      { type: 'attribute', key: 'status', comparator: 'IN', value: ['FINISHED', 'FAILED'] },
      { type: 'metric', key: 'val.loss', comparator: '<', value: -0.0015 },
    ],
  );
  assert.deepEqual(parseFilter('run_id NOT IN ("a", \'b\')', RUNS), [{ type: 'attribute', key: 'run_id', comparator: 'NOT IN', value: ['a', 'b'] }]);
  assert.deepEqual(parseFilter('created > 5 and `Run Name` <> "x" and tags.note IS NOT NULL', RUNS), [
    { type: 'attribute', key: 'start_time', comparator: '>', value: 5 },
    { type: 'attribute', key: 'run_name', comparator: '!=', value: 'x' },
    { type: 'tag', key: 'note', comparator: 'IS NOT NULL', value: null },
  ]);
  assert.deepEqual(parseFilter("datasets.context = 'training'", RUNS), [{ type: 'dataset', key: 'context', comparator: '=', value: 'training' }]);
  assert.deepEqual(parseFilter("name LIKE 'a%' AND creation_time > 10", EXPERIMENTS), [
    { type: 'attribute', key: 'name', comparator: 'LIKE', value: 'a%' },
    { type: 'attribute', key: 'creation_time', comparator: '>', value: 10 },
  ]);
});

test('failures name the token and its position', () => {
  const fails = (filter: string, message: RegExp, dict = RUNS) =>
    assert.throws(
      () => parseFilter(filter, dict),
      (err: unknown) => err instanceof ModelportError && err.code === 'InvalidArgument' && message.test(err.message),
      filter,
    );
  fails('metrics.acc > 1 OR metrics.acc < 0', /^filter: OR is not supported \(join conditions with AND\) at "OR" \(position 17\)$/);
  fails("params.lr > '1'", /comparator > is not valid for params.*at ">" \(position 11\)/);
  fails('attributes.run_id IN (1, 2)', /expected a quoted string in the list at "1"/);
  fails("metrics.'acc' > 1", /keys are quoted with double quotes or backticks/);
  fails('datasets.size = "1"', /invalid dataset key "size"/);
  fails("params.lr = 'a' AND", /expected an identifier.*the end of the filter \(position 20\)/);
  fails("datasets.name = 'x'", /invalid entity type; valid types are attribute, tag/, EXPERIMENTS);
  fails('metrics = 1', /expected "." and a key after the entity type/);
  assert.throws(() => parseOrderBy(['metrics.acc DESC extra'], RUNS), /expected the end of the order_by item at "extra"/);
  assert.throws(() => parseOrderBy(['datasets.name'], RUNS), /datasets cannot be ordered by/);
});

test('order_by items', () => {
  assert.deepEqual(parseOrderBy(['metrics.acc DESC', 'params.lr', 'attributes.start_time asc', 'tags.`a b` DESC'], RUNS), [
    { type: 'metric', key: 'acc', ascending: false },
    { type: 'param', key: 'lr', ascending: true },
    { type: 'attribute', key: 'start_time', ascending: true },
    { type: 'tag', key: 'a b', ascending: false },
  ]);
  assert.throws(() => parseOrderBy(['start_time', 'created DESC'], RUNS), /duplicate fields/);
  assert.throws(() => parseOrderBy(['attributes.status_code'], RUNS), /invalid order_by attribute "status_code"/);
});

test('LIKE patterns become case-sensitive GLOB patterns with GLOB wildcards escaped', () => {
  assert.equal(likeToGlob('a%b_c'), 'a*b?c');
  assert.equal(likeToGlob('*[?'), '[*][[][?]');
});
