/**
 * SQLite's write of newer rows (see OnlineStore.msetNewer), shared by the store's own
 * connection and by its writer thread.
 */
import type Database from 'better-sqlite3';

/** Rows per statement: many rows per statement spare a call into SQLite per row, and the statement journal a copy of the pages they share. */
const NEWER_ROWS = 200;

/**
 * Places of the keys in key order (stable, so the repeats of a key keep the order given):
 * rows go in in this order, so the key index is written page after page rather than all over
 * (a third of the work for a batch in no order). The writer thread is given it by the thread
 * that sends the rows, which makes it while the batch before is being written.
 */
export function keyOrder(keys: readonly string[]): Uint32Array {
  return Uint32Array.from(Array.from(keys, (_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0)));
}

/** A transaction that writes the newer rows of `keys`/`values`, in `order`, and returns how many it wrote. */
export function newerWriter(db: Database.Database): (keys: string[], values: Buffer[], headerBytes: number, order?: Uint32Array) => number {
  // One statement per (header length, rows), the length inlined: positional arguments only.
  // Rows apply in order, as one by one.
  const stmts = new Map<string, Database.Statement<(string | Buffer)[]>>();
  const stmt = (h: number, rows: number) => {
    let s = stmts.get(`${h}:${rows}`);
    if (!s) {
      const head = (v: string) => `substr(${v}, 1, ${Math.trunc(h)})`;
      s = db.prepare<(string | Buffer)[]>(
        `insert into kv (key, value, expires_at) values ${'(?, ?, null), '.repeat(rows - 1)}(?, ?, null) on conflict(key) do update set value = excluded.value, expires_at = null
         where ${head('kv.value')} < ${head('excluded.value')} or (${head('kv.value')} = ${head('excluded.value')} and kv.value <> excluded.value)`,
      );
      stmts.set(`${h}:${rows}`, s);
    }
    return s;
  };
  return db.transaction((keys: string[], values: Buffer[], headerBytes: number, order = keyOrder(keys)) => {
    let n = 0;
    const args: (string | Buffer)[] = new Array(2 * NEWER_ROWS);
    let i = 0;
    for (const many = stmt(headerBytes, NEWER_ROWS); i + NEWER_ROWS <= keys.length; i += NEWER_ROWS) {
      for (let k = 0; k < NEWER_ROWS; k++) {
        args[2 * k] = keys[order[i + k]];
        args[2 * k + 1] = values[order[i + k]];
      }
      n += many.run(...args).changes;
    }
    for (const one = stmt(headerBytes, 1); i < keys.length; i++) n += one.run(keys[order[i]], values[order[i]]).changes;
    return n;
  });
}

/** The kv table, created by whichever connection opens the file first. */
export const KV_TABLE = 'create table if not exists kv (key text primary key, value blob not null, expires_at integer)';

/** Connection settings every connection to the file uses. */
export function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
}
