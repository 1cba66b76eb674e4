/**
 * JSON.parse for large texts that gives the event loop back every few milliseconds. A 60 MB
 * body parsed in one call held every other request of the server for seconds (issue 20); this
 * reads it in slices, so health probes and small requests are answered in between. It is
 * slower than JSON.parse per byte, so callers use it only above a size threshold.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export interface YieldingOptions {
  /** Python's `json.dumps` tokens outside strings: NaN becomes null, ±Infinity the number. */
  pythonTokens?: boolean;
  /** Work between two yields (ms). */
  sliceMs?: number;
}

const SPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const CONTROL = /[\u0000-\u001f]/;
const PYTHON = /NaN|-?Infinity/y;
const LITERALS: [string, unknown][] = [['true', true], ['false', false], ['null', null]];

/** A container being filled: an array, or an object with the key whose value comes next. */
type Frame = ({ array: unknown[] } | { object: Record<string, unknown>; key: string }) & { members: number };

/** Parses `text` as JSON.parse does (same values, SyntaxError on bad input), yielding between slices. */
export async function parseJsonYielding(text: string, options: YieldingOptions = {}): Promise<unknown> {
  const sliceMs = options.sliceMs ?? 5;
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} in JSON at position ${at}`);
  };
  /** The character at `at` is not what the grammar allows there. */
  const unexpected = (): never => fail(at < text.length ? `Unexpected token '${text[at]}'` : 'Unexpected end of JSON input');
  /** Steps over `c`, which the grammar requires at `at`. */
  const expect = (c: string) => {
    if (text[at] !== c) unexpected();
    at++;
  };
  const skip = () => {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    at = SPACE.lastIndex;
  };
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    at = re.lastIndex;
    return m[0];
  };
  // The closing quote is found by indexOf, not a regular expression: a pattern over a string of
  // megabytes overflows the regexp engine's stack.
  const string = (): string => {
    let end = at;
    for (;;) {
      end = text.indexOf('"', end + 1);
      if (end < 0) fail('Unterminated string');
      let slashes = 0;
      while (text.charCodeAt(end - 1 - slashes) === 92) slashes++;
      if (slashes % 2 === 0) break;
    }
    const token = text.slice(at, end + 1);
    at = end + 1;
    return token.includes('\\') || CONTROL.test(token) ? (JSON.parse(token) as string) : token.slice(1, -1);
  };
  /** A scalar at `at`, or an empty container pushed onto the stack (returned as the container). */
  const value = (stack: Frame[]): unknown => {
    const c = text[at];
    if (c === '"') return string();
    if (c === '[') {
      at++;
      const array: unknown[] = [];
      stack.push({ array, members: 0 });
      return array;
    }
    if (c === '{') {
      at++;
      const object: Record<string, unknown> = {};
      stack.push({ object, key: '', members: 0 });
      return object;
    }
    const n = match(NUMBER);
    if (n !== undefined) return Number(n);
    for (const [word, v] of LITERALS) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    if (options.pythonTokens) {
      const p = match(PYTHON);
      if (p !== undefined) return p === 'NaN' ? null : p[0] === '-' ? -Infinity : Infinity;
    }
    return unexpected();
  };
  const set = (frame: Frame, v: unknown) => {
    frame.members++;
    if ('array' in frame) frame.array.push(v);
    // Own property even for "__proto__", as JSON.parse makes it.
    else Object.defineProperty(frame.object, frame.key, { value: v, writable: true, enumerable: true, configurable: true });
  };

  const stack: Frame[] = [];
  skip();
  const root = value(stack);
  let deadline = performance.now() + sliceMs;
  let steps = 0;
  while (stack.length > 0) {
    if (++steps === 4096) {
      steps = 0;
      if (performance.now() > deadline) {
        await yieldToLoop();
        deadline = performance.now() + sliceMs;
      }
    }
    const frame = stack[stack.length - 1];
    skip();
    const closing = 'array' in frame ? ']' : '}';
    if (text[at] === closing) {
      at++;
      stack.pop();
      continue;
    }
    if (frame.members > 0) {
      expect(',');
      skip();
    }
    if ('object' in frame) {
      if (text[at] !== '"') unexpected();
      frame.key = string();
      skip();
      expect(':');
      skip();
    }
    set(frame, value(stack));
  }
  skip();
  if (at < text.length) fail(`Unexpected non-whitespace character`);
  return root;
}
