/**
 * MLflow's search grammar for runs and experiments: comparisons joined by AND,
 * `<type>.<key> <op> <value>`, and `order_by` items `<type>.<key> [ASC|DESC]`. Parsing yields a
 * typed list of clauses; turning them into SQL (with every key and value bound as a parameter)
 * is the store's job. Errors name the token, and its position, where parsing stopped.
 */
import { invalidArgument } from '../core/errors.js';

export type EntityType = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

export type Clause =
  | { type: EntityType; key: string; comparator: Comparator; value: string | number | string[] | null };

export interface OrderBy {
  type: Exclude<EntityType, 'dataset'>;
  key: string;
  ascending: boolean;
}

type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'string'; text: string; quote: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'op'; text: string; pos: number }
  | { kind: 'punct'; text: '(' | ')' | ',' | '.'; pos: number }
  | { kind: 'end'; text: ''; pos: number };

// Maps, not objects: these are looked up by what a client typed ("__proto__", "toString").
const ENTITY_ALIASES = new Map<string, EntityType>([
  ['metric', 'metric'],
  ['metrics', 'metric'],
  ['param', 'param'],
  ['params', 'param'],
  ['parameter', 'param'],
  ['parameters', 'param'],
  ['tag', 'tag'],
  ['tags', 'tag'],
  ['attribute', 'attribute'],
  ['attributes', 'attribute'],
  ['attr', 'attribute'],
  ['run', 'attribute'],
  ['dataset', 'dataset'],
  ['datasets', 'dataset'],
]);

export interface Dictionary {
  /** What the clauses are searched over, for messages ("runs", "experiments"). */
  subject: string;
  entities: EntityType[];
  stringAttributes: ReadonlyMap<string, string>;
  numericAttributes: ReadonlyMap<string, string>;
  orderAttributes: ReadonlyMap<string, string>;
}

/** Run attributes by the names (and aliases) the grammar accepts → column. */
export const RUNS: Dictionary = {
  subject: 'runs',
  entities: ['metric', 'param', 'tag', 'attribute', 'dataset'],
  stringAttributes: new Map([['run_id', 'run_id'], ['run_name', 'run_name'], ['run name', 'run_name'], ['Run name', 'run_name'], ['Run Name', 'run_name'], ['status', 'status'], ['user_id', 'user_id'], ['artifact_uri', 'artifact_uri']]),
  numericAttributes: new Map([['start_time', 'start_time'], ['end_time', 'end_time'], ['created', 'start_time'], ['Created', 'start_time']]),
  orderAttributes: new Map([['run_id', 'run_id'], ['run_name', 'run_name'], ['run name', 'run_name'], ['status', 'status'], ['user_id', 'user_id'], ['artifact_uri', 'artifact_uri'], ['experiment_id', 'experiment_id'], ['start_time', 'start_time'], ['end_time', 'end_time'], ['created', 'start_time'], ['Created', 'start_time']]),
};

export const EXPERIMENTS: Dictionary = {
  subject: 'experiments',
  entities: ['attribute', 'tag'],
  stringAttributes: new Map([['name', 'name']]),
  numericAttributes: new Map([['creation_time', 'creation_time'], ['last_update_time', 'last_update_time']]),
  orderAttributes: new Map([['name', 'name'], ['experiment_id', 'experiment_id'], ['creation_time', 'creation_time'], ['last_update_time', 'last_update_time']]),
};

export const DATASET_KEYS = ['name', 'digest', 'context'] as const;

function describe(tok: Token): string {
  if (tok.kind === 'end') return 'the end of the filter';
  if (tok.kind === 'string') return `${tok.quote}${tok.text}${tok.quote}`;
  return `"${tok.text}"`;
}

function fail(source: string, what: string, tok: Token): never {
  throw invalidArgument(`${source}: ${what} at ${describe(tok)} (position ${tok.pos + 1})`, { position: tok.pos + 1 });
}

