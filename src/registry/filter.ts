/**
 * MLflow's registry search grammar: comparisons joined by AND, `identifier comparator value`.
 * Registered models filter on `name` and `tags.<key>`; model versions also on `run_id` (with IN),
 * `source_path` and `version_number`. The parser only produces values; the store binds them as
 * SQL parameters, so user text never becomes SQL.
 */
import { invalidArgument } from '../core/errors.js';

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN';
export interface Comparison {
  type: 'attribute' | 'tag';
  key: string;
  comparator: Comparator;
  value: string | number | string[];
}

export type SearchEntity = 'registered_models' | 'model_versions';

const STRING_COMPARATORS: Comparator[] = ['=', '!=', 'LIKE', 'ILIKE'];
const NUMERIC_COMPARATORS: Comparator[] = ['=', '!=', '<', '<=', '>', '>='];

interface AttributeRule {
  numeric: boolean;
  comparators: Comparator[];
}

const ATTRIBUTES: Record<SearchEntity, Record<string, AttributeRule>> = {
  registered_models: { name: { numeric: false, comparators: STRING_COMPARATORS } },
  model_versions: {
    name: { numeric: false, comparators: STRING_COMPARATORS },
    run_id: { numeric: false, comparators: [...STRING_COMPARATORS, 'IN'] },
    source_path: { numeric: false, comparators: STRING_COMPARATORS },
    version_number: { numeric: true, comparators: NUMERIC_COMPARATORS },
  },
};

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string; quote: string }
  | { kind: 'number'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'list'; items: Token[] };

const invalid = (message: string) => invalidArgument(message, { field: 'filter' });

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const readQuoted = (): { body: string; quote: string } => {
    const quote = text[i];
    let body = '';
    i++;
    for (;;) {
      if (i >= text.length) throw invalid(`Invalid filter '${text}': unterminated ${quote === '`' ? 'backtick' : 'quoted'} string.`);
      if (text[i] === quote) {
        // SQL doubles a quote inside a quoted string.
        if (text[i + 1] === quote) {
          body += quote;
          i += 2;
          continue;
        }
        i++;
        return { body, quote };
      }
      body += text[i++];
    }
  };
  const readToken = (): Token => {
    const c = text[i];
    if (c === "'" || c === '"') {
      const { body, quote } = readQuoted();
      return { kind: 'string', text: body, quote };
    }
    if (c === '`') return { kind: 'word', text: readQuoted().body };
    const num = /^-?\d+(\.\d+)?(?![\w.])/.exec(text.slice(i));
    if (num) {
      i += num[0].length;
      return { kind: 'number', text: num[0] };
    }
    const op = /^(!=|<>|<=|>=|=|<|>)/.exec(text.slice(i));
    if (op) {
      i += op[0].length;
      return { kind: 'op', text: op[0] === '<>' ? '!=' : op[0] };
    }
    const word = /^[A-Za-z_][\w.]*/.exec(text.slice(i));
    if (word) {
      i += word[0].length;
      let name = word[0];
      // tags.`key with.dots` or tags."key" continue the identifier.
      while (name.endsWith('.') && (text[i] === '`' || text[i] === '"')) name += readQuoted().body;
      return { kind: 'word', text: name };
    }
    throw invalid(`Invalid filter '${text}': unexpected character '${c}' at position ${i}.`);
  };
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    if (text[i] === '(') {
      i++;
      const items: Token[] = [];
      for (;;) {
        while (/\s/.test(text[i] ?? '')) i++;
        if (i >= text.length) throw invalid(`Invalid filter '${text}': unclosed '('.`);
        if (text[i] === ')') {
          i++;
          break;
        }
        if (text[i] === ',') {
          i++;
          continue;
        }
        items.push(readToken());
      }
      tokens.push({ kind: 'list', items });
      continue;
    }
    if (text[i] === ')' || text[i] === ',') throw invalid(`Invalid filter '${text}': unexpected '${text[i]}'.`);
    tokens.push(readToken());
  }
  return tokens;
}

function describe(t: Token | undefined): string {
  if (!t) return 'end of filter';
  if (t.kind === 'list') return '(...)';
  if (t.kind === 'string') return `${t.quote}${t.text}${t.quote}`;
  return t.text;
}

function identifier(token: Token, entity: SearchEntity): { type: 'attribute' | 'tag'; key: string } {
  if (token.kind !== 'word') throw invalid(`Invalid clause(s) in filter string: expected an identifier, got ${describe(token)}`);
  const dot = token.text.indexOf('.');
  const valid = Object.keys(ATTRIBUTES[entity]);
  if (dot < 0) {
    if (!valid.includes(token.text)) throw invalid(`Invalid attribute key '${token.text}' specified. Valid keys are '${valid.join("', '")}'`);
    return { type: 'attribute', key: token.text };
  }
  const prefix = token.text.slice(0, dot);
  const key = token.text.slice(dot + 1);
  if (prefix === 'tag' || prefix === 'tags') {
    if (key === '') throw invalid(`Invalid filter: tag key is empty in '${token.text}'`);
    return { type: 'tag', key };
  }
  if (prefix === 'attribute' || prefix === 'attributes') {
    if (!valid.includes(key)) throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${valid.join("', '")}'`);
    return { type: 'attribute', key };
  }
  throw invalid(`Invalid entity type '${prefix}'. Valid entity types are ('attribute', 'tag', 'tags')`);
}

