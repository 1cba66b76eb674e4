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

/** The CPU quota of the cgroup mounted at `root` (v2 cpu.max, else v1's CFS quota), in CPUs; undefined when there is none. */
export function cgroupCpuLimit(root = '/sys/fs/cgroup'): number | undefined {
  const v2 = read(join(root, 'cpu.max'))?.split(/\s+/);
  if (v2) return v2[0] === 'max' ? undefined : Number(v2[0]) / Number(v2[1] ?? 100_000) || undefined;
  const quota = Number(read(join(root, 'cpu', 'cpu.cfs_quota_us')));
  const period = Number(read(join(root, 'cpu', 'cpu.cfs_period_us')));
  return quota > 0 && period > 0 ? quota / period : undefined;
}

let count: number | undefined;

/** Whole CPUs to plan threads and processes for: the machine's, capped by the cgroup quota rounded up. */
export function cpuCount(): number {
  return (count ??= Math.max(1, Math.min(availableParallelism(), Math.ceil(cgroupCpuLimit() ?? Infinity))));
}