export function tokenize(text: string, source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"' || c === '`') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(source, 'unterminated quoted text', { kind: 'op', text: text.slice(i, i + 20), pos: i });
      tokens.push({ kind: 'string', text: text.slice(i + 1, end), quote: c, pos: start });
      i = end + 1;
      continue;
    }
    const num = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num && (c !== '-' || tokens.at(-1)?.kind === 'op')) {
      const after = text[i + num[0].length];
      if (after === undefined || !/[\w]/.test(after)) {
        tokens.push({ kind: 'number', text: num[0], pos: start });
        i += num[0].length;
        continue;
      }
    }
    const word = /^[A-Za-z_][\w]*/.exec(text.slice(i)) ?? /^\d[\w]*/.exec(text.slice(i));
    if (word) {
      tokens.push({ kind: 'ident', text: word[0], pos: start });
      i += word[0].length;
      continue;
    }
    const op = /^(?:!=|<>|<=|>=|==|=|<|>)/.exec(text.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[0] === '==' ? '=' : op[0] === '<>' ? '!=' : op[0], pos: start });
      i += op[0].length;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.') {
      tokens.push({ kind: 'punct', text: c, pos: start });
      i++;
      continue;
    }
    fail(source, 'unexpected character', { kind: 'op', text: c, pos: start });
  }
  tokens.push({ kind: 'end', text: '', pos: text.length });
  return tokens;
}

class Cursor {
  i = 0;
  constructor(
    readonly tokens: Token[],
    readonly source: string,
  ) {}
  peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }
  next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.i++;
    return t;
  }
  isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }
}

/** `metrics.acc`, `params."batch size"`, `` tags.`a-b` ``, or a bare attribute name. */
function parseIdentifier(cur: Cursor, dict: Dictionary): { type: EntityType; key: string; at: Token } {
  const first = cur.next();
  if (first.kind !== 'ident' && !(first.kind === 'string' && first.quote !== "'")) {
    fail(cur.source, 'expected an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute', first);
  }
  let type: EntityType = 'attribute';
  let key = first.text;
  const dot = cur.peek();
  if (dot.kind === 'punct' && dot.text === '.') {
    const entity = ENTITY_ALIASES.get(first.text);
    if (!entity || !dict.entities.includes(entity)) {
      fail(cur.source, `invalid entity type; valid types are ${dict.entities.join(', ')}`, first);
    }
    type = entity;
    cur.next();
    const keyTok = cur.next();
    if (keyTok.kind === 'string') {
      if (keyTok.quote === "'") fail(cur.source, 'keys are quoted with double quotes or backticks, not single quotes', keyTok);
      key = keyTok.text;
    } else if (keyTok.kind === 'ident' || keyTok.kind === 'number') {
      key = keyTok.text;
      // Unquoted dotted keys (metrics.val.loss) continue while the dots are glued to words.
      while (cur.peek().kind === 'punct' && cur.peek().text === '.' && cur.peek(1).kind === 'ident' && cur.peek(1).pos === cur.peek().pos + 1) {
        cur.next();
        key += `.${cur.next().text}`;
      }
    } else {
      fail(cur.source, 'expected a key after the entity type', keyTok);
    }
  } else if (first.kind === 'ident' && ENTITY_ALIASES.get(first.text) && !dict.stringAttributes.has(first.text) && !dict.numericAttributes.has(first.text)) {
    fail(cur.source, `expected "." and a key after the entity type`, dot);
  }
  return { type, key, at: first };
}

function parseComparator(cur: Cursor): { comparator: Comparator; at: Token } {
  const t = cur.peek();
  if (t.kind === 'op') {
    cur.next();
    return { comparator: t.text as Comparator, at: t };
  }
  if (cur.isWord('LIKE') || cur.isWord('ILIKE') || cur.isWord('IN')) {
    cur.next();
    return { comparator: t.text.toUpperCase() as Comparator, at: t };
  }
  if (cur.isWord('NOT') && cur.isWord('IN', 1)) {
    cur.next();
    cur.next();
    return { comparator: 'NOT IN', at: t };
  }
  if (cur.isWord('IS') && cur.isWord('NULL', 1)) {
    cur.next();
    cur.next();
    return { comparator: 'IS NULL', at: t };
  }
  if (cur.isWord('IS') && cur.isWord('NOT', 1) && cur.isWord('NULL', 2)) {
    cur.next();
    cur.next();
    cur.next();
    return { comparator: 'IS NOT NULL', at: t };
  }
  fail(cur.source, 'expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)', t);
}

const NUMERIC_OPS: Comparator[] = ['=', '!=', '<', '<=', '>', '>='];
const STRING_OPS: Comparator[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];

function parseList(cur: Cursor): string[] {
  const open = cur.next();
  if (open.kind !== 'punct' || open.text !== '(') fail(cur.source, 'expected "(" to start a list of quoted values', open);
  const values: string[] = [];
  for (;;) {
    const v = cur.next();
    if (v.kind !== 'string' || v.quote === '`') fail(cur.source, 'expected a quoted string in the list', v);
    values.push(v.text);
    const sep = cur.next();
    if (sep.kind === 'punct' && sep.text === ')') return values;
    if (sep.kind !== 'punct' || sep.text !== ',') fail(cur.source, 'expected "," or ")" in the list', sep);
  }
}

