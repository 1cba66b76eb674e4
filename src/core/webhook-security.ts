/**
 * What every webhook sender shares: the signature receivers verify, the addresses a webhook
 * must not reach by default (so a webhook cannot be used to probe the internal network), the
 * check of a target when it is saved, and the POST that checks every address it connects to.
 */
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, promises as dns, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { invalidArgument, type ModelportError } from './errors.js';

/** `sha256=<hex HMAC-SHA256 of the exact body>`, sent as `x-modelport-signature`. */
export function signWebhookPayload(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/** An IPv6 address's 16 bytes (a trailing dotted IPv4 part allowed); the caller has checked isIP. */
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-compatible
 * (::a.b.c.d), mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96,
 * 64:ff9b:1::/48), 6to4 (2002:AABB:CCDD::) and Teredo (2001:0::/32, the client address inverted).
 */
function embeddedIpv4(b: number[]): string | undefined {
  const v4 = (q: number[]) => q.join('.');
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 10) && ((b[10] === 0 && b[11] === 0) || (b[10] === 0xff && b[11] === 0xff))) return v4(b.slice(12));
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return v4(b.slice(12));
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return v4(b.slice(12));
  if (b[0] === 0x20 && b[1] === 0x02) return v4(b.slice(2, 6));
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return v4(b.slice(12).map((x) => x ^ 0xff));
  return undefined;
}

/** True for addresses a webhook must not reach by default, including IPv4 ones carried inside IPv6. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return INTERNAL.check(address, 'ipv4');
  const embedded = embeddedIpv4(ipv6Bytes(address));
  if (embedded !== undefined && INTERNAL.check(embedded, 'ipv4')) return true;
  return INTERNAL.check(address, 'ipv6');
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

const refused = (field: string, url: string, address: string): ModelportError =>
  invalidArgument(`${field}: ${url}: ${address} is a loopback or private address; such targets are refused unless allowPrivateWebhookTargets is set`, { field });

/**
 * A webhook target as saved: http(s), no credentials, and (unless allowed) a host that does not
 * resolve to a loopback, private or link-local address. Returns the normalised URL.
 */
export async function checkWebhookUrl(text: string, field: string, allowPrivate: boolean): Promise<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument(`${field}: "${text}" is not a valid URL`, { field });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidArgument(`${field}: ${text}: only http and https are supported`, { field });
  if (url.username || url.password) throw invalidArgument(`${field}: ${text}: credentials in the URL are not allowed; use a secret`, { field });
  if (!allowPrivate) {
    const host = hostOf(url);
    // A name that does not resolve yet (an offline laptop, a host set up later) is kept: every
    // delivery resolves it again and refuses internal addresses then (postWebhook).
    const addresses = isIP(host) ? [host] : await dns.lookup(host, { all: true }).then((r) => r.map((a) => a.address), () => [] as string[]);
    const bad = addresses.find(isInternalAddress);
    if (bad) throw refused(field, text, bad);
  }
  return url.toString();
}

export interface WebhookPostOptions {
  allowPrivate: boolean;
  timeoutMs: number;
}

/**
 * POSTs `body` to a saved target. Every address the connection resolves to is checked again,
 * so DNS cannot point a saved hook inside the network later. Never rejects: the outcome is an
 * HTTP status, an error, or both.
 */
export function postWebhook(target: string, body: string, headers: Record<string, string>, options: WebhookPostOptions): Promise<{ status?: number; error?: string }> {
  const url = new URL(target);
  const host = hostOf(url);
  if (!options.allowPrivate && isIP(host) && isInternalAddress(host)) return Promise.resolve({ error: refused('url', target, host).message });
  const lookup = (hostname: string, opts: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, opts as never, (err: Error | null, address: string | LookupAddress[], family?: number) => {
      if (err) return cb(err, address, family);
      const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const bad = options.allowPrivate ? undefined : list.find(isInternalAddress);
      if (bad) return cb(refused('url', target, bad), address, family);
      cb(null, address, family);
    });
  };
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: lookup as never, timeout: options.timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
        res.on('error', (err) => resolve({ status: res.statusCode, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}
