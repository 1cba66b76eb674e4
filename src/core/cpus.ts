/**
 * The CPUs this process may use. os.availableParallelism() counts the machine's CPUs (or its
 * affinity mask's), not a container's CPU quota: a container given 2 CPUs on a 64-core host would
 * size every thread pool for 64 and spend its quota switching between them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** One cgroup folder's quota in CPUs: v2's cpu.max, else v1's CFS quota over its period. */
function quotaAt(dir: string, v1: boolean): number | undefined {
  if (!v1) {
    const [max, period] = read(join(dir, 'cpu.max'))?.split(/\s+/) ?? [];
    return max === undefined || max === 'max' ? undefined : Number(max) / Number(period ?? 100_000) || undefined;
  }
  const quota = Number(read(join(dir, 'cpu.cfs_quota_us')));
  const period = Number(read(join(dir, 'cpu.cfs_period_us')));
  return quota > 0 && period > 0 ? quota / period : undefined;
}

/**
 * The CPU quota, in CPUs, of this process's cgroup and its parents (the smallest), under the
 * hierarchy mounted at `root`; `membership` is /proc/self/cgroup's text. Without a cgroup
 * namespace (a systemd unit's CPUQuota, `docker --cgroupns=host`) the process's cgroup is below
 * the mount's root, so the path comes from its membership line. Undefined when none is set.
 */
export function cgroupCpuLimit(root = '/sys/fs/cgroup', membership = read('/proc/self/cgroup') ?? ''): number | undefined {
  const lines = membership.split('\n').map((line) => line.split(':'));
  const v2 = lines.find(([id, controllers]) => id === '0' && controllers === '');
  const v1 = lines.find(([, controllers]) => controllers?.split(',').includes('cpu'));
  const [base, path, isV1] = v1 && read(join(root, 'cpu', 'cpu.cfs_period_us')) !== undefined ? [join(root, 'cpu'), v1[2], true] : [root, v2?.[2] ?? '/', false];
  const parts = (path ?? '/').split('/').filter((part) => part !== '' && part !== '..');
  let limit: number | undefined;
  for (let depth = parts.length; depth >= 0; depth--) {
    const q = quotaAt(join(base, ...parts.slice(0, depth)), isV1);
    if (q !== undefined) limit = Math.min(limit ?? Infinity, q);
  }
  return limit;
}

let count: number | undefined;

/** Whole CPUs to plan threads and processes for: the machine's, capped by the cgroup quota rounded up. */
export function cpuCount(): number {
  return (count ??= Math.max(1, Math.min(availableParallelism(), Math.ceil(cgroupCpuLimit() ?? Infinity))));
}
