import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform } from '../src/platform.js';
import { testConfig } from './helpers/platform.js';

test('process metrics are in /metrics by default, and left out of a platform opened without them', async () => {
  for (const [options, expected] of [[{}, true], [{ processMetrics: false }, false]] as const) {
    const platform = await createPlatform(testConfig(), options);
    try {
      const text = await platform.services.serving.metrics.text();
      for (const name of ['modelport_nodejs_eventloop_lag_seconds', 'modelport_nodejs_gc_duration_seconds', 'modelport_process_cpu_user_seconds_total']) {
        assert.equal(text.includes(`# TYPE ${name} `), expected, `${name} with ${JSON.stringify(options)}`);
      }
      // Serving's own metrics are there either way.
      assert.match(text, /# TYPE modelport_requests_total counter/);
    } finally {
      await platform.close();
    }
  }
});
