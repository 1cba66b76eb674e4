import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupCpuLimit, cpuCount } from '../../src/core/cpus.js';

test("a cgroup's CPU quota caps the CPUs threads are planned for: v2 cpu.max, v1 CFS quota, none", () => {
  const root = mkdtempSync(join(tmpdir(), 'mp-cgroup-'));
  try {
    const v2 = join(root, 'v2');
    mkdirSync(v2);
    writeFileSync(join(v2, 'cpu.max'), '150000 100000\n');
    assert.equal(cgroupCpuLimit(v2), 1.5);
    writeFileSync(join(v2, 'cpu.max'), 'max 100000\n');
    assert.equal(cgroupCpuLimit(v2), undefined);
    const v1 = join(root, 'v1');
    mkdirSync(join(v1, 'cpu'), { recursive: true });
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_quota_us'), '300000\n');
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    assert.equal(cgroupCpuLimit(v1), 3);
    writeFileSync(join(v1, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
    assert.equal(cgroupCpuLimit(v1), undefined);
    assert.equal(cgroupCpuLimit(join(root, 'absent')), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const n = cpuCount();
  assert.ok(Number.isInteger(n) && n >= 1 && n <= availableParallelism(), `cpuCount ${n}`);
});
