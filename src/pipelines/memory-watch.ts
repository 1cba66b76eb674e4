/**
 * Enforces a command step's `resources.memory`: the resident memory of every process in the
 * step's process group is summed from /proc a few times a second, and the group is killed once
 * the sum passes the limit. Watching the group, not setting RLIMIT_AS, is deliberate: runtimes
 * such as V8 and the JVM reserve far more address space than they use, so an address-space
 * limit would fail them long before their real use reaches it, and a limit on one process would
 * not see the children a shell starts.
 */
import { readdir, readFile } from 'node:fs/promises';

const POLL_MS = 100;

/** Resident bytes of one process, if it is in process group `pgid` (0 otherwise, or once it has exited). */
async function residentInGroup(pid: string, pgid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // The command name is in parentheses and may hold spaces: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[2] is the process group (field 5 of stat). Resident memory is read from status, in
    // kB, because stat counts pages and the page size differs between machines.
    if (Number(fields[2]) !== pgid) return 0;
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'latin1'));
    return rss ? Number(rss[1]) * 1024 : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

/**
 * Resident bytes of the processes whose process group is `pgid` (0 when /proc cannot be read).
 * Read asynchronously: the scan covers every process on the host, in the server's process.
 */
export async function groupResidentBytes(pgid: number): Promise<number> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return 0;
  }
  const sizes = await Promise.all(pids.map((pid) => residentInGroup(pid, pgid)));
  return sizes.reduce((sum, n) => sum + n, 0);
}

export interface MemoryWatch {
  /** The largest sum seen when the group went over its limit, else undefined. */
  readonly exceeded: number | undefined;
  stop(): void;
}

/** Polls the group until stopped, one scan at a time; calls `kill` once when it goes over `limitBytes`. */
export function watchGroupMemory(pgid: number, limitBytes: number, kill: () => void): MemoryWatch {
  let exceeded: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout;
  const poll = async () => {
    const used = await groupResidentBytes(pgid);
    if (stopped) return;
    if (used > limitBytes) {
      exceeded = used;
      stopped = true;
      kill();
      return;
    }
    timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  return {
    get exceeded() {
      return exceeded;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export const mebibytes = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
