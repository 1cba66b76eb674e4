/**
 * Parsed search clauses → SQL fragments. Column names come only from the grammar's whitelists;
 * every key and value the user wrote is a bound parameter. LIKE is case-sensitive on both
 * engines (SQLite's LIKE is not, so it becomes GLOB there) and ILIKE is case-insensitive.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Dialect } from '../storage/metadata.js';
import type { Clause, Comparator, OrderBy } from './search.js';

type Fragment = RawBuilder<unknown>;

/** SQL LIKE pattern → SQLite GLOB pattern (GLOB is case-sensitive; its own wildcards are escaped). */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '%') out += '*';
    else if (ch === '_') out += '?';
    else if (ch === '*' || ch === '?' || ch === '[') out += `[${ch}]`;
    else out += ch;
  }
  return out;
}

export function stringCondition(dialect: Dialect, column: Fragment, comparator: Comparator, value: Clause['value']): Fragment {
  switch (comparator) {
    case '=':
      return sql`${column} = ${value}`;
    case '!=':
      return sql`${column} <> ${value}`;
    case 'LIKE':
      return dialect === 'sqlite' ? sql`${column} glob ${likeToGlob(String(value))}` : sql`${column} like ${value} escape ''`;
    case 'ILIKE':
      return dialect === 'sqlite' ? sql`lower(${column}) like lower(${value})` : sql`${column} ilike ${value} escape ''`;
    case 'IN':
      return sql`${column} in (${sql.join(value as string[])})`;
    case 'NOT IN':
      return sql`${column} not in (${sql.join(value as string[])})`;
    default:
      throw new Error(`string comparator ${comparator} reached SQL generation`);
  }
}

const NUMERIC_SQL: Record<string, Fragment> = {
  '=': sql.raw('='),
  '!=': sql.raw('<>'),
  '<': sql.raw('<'),
  '<=': sql.raw('<='),
  '>': sql.raw('>'),
  '>=': sql.raw('>='),
};

export function numericCondition(column: Fragment, comparator: Comparator, value: number): Fragment {
  const op = NUMERIC_SQL[comparator];
  if (!op) throw new Error(`numeric comparator ${comparator} reached SQL generation`);
  return sql`${column} ${op} ${value}`;
}

/** One run-search clause as a boolean SQL expression over `r` (tracking_run). */
export function runClauseSql(dialect: Dialect, clause: Clause): Fragment {
  const { type, key, comparator, value } = clause;
  switch (type) {
    case 'attribute': {
      const column = sql.ref(`r.${key}`);
      return typeof value === 'number' ? numericCondition(column, comparator, value) : stringCondition(dialect, column, comparator, value);
    }
    case 'metric': {
      // NaN compares unequal to everything, as in IEEE arithmetic and MLflow's file store.
      const cond =
        comparator === '!='
          ? sql`(m.is_nan = 1 or m.value <> ${value})`
          : sql`m.is_nan = 0 and ${numericCondition(sql.ref('m.value'), comparator, value as number)}`;
      return sql`exists (select 1 from tracking_latest_metric m where m.run_pk = r.run_pk and m.key = ${key} and ${cond})`;
    }
    case 'param':
    case 'tag': {
      const table = sql.table(type === 'param' ? 'tracking_param' : 'tracking_tag');
      if (comparator === 'IS NULL') return sql`not exists (select 1 from ${table} kv where kv.run_pk = r.run_pk and kv.key = ${key})`;
      if (comparator === 'IS NOT NULL') return sql`exists (select 1 from ${table} kv where kv.run_pk = r.run_pk and kv.key = ${key})`;
      const cond = stringCondition(dialect, sql.ref('kv.value'), comparator, value);
      return sql`exists (select 1 from ${table} kv where kv.run_pk = r.run_pk and kv.key = ${key} and ${cond})`;
    }
    case 'dataset': {
      const column = key === 'context' ? sql.ref('i.context') : sql.ref(`d.${key}`);
      const cond = stringCondition(dialect, column, comparator, value);
      return sql`exists (select 1 from tracking_run_input i join tracking_dataset d on d.dataset_uuid = i.dataset_uuid where i.run_pk = r.run_pk and ${cond})`;
    }
  }
}

/** One experiment-search clause over `e` (tracking_experiment). */
export function experimentClauseSql(dialect: Dialect, clause: Clause): Fragment {
  const { type, key, comparator, value } = clause;
  if (type === 'tag') {
    const cond = stringCondition(dialect, sql.ref('t.value'), comparator, value);
    return sql`exists (select 1 from tracking_experiment_tag t where t.experiment_id = e.experiment_id and t.key = ${key} and ${cond})`;
  }
  const column = sql.ref(`e.${key}`);
  return typeof value === 'number' ? numericCondition(column, comparator, value) : stringCondition(dialect, column, comparator, value);
}

export interface RunOrderSql {
  joins: Fragment[];
  orderBy: Fragment[];
}

/**
 * MLflow's run order: each requested key with missing values last (and NaN metrics after the
 * numbers) whatever the direction, then start_time DESC unless requested, then run_id.
 */
export function runOrderSql(order: OrderBy[]): RunOrderSql {
  const joins: Fragment[] = [];
  const orderBy: Fragment[] = [];
  order.forEach((o, i) => {
    const dir = sql.raw(o.ascending ? 'asc' : 'desc');
    if (o.type === 'attribute') {
      const column = sql.ref(`r.${o.key}`);
      orderBy.push(sql`case when ${column} is null then 1 else 0 end`, sql`${column} ${dir}`);
      return;
    }
    const alias = sql.raw(`o${i}`);
    const table = sql.table(o.type === 'metric' ? 'tracking_latest_metric' : o.type === 'param' ? 'tracking_param' : 'tracking_tag');
    joins.push(sql`left join ${table} ${alias} on ${alias}.run_pk = r.run_pk and ${alias}.key = ${o.key}`);
    if (o.type === 'metric') {
      orderBy.push(sql`case when ${alias}.value is null then 2 when ${alias}.is_nan = 1 then 1 else 0 end`);
    } else {
      orderBy.push(sql`case when ${alias}.value is null then 1 else 0 end`);
    }
    orderBy.push(sql`${alias}.value ${dir}`);
  });
  if (!order.some((o) => o.type === 'attribute' && o.key === 'start_time')) orderBy.push(sql`r.start_time desc`);
  orderBy.push(sql`r.run_id asc`);
  return { joins, orderBy };
}
