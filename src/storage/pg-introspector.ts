/**
 * A PostgreSQL catalog reader for Kysely that is safe while other sessions change the schema.
 *
 * Kysely's own introspector (which its Migrator uses to find the migration tables) reads the
 * columns of every schema in the database and resolves each column's serial sequence by name
 * with pg_get_serial_sequence. A name lookup sees the catalog as it is now, not as the query's
 * snapshot saw it, so when another session adds or drops a column or a schema meanwhile (a
 * second replica migrating, another installation sharing the database) the read fails with
 * 42703, 42P01 or 3F000. This reader joins the catalog tables only, which MVCC keeps
 * consistent, and stays inside the installation's schema when one is named.
 */
import { PostgresDialect, sql, type DatabaseIntrospector, type DatabaseMetadata, type DatabaseMetadataOptions, type Kysely, type SchemaMetadata, type TableMetadata } from 'kysely';

export class SchemaSafePostgresDialect extends PostgresDialect {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CatalogIntrospector(db);
  }
}

interface ColumnRow {
  schema: string;
  table: string;
  kind: string;
  column: string | null;
  data_type: string | null;
  data_type_schema: string | null;
  not_null: boolean | null;
  has_default: boolean | null;
  auto_increment: boolean | null;
  comment: string | null;
}

class CatalogIntrospector implements DatabaseIntrospector {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly db: Kysely<any>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`
      select nspname as name from pg_catalog.pg_namespace
      where nspname !~ '^pg_' and nspname <> 'information_schema'
      order by nspname`.execute(this.db);
    return rows;
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    // A configured search_path names the installation's schema first; without one, "public".
    const { rows } = await sql<ColumnRow>`
      select n.nspname as schema, c.relname as table, c.relkind as kind,
             a.attname as column, t.typname as data_type, tn.nspname as data_type_schema,
             a.attnotnull as not_null, a.atthasdef as has_default,
             (a.attidentity <> '' or exists (
               select 1 from pg_catalog.pg_depend d
               join pg_catalog.pg_class s on s.oid = d.objid and s.relkind = 'S'
               where d.classid = 'pg_catalog.pg_class'::regclass
                 and d.refclassid = 'pg_catalog.pg_class'::regclass
                 and d.refobjid = c.oid and d.refobjsubid = a.attnum)) as auto_increment,
             col_description(c.oid, a.attnum) as comment
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      left join pg_catalog.pg_type t on t.oid = a.atttypid
      left join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
      where c.relkind in ('r', 'v', 'p', 'm')
        and n.nspname = any (current_schemas(false))
      order by n.nspname, c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, { name: string; schema: string; isView: boolean; columns: TableMetadata['columns'][number][] }>();
    for (const row of rows) {
      if (!options.withInternalKyselyTables && row.table.startsWith('kysely_')) continue;
      const key = `${row.schema}.${row.table}`;
      let table = tables.get(key);
      if (!table) {
        table = { name: row.table, schema: row.schema, isView: row.kind === 'v' || row.kind === 'm', columns: [] };
        tables.set(key, table);
      }
      if (row.column === null) continue;
      table.columns.push({
        name: row.column,
        dataType: row.data_type ?? '',
        dataTypeSchema: row.data_type_schema ?? undefined,
        isNullable: !row.not_null,
        hasDefaultValue: row.has_default ?? false,
        isAutoIncrementing: row.auto_increment ?? false,
        comment: row.comment ?? undefined,
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
