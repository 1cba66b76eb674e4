/**
 * Enforces a command step's `resources.memory`: the resident memory of every process in the
 * step's process group is summed from /proc a few times a second, and the group is killed once
 * the sum passes the limit. Watching the group, not setting RLIMIT_AS, is deliberate: runtimes
 * such as V8 and the JVM reserve far more address space than they use, so an address-space
 * limit would fail them long before their real use reaches it, and a limit on one process would
 * not see the children a shell starts.
 */
import { readdirSync, readFileSync } from 'node:fs';

const POLL_MS = 100;

/** Resident bytes of the processes whose process group is `pgid` (0 when /proc cannot be read). */
export function groupResidentBytes(pgid: number): number {
  let bytes = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // The command name is in parentheses and may hold spaces: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[2] is the process group (field 5 of stat). Resident memory is read from status, in
    // kB, because stat counts pages and the page size differs between machines.
    if (Number(fields[2]) !== pgid) continue;
    try {
      const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      bytes += rss ? Number(rss[1]) * 1024 : 0;
    } catch {
      // exited meanwhile
    }
  }
  return bytes;
}

export interface MemoryWatch {
  /** The largest sum seen when the group went over its limit, else undefined. */
  readonly exceeded: number | undefined;
  stop(): void;
}

/** Polls the group until stopped; calls `kill` once when it goes over `limitBytes`. */
export function watchGroupMemory(pgid: number, limitBytes: number, kill: () => void): MemoryWatch {
  let exceeded: number | undefined;
  const timer = setInterval(() => {
    const used = groupResidentBytes(pgid);
    if (used <= limitBytes) return;
    exceeded = used;
    clearInterval(timer);
    kill();
  }, POLL_MS);
  return {
    get exceeded() {
      return exceeded;
    },
    stop: () => clearInterval(timer),
  };
}

export const mebibytes = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