function comparatorOf(tokens: Token[], at: number): { comparator: string; used: number } {
  const t = tokens[at];
  if (t?.kind === 'op') return { comparator: t.text, used: 1 };
  if (t?.kind === 'word') {
    const upper = t.text.toUpperCase();
    if (upper === 'NOT' && tokens[at + 1]?.kind === 'word') return { comparator: `NOT ${(tokens[at + 1] as { text: string }).text.toUpperCase()}`, used: 2 };
    return { comparator: upper, used: 1 };
  }
  throw invalid(`Invalid clause(s) in filter string: expected a comparator, got ${describe(t)}`);
}

/** Parses a filter into AND-ed comparisons; an empty filter matches everything. */
export function parseFilter(text: string | undefined, entity: SearchEntity): Comparison[] {
  if (text === undefined || text.trim() === '') return [];
  const tokens = tokenize(text);
  const out: Comparison[] = [];
  let i = 0;
  for (;;) {
    const ident = identifier(tokens[i], entity);
    const { comparator, used } = comparatorOf(tokens, i + 1);
    const valueToken = tokens[i + 1 + used];
    i += 2 + used;
    out.push(comparison(ident, comparator, valueToken, entity));
    if (i >= tokens.length) return out;
    const joiner = tokens[i];
    if (joiner.kind !== 'word' || joiner.text.toUpperCase() !== 'AND') {
      throw invalid(`Invalid clause(s) in filter string: ${describe(joiner)}. Only comparisons joined by AND are supported.`);
    }
    i++;
    if (i >= tokens.length) throw invalid(`Invalid filter '${text}': nothing follows AND.`);
  }
}

function comparison(ident: { type: 'attribute' | 'tag'; key: string }, comparator: string, token: Token | undefined, entity: SearchEntity): Comparison {
  if (ident.type === 'tag') {
    if (!(STRING_COMPARATORS as string[]).includes(comparator)) throw invalid(`Invalid comparator for tag: ${comparator}`);
    if (token?.kind !== 'string') throw invalid(`Expected a quoted string value for tag (e.g. 'my-value'). Got value ${describe(token)}`);
    return { ...ident, comparator: comparator as Comparator, value: token.text };
  }
  const rule = ATTRIBUTES[entity][ident.key];
  if (!(rule.comparators as string[]).includes(comparator)) {
    throw invalid(
      comparator === 'IN' ? `Only the 'run_id' attribute supports comparison with a list of quoted string values.` : `Invalid comparator for attribute ${ident.key}: ${comparator}`,
    );
  }
  if (rule.numeric) {
    if ((token?.kind !== 'number' && token?.kind !== 'string') || !/^-?\d+$/.test(token.text)) {
      throw invalid(`Expected an integer value for attribute ${ident.key}. Got value ${describe(token)}`);
    }
    return { ...ident, comparator: comparator as Comparator, value: Number(token.text) };
  }
  if (comparator === 'IN') {
    if (token?.kind !== 'list' || token.items.length === 0 || token.items.some((x) => x.kind !== 'string')) {
      throw invalid(`While parsing a list in the query, expected a non-empty list of string values, but got ${describe(token)}`);
    }
    return { ...ident, comparator: 'IN', value: token.items.map((x) => (x as { text: string }).text) };
  }
  if (token?.kind !== 'string') {
    throw invalid(`Expected a quoted string value for attributes. Got value ${describe(token)}`);
  }
  return { ...ident, comparator: comparator as Comparator, value: token.text };
}

export interface OrderBy {
  key: string;
  ascending: boolean;
}

/** `"<key> [ASC|DESC]"` with the keys MLflow allows for the entity. */
export function parseOrderBy(clauses: string[] | undefined, valid: readonly string[]): OrderBy[] {
  const out: OrderBy[] = [];
  for (const clause of clauses ?? []) {
    const m = /^\s*(?:attributes?\.)?`?([\w]+)`?\s*(ASC|DESC)?\s*$/i.exec(clause);
    if (!m || !valid.includes(m[1])) {
      throw invalidArgument(`Invalid order_by clause '${clause}'. Valid keys are '${valid.join("', '")}', each with an optional ASC or DESC.`, { field: 'order_by' });
    }
    if (out.some((o) => o.key === m[1])) throw invalidArgument(`\`order_by\` contains duplicate fields: ${JSON.stringify(clauses)}`, { field: 'order_by' });
    out.push({ key: m[1], ascending: (m[2] ?? 'ASC').toUpperCase() === 'ASC' });
  }
  return out;
}

/** MLflow's page token: base64 of {"offset": N}. */
export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // reported below
  }
  throw invalidArgument(`Invalid page token, could not base64-decode`, { field: 'page_token' });
}

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}
