import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupCpuLimit, cpuCount } from '../../src/core/cpus.js';

test("a cgroup's CPU quota caps the CPUs threads are planned for: v2 cpu.max, v1 CFS quota, the process's own cgroup and its parents, none", () => {
  const root = mkdtempSync(join(tmpdir(), 'mp-cgroup-'));
  const put = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  try {
    const v2 = join(root, 'v2');
    put('v2/cpu.max', '150000 100000\n');
    assert.equal(cgroupCpuLimit(v2, '0::/\n'), 1.5);
    put('v2/cpu.max', 'max 100000\n');
    assert.equal(cgroupCpuLimit(v2, '0::/\n'), undefined);
    // Without a cgroup namespace: the process's cgroup lies below the root, its parent sets a larger quota.
    put('v2/system.slice/cpu.max', '400000 100000\n');
    put('v2/system.slice/app.service/cpu.max', '200000 100000\n');
    assert.equal(cgroupCpuLimit(v2, '0::/system.slice/app.service\n'), 2);
    put('v2/system.slice/app.service/cpu.max', 'max 100000\n');
    assert.equal(cgroupCpuLimit(v2, '0::/system.slice/app.service\n'), 4);

    const v1 = join(root, 'v1');
    put('v1/cpu/cpu.cfs_quota_us', '-1\n');
    put('v1/cpu/cpu.cfs_period_us', '100000\n');
    put('v1/cpu/docker/abc/cpu.cfs_quota_us', '300000\n');
    put('v1/cpu/docker/abc/cpu.cfs_period_us', '100000\n');
    assert.equal(cgroupCpuLimit(v1, '4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n'), 3);
    assert.equal(cgroupCpuLimit(v1, '4:cpu,cpuacct:/\n'), undefined);
    assert.equal(cgroupCpuLimit(join(root, 'absent'), '0::/\n'), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const n = cpuCount();
  assert.ok(Number.isInteger(n) && n >= 1 && n <= availableParallelism(), `cpuCount ${n}`);
});