function parseClause(cur: Cursor, dict: Dictionary): Clause {
  const ident = parseIdentifier(cur, dict);
  const { type } = ident;
  let key = ident.key;
  const numericAttribute = type === 'attribute' && dict.numericAttributes.has(key);
  if (type === 'attribute') {
    const column = dict.stringAttributes.get(key) ?? dict.numericAttributes.get(key);
    if (!column) {
      const valid = [...dict.stringAttributes.keys(), ...dict.numericAttributes.keys()];
      fail(cur.source, `invalid attribute key "${key}"; valid keys are ${valid.join(', ')}`, ident.at);
    }
    key = column;
  }
  if (type === 'dataset' && !(DATASET_KEYS as readonly string[]).includes(key)) {
    fail(cur.source, `invalid dataset key "${key}"; valid keys are ${DATASET_KEYS.join(', ')}`, ident.at);
  }
  const { comparator, at } = parseComparator(cur);
  const numeric = type === 'metric' || numericAttribute;
  const allowed: Comparator[] = numeric
    ? NUMERIC_OPS
    : type === 'param' || type === 'tag'
      ? [...STRING_OPS, 'IS NULL', 'IS NOT NULL']
      : STRING_OPS;
  if (!allowed.includes(comparator)) {
    fail(cur.source, `comparator ${comparator} is not valid for ${type === 'attribute' ? `attribute ${key}` : `${type}s`}; use one of ${allowed.join(', ')}`, at);
  }
  if (comparator === 'IS NULL' || comparator === 'IS NOT NULL') return { type, key, comparator, value: null };
  if (comparator === 'IN' || comparator === 'NOT IN') return { type, key, comparator, value: parseList(cur) };
  const v = cur.next();
  if (numeric) {
    if (v.kind !== 'number') fail(cur.source, `expected a number for ${type === 'metric' ? `metric ${key}` : `attribute ${key}`}`, v);
    return { type, key, comparator, value: Number(v.text) };
  }
  if (v.kind !== 'string' || v.quote === '`') {
    fail(cur.source, `expected a quoted string value for ${type === 'attribute' ? `attribute ${key}` : `${type} ${key}`} (e.g. 'my-value')`, v);
  }
  return { type, key, comparator, value: v.text };
}

/** Parses a filter; an empty or blank filter is no clauses. */
export function parseFilter(filter: string | undefined, dict: Dictionary): Clause[] {
  if (!filter || filter.trim() === '') return [];
  const cur = new Cursor(tokenize(filter, 'filter'), 'filter');
  const clauses: Clause[] = [];
  for (;;) {
    clauses.push(parseClause(cur, dict));
    const t = cur.next();
    if (t.kind === 'end') return clauses;
    if (t.kind === 'ident' && t.text.toUpperCase() === 'AND') continue;
    if (t.kind === 'ident' && t.text.toUpperCase() === 'OR') fail('filter', 'OR is not supported (join conditions with AND)', t);
    fail('filter', 'expected AND or the end of the filter', t);
  }
}

/** Parses `order_by` items; duplicates are refused as MLflow refuses them. */
export function parseOrderBy(items: string[] | undefined, dict: Dictionary): OrderBy[] {
  const out: OrderBy[] = [];
  for (const item of items ?? []) {
    const source = `order_by "${item}"`;
    const cur = new Cursor(tokenize(item, source), source);
    const ident = parseIdentifier(cur, dict);
    if (ident.type === 'dataset') fail(source, 'datasets cannot be ordered by', ident.at);
    let key = ident.key;
    if (ident.type === 'attribute') {
      const column = dict.orderAttributes.get(key);
      if (!column) fail(source, `invalid order_by attribute "${key}"; valid keys are ${[...dict.orderAttributes.keys()].join(', ')}`, ident.at);
      key = column;
    }
    let ascending = true;
    const dir = cur.next();
    if (dir.kind === 'ident' && /^(ASC|DESC)$/i.test(dir.text)) {
      ascending = dir.text.toUpperCase() === 'ASC';
      const end = cur.next();
      if (end.kind !== 'end') fail(source, 'expected the end of the order_by item', end);
    } else if (dir.kind !== 'end') {
      fail(source, 'expected ASC or DESC', dir);
    }
    const type = ident.type as OrderBy['type'];
    if (out.some((o) => o.type === type && o.key === key)) {
      throw invalidArgument(`order_by contains duplicate fields: ${JSON.stringify(items)}`);
    }
    out.push({ type, key, ascending });
  }
  return out;
}
