/**
 * JSON bodies of the MLflow scoring route as Python writes them: `json.dumps` writes missing
 * values in a DataFrame as the bare tokens `NaN`, `Infinity` and `-Infinity`, which JSON.parse
 * refuses. Outside strings they become `null` (a missing value, NaN in a float column) and
 * ±1e999 (which parses to ±Infinity). Kept to this route: other protocols parse strictly.
 */
import { invalidArgument } from '../core/errors.js';
import { parseJsonYielding } from '../core/json-yielding.js';

/** Bodies above this many characters are parsed in slices, so that one large body cannot hold the whole server. */
export const YIELD_FROM = 1 << 20;

const TOKENS = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;

export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
  }
  const rewritten = text.replace(TOKENS, (token) => (token[0] === '"' ? token : token === 'NaN' ? 'null' : token[0] === '-' ? '-1e999' : '1e999'));
  return JSON.parse(rewritten);
}

/** `parsePythonJson`, giving the event loop back between slices for a large text (a promise only then). */
export function parseScoringJson(text: string): unknown {
  return text.length > YIELD_FROM ? parseJsonYielding(text, { pythonTokens: true }) : parsePythonJson(text);
}

/** A scoring body's JSON, or the route's 400 naming the parse error (a promise only for a large body). */
export function parseScoringBody(text: string): unknown {
  const malformed = (err: Error) => invalidArgument(`body: malformed JSON (${err.message})`, { field: 'body' });
  let value: unknown;
  try {
    value = parseScoringJson(text);
  } catch (err) {
    throw malformed(err as Error);
  }
  return value instanceof Promise ? value.catch((err: Error) => Promise.reject(malformed(err))) : value;
}
