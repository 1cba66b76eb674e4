/** Definitions: YAML and defineFeatures give one spec; validation names the field; plan and apply version the registry. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineFeatures, loadFeatureFile, parseDuration, type FeatureRepoSpec } from '../../src/features/index.js';
import { withoutPasswords } from '../../src/features/plan.js';
import { FeatureRepo } from '../../src/features/repo.js';
import type { Platform } from '../../src/platform.js';
import { testPlatform } from '../helpers/platform.js';
import { tempDir } from '../helpers/services.js';

const LOANS_YAML = fileURLToPath(new URL('../../assets/demo/loans/features.yaml', import.meta.url));

describe('features: definitions', () => {
  let platform: Platform;
  let loans: FeatureRepoSpec;

  before(async () => {
    platform = await testPlatform();
    loans = await loadFeatureFile(LOANS_YAML);
  });
  after(() => platform.close());

  const withChange = (edit: (s: FeatureRepoSpec) => void): FeatureRepoSpec => {
    const s = structuredClone(loans);
    edit(s);
    return s;
  };

  test('TTL durations', () => {
    assert.equal(parseDuration('30d', 'ttl'), 30 * 86_400_000);
    assert.equal(parseDuration('1d12h', 'ttl'), 36 * 3_600_000);
    assert.equal(parseDuration('90m', 'ttl'), 5_400_000);
    assert.equal(parseDuration('500ms', 'ttl'), 500);
    assert.equal(parseDuration('2w', 'ttl'), 14 * 86_400_000);
    assert.equal(parseDuration(undefined, 'ttl'), 0);
    assert.throws(() => parseDuration('30 days', 'feature_views[0].ttl'), /feature_views\[0\]\.ttl: "30 days" is not a duration/);
    assert.throws(() => parseDuration('d', 'ttl'), /not a duration/);
  });

  test('the YAML path is made absolute against the file; defineFeatures stores a transform as source', async () => {
    assert.equal(loans.sources[0].path, fileURLToPath(new URL('../../assets/demo/loans/customer_features.csv', import.meta.url)));
    const spec = defineFeatures({
      entities: loans.entities,
      sources: loans.sources,
      feature_views: loans.feature_views,
      on_demand_feature_views: [
        { name: 'ratios', sources: ['customer_stats'], request: [{ name: 'amount', dtype: 'float64' }], features: [{ name: 'r', dtype: 'float64' }], transform: (row) => ({ r: Number(row.amount) * 2 }) },
      ],
    });
    assert.match(spec.on_demand_feature_views![0].transform, /row\.amount/);
    const plan = await platform.services.features.plan(spec);
    assert.equal(plan.changes.length, 4);
  });

  test('bad definitions are refused naming the field', async () => {
    const f = platform.services.features;
    await assert.rejects(f.plan(withChange((s) => (s.feature_views[0].entities = ['shop']))), /feature_views\[0\]\.entities\[0\]: unknown entity "shop"; known: customer/);
    await assert.rejects(f.plan(withChange((s) => (s.feature_views[0].source = 'nowhere'))), /feature_views\[0\]\.source: unknown source "nowhere"/);
    await assert.rejects(f.plan(withChange((s) => (s.feature_views[0].ttl = 'a month'))), /feature_views\[0\]\.ttl: "a month" is not a duration/);
    await assert.rejects(f.plan(withChange((s) => s.feature_views[0].features.push({ name: 'income_band', dtype: 'string' }))), /feature_views\[0\]\.features\[3\]: column "income_band" is not in source customer_source .*; it has customer_id, event_timestamp/);
    await assert.rejects(f.plan(withChange((s) => (s.sources[0].created_timestamp_field = 'written_at'))), /sources\[0\]\.created_timestamp_field: column "written_at" is not in/);
    await assert.rejects(f.plan(withChange((s) => (s.feature_views[0].features[0].dtype = 'decimal' as never))), /features\[0\]\.dtype: "decimal" is not one of float64/);
    await assert.rejects(f.plan(withChange((s) => (s.feature_services![0].features = ['customer_stats:nope']))), /feature_services\[0\]\.features\[0\]: feature view "customer_stats" has no feature "nope"/);
    await assert.rejects(f.plan(withChange((s) => (s.on_demand_feature_views![0].transform = '(row) => {'))), /on_demand_feature_views\[0\]\.transform: does not compile/);
    await assert.rejects(f.plan(withChange((s) => ((s.feature_views[0] as unknown as Record<string, unknown>).ttl_days = 3))), /feature_views\[0\]/);
    await assert.rejects(f.plan(withChange((s) => (s.sources[0].path = '/nonexistent/x.csv'))), /source customer_source: .*no such file/);
  });

  test('apply stores a version; an unchanged apply stores none; plan shows a field diff and removals', async () => {
    const dir = tempDir('features-def');
    const f = platform.services.features;
    const first = await f.apply(loans, 'ana');
    assert.equal(first.currentVersion, 0);
    assert.equal(first.version, 1);
    assert.deepEqual(first.changes.map((c) => `${c.action} ${c.kind} ${c.name}`), [
      'added entity customer',
      'added source customer_source',
      'added feature_view customer_stats',
      'added on_demand_feature_view loan_ratios',
      'added feature_service loan_scoring',
    ]);
    assert.equal((await f.apply(loans)).version, 1);
    const edited = withChange((s) => {
      s.feature_views[0].ttl = '90d';
      s.feature_views[0].features[2].description = 'credit used / limit';
      s.feature_services = [];
    });
    const plan = await f.plan(edited);
    assert.deepEqual(plan.changes, [
      {
        kind: 'feature_view',
        name: 'customer_stats',
        action: 'changed',
        diff: [
          { path: 'ttl', before: '"60d"', after: '"90d"' },
          { path: 'features[utilization].description', after: '"credit used / limit"' },
        ],
      },
      { kind: 'feature_service', name: 'loan_scoring', action: 'removed', diff: [{ path: '.', before: JSON.stringify(loans.feature_services![0]) }] },
    ]);
    const second = await f.apply(edited);
    assert.equal(second.version, 2);
    const versions = await f.versions();
    assert.deepEqual(versions.map((v) => [v.version, v.creator]), [[1, 'ana'], [2, 'unknown']]);
    assert.equal((await f.latest())!.spec.feature_views[0].ttl, '90d');
    // A module definition loads the same way (here plain JavaScript, which needs no loader).
    const mod = join(dir, 'defs.mjs');
    writeFileSync(mod, `export default ${JSON.stringify({ ...edited, sources: [{ ...edited.sources[0], path: loans.sources[0].path }] })};\n`);
    assert.equal((await f.plan(await loadFeatureFile(mod))).changes.length, 0);
  });
});

test('plan output masks a source password given in the URL or as a query parameter', () => {
  const shown = withoutPasswords({ sources: [{ url: 'postgres://u:pw1@h/db' }, { url: 'postgres://u@h/db?password=pw2' }, { path: 'plain.csv' }] });
  assert.deepEqual(shown, { sources: [{ url: 'postgres://u:***@h/db' }, { url: 'postgres://u@h/db?password=***' }, { path: 'plain.csv' }] });
});

test('a remembered feature list answers as the first call did, and a bad request stays refused', async () => {
  const repo = new FeatureRepo(await loadFeatureFile(LOANS_YAML));
  const service = repo.spec.feature_services![0];
  const first = repo.resolveFeatures(undefined, service.name);
  assert.deepEqual(repo.resolveFeatures(undefined, service.name), first);
  assert.throws(() => repo.resolveFeatures([service.features[0]], service.name), /give either features or a feature service, not both/);
  const refs = repo.resolveFeatures([service.features[0]], undefined);
  assert.equal(repo.resolveFeatures([service.features[0]], undefined), refs);
  assert.throws(() => repo.resolveFeatures([`${service.features[0]}x`], undefined), /features\[0\]/);
});
