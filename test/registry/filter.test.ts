/** MLflow's registry filter grammar: what parses, into what, and MLflow's messages for what does not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePageToken, encodePageToken, parseFilter, parseOrderBy } from '../../src/registry/filter.js';
import { likeToGlob } from '../../src/registry/sql.js';

test('comparisons joined by AND, with quoted, backticked and double-quoted keys', () => {
  assert.deepEqual(parseFilter('', 'registered_models'), []);
  assert.deepEqual(parseFilter("name = 'a' and tags.`my.key` LIKE '%x%' AND tags.\"team name\" != \"risk\"", 'registered_models'), [
    { type: 'attribute', key: 'name', comparator: '=', value: 'a' },
    { type: 'tag', key: 'my.key', comparator: 'LIKE', value: '%x%' },
    { type: 'tag', key: 'team name', comparator: '!=', value: 'risk' },
  ]);
  assert.deepEqual(parseFilter("attributes.name ilike 'Fr%' AND tag.k <> 'it''s'", 'registered_models'), [
    { type: 'attribute', key: 'name', comparator: 'ILIKE', value: 'Fr%' },
    { type: 'tag', key: 'k', comparator: '!=', value: "it's" },
  ]);
  assert.deepEqual(parseFilter("run_id IN ('a', 'b') AND version_number > 2 AND source_path = 's3://x'", 'model_versions'), [
    { type: 'attribute', key: 'run_id', comparator: 'IN', value: ['a', 'b'] },
    { type: 'attribute', key: 'version_number', comparator: '>', value: 2 },
    { type: 'attribute', key: 'source_path', comparator: '=', value: 's3://x' },
  ]);
  assert.deepEqual(parseFilter("version_number = '3'", 'model_versions'), [{ type: 'attribute', key: 'version_number', comparator: '=', value: 3 }]);
});

test('what MLflow refuses is refused with its message', () => {
  const refuses = (filter: string, entity: 'registered_models' | 'model_versions', message: RegExp) =>
    assert.throws(() => parseFilter(filter, entity), (err: Error & { code?: string }) => err.code === 'InvalidArgument' && message.test(err.message), filter);
  refuses("name = 'a' OR name = 'b'", 'registered_models', /Invalid clause\(s\) in filter string: OR/);
  refuses("(name = 'a')", 'registered_models', /expected an identifier/);
  refuses("run_id = 'a'", 'registered_models', /Invalid attribute key 'run_id' specified. Valid keys are 'name'/);
  refuses("metrics.acc > 1", 'registered_models', /Invalid entity type 'metrics'/);
  refuses("name IN ('a')", 'model_versions', /Only the 'run_id' attribute supports comparison with a list/);
  refuses("run_id NOT IN ('a')", 'model_versions', /Invalid comparator for attribute run_id: NOT IN/);
  refuses('tags.k = 5', 'registered_models', /Expected a quoted string value for tag/);
  refuses("tags.k > 'a'", 'registered_models', /Invalid comparator for tag: >/);
  refuses('name = a', 'registered_models', /Expected a quoted string value for attributes/);
  refuses("version_number LIKE '1%'", 'model_versions', /Invalid comparator for attribute version_number: LIKE/);
  refuses("version_number = 'x'", 'model_versions', /Expected an integer value/);
  refuses("name = 'a' AND", 'registered_models', /nothing follows AND/);
  refuses("name = 'a", 'registered_models', /unterminated quoted string/);
  refuses("name = 'a'; DROP TABLE reg_model", 'registered_models', /unexpected character ';'/);
});

test('LIKE patterns become GLOB patterns with GLOB specials kept literal', () => {
  assert.equal(likeToGlob('a%b_c'), 'a*b?c');
  assert.equal(likeToGlob('x*y?[z]'), 'x[*]y[?][[]z]');
});

test('order_by and page tokens', () => {
  assert.deepEqual(parseOrderBy(['name DESC', 'last_updated_timestamp'], ['name', 'last_updated_timestamp']), [
    { key: 'name', ascending: false },
    { key: 'last_updated_timestamp', ascending: true },
  ]);
  assert.throws(() => parseOrderBy(['name; drop'], ['name']), /Invalid order_by clause/);
  assert.throws(() => parseOrderBy(['name', 'name DESC'], ['name']), /duplicate fields/);
  assert.equal(decodePageToken(encodePageToken(200)), 200);
  assert.equal(decodePageToken(undefined), 0);
  assert.throws(() => decodePageToken('%%%'), /Invalid page token/);
});
