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

/** True for addresses a webhook must not reach by default (IPv4-mapped IPv6 included). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

const refused = (field: string, url: string, address: string): ModelportError =>
  invalidArgument(`${field}: ${url}: ${address} is a loopback or private address; such targets are refused unless allowPrivateWebhookTargets is set`, { field });

/**
 * A webhook target as saved: http(s), no credentials, and (unless allowed) a host that resolves
 * to no loopback, private or link-local address. Returns the normalised URL.
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
    const addresses = isIP(host) ? [host] : await dns.lookup(host, { all: true }).then((r) => r.map((a) => a.address), () => [] as string[]);
    if (addresses.length === 0) throw invalidArgument(`${field}: ${text}: host ${host} does not resolve`, { field });
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
