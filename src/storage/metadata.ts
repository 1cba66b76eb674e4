/**
 * Metadata store port: one Kysely handle over SQLite (embedded) or PostgreSQL (scale-out).
 * Domains declare their own table types and migrations; this module only knows how to open,
 * migrate, ping and close a database, and how to recognise the errors both engines share.
 */
import { mkdirSync, accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { userInfo } from 'node:os';
import { CompiledQuery, Kysely, Migrator, PostgresAdapter, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type Driver, type Migration } from 'kysely';
import Database from 'better-sqlite3';
import type { StoreUri } from '../config.js';
import { invalidArgument, unavailable } from '../core/errors.js';
import { SchemaSafePostgresDialect } from './pg-introspector.js';

export type Dialect = 'sqlite' | 'postgres';

export interface MetadataStore {
  readonly dialect: Dialect;
  /** The PostgreSQL schema this installation lives in, when one was named (`?schema=`). */
  readonly schema?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  /**
   * Runs `fn` with writes a power cut may lose but a crash never corrupts: SQLite commits them
   * without an fsync (synchronous = NORMAL on WAL, for their span only), PostgreSQL without
   * waiting for its WAL flush (synchronous_commit off). For rows rewritten every second, such
   * as heartbeats, whose fsync would otherwise stall SQLite's event loop each time.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  volatileWrites<T>(fn: (db: Kysely<any>) => Promise<T>): Promise<T>;
  /** Checks the database answers; throws Unavailable when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Migrations keyed by name; names sort in the order they must run (e.g. `0100_tracking_init`). */
export type Migrations = Record<string, Migration>;

/** For migrations, which see only the Kysely handle: column types and table options differ. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const isPostgres = (db: Kysely<any>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export async function openMetadataStore(uri: StoreUri): Promise<MetadataStore> {
  return uri.kind === 'sqlite' ? openSqlite(uri.path) : openPostgres(uri.url, uri.schema);
}

/**
 * Transactions take the write lock when they begin. A deferred transaction that reads first and
 * writes later fails at once with SQLITE_BUSY (no busy wait can help) when another connection,
 * such as the prediction log's writer thread, committed in between; an immediate one waits its
 * turn (busy_timeout) instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }
}

/** Prepared statements kept per connection; query texts that vary (such as `in` lists) fall out. */
const STATEMENT_CACHE = 256;

/**
 * The connection as Kysely's SQLite driver sees it, with each statement prepared once: the
 * driver prepares every query it runs, and for the multi-row inserts of the prediction log
 * preparing cost twice what running did.
 */
function cachingStatements(database: Database.Database): ConstructorParameters<typeof SqliteDialect>[0]['database'] {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        // Most recently used last, so the first key is the one to drop.
        cache.delete(text);
      } else {
        statement = database.prepare(text);
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

function openSqlite(path: string): MetadataStore {
  if (path !== ':memory:') ensureWritableDir(dirname(path));
  let database: Database.Database;
  try {
    database = new Database(path);
  } catch (err) {
    throw invalidArgument(`--store: cannot open SQLite database ${path}: ${(err as Error).message}`);
  }
  database.pragma('journal_mode = WAL');
  // NORMAL in WAL mode can lose the last commits on power loss but never on a process crash;
  // FULL makes an acknowledged write survive both, which is what "acknowledged" promises.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<any>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(database) }) });
  return {
    dialect: 'sqlite',
    db,
    // One connection for the span: nothing else runs on it while synchronous is lowered.
    volatileWrites: (fn) =>
      db.connection().execute(async (conn) => {
        await sql`pragma synchronous = normal`.execute(conn);
        try {
          return await fn(conn);
        } finally {
          await sql`pragma synchronous = full`.execute(conn);
        }
      }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * A URL that names no user connects as the OS user, as psql and libpq do; node-postgres would take
 * $USER, which daemons and containers often leave unset.
 */
export function withDefaultUser(url: string): string {
  const u = new URL(url);
  if (u.username || process.env.PGUSER) return url;
  try {
    u.username = userInfo().username;
  } catch {
    // No passwd entry for this uid: leave the choice to the driver.
    return url;
  }
  return u.toString();
}

async function openPostgres(url: string, schema: string | undefined): Promise<MetadataStore> {
  // Loaded on demand: the embedded default should not pay for drivers it does not use.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: withDefaultUser(url),
    max: 10,
    connectionTimeoutMillis: 5000,
    // Every connection works inside the configured schema, so several deployments (or test
    // runs) can share one database.
    options: schema ? `-c search_path=${schema}` : undefined,
    types: {
      getTypeParser: (oid: number, format?: any) =>
        // int8 and numeric come back as strings by default; our ids, counts and millisecond
        // timestamps fit in a double.
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
    },
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on next use.
  });
  try {
    const client = await pool.connect();
    try {
      if (schema) await createSchema(client, schema);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    const safe = new URL(url);
    if (safe.password) safe.password = '***';
    throw unavailable(`--store: cannot reach PostgreSQL at ${safe.host}${safe.pathname}: ${describePgError(err)}`);
  }
  const db = new Kysely<any>({ dialect: new SchemaSafePostgresDialect({ pool }) });
  return {
    dialect: 'postgres',
    schema,
    db,
    volatileWrites: (fn) =>
      db.transaction().execute(async (trx) => {
        await sql`set local synchronous_commit = off`.execute(trx);
        return fn(trx);
      }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * Creates the schema unless it exists. Replicas starting together on a new schema race here:
 * `if not exists` does not stop two of them inserting the name, and the loser's unique
 * violation (or duplicate schema) means the schema is there.
 */
async function createSchema(client: { query(text: string): Promise<unknown> }, schema: string): Promise<void> {
  try {
    await client.query(`create schema if not exists "${schema}"`);
  } catch (err) {
    if (!isUniqueViolation(err) && (err as { code?: string }).code !== '42P06') throw err;
  }
}

function describePgError(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: { message: string }[] };
  if (e.code === 'ECONNREFUSED') return 'connection refused (is the server running?)';
  if (e.errors?.length) return e.errors.map((x) => x.message).join('; ');
  return e.message ?? String(err);
}

export function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw invalidArgument(`data folder ${dir} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Runs every pending migration; returns the name of the newest one applied (the schema version). */
export async function migrate(store: MetadataStore, migrations: Migrations): Promise<string | undefined> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
    // Domains add migrations independently; a name that sorts earlier than one already applied
    // must still run instead of blocking start-up.
    allowUnorderedMigrations: true,
    migrationTableName: 'mp_migration',
    migrationLockTableName: 'mp_migration_lock',
    // Kysely looks for its tables without regard to search_path; naming the schema keeps
    // installations that share one database from seeing each other's migration tables.
    migrationTableSchema: store.schema,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
  const applied = await migrator.getMigrations();
  return applied.filter((m) => m.executedAt).map((m) => m.name).sort().at(-1);
}

/** True for a unique or primary-key violation on either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True for a foreign-key violation on either engine. */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
