/**
 * What both HTTP paths of V2 inference (fast-infer.ts ahead of Fastify, the Fastify route in
 * v2.ts) share about bytes on the wire: which content types are V2 bodies, compressed request
 * bodies, the binary extension's header, and the answer's headers and compression.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { errorCodes } from 'fastify';
import { invalidArgument } from '../core/errors.js';
import type { V2Answer, V2Request } from '../serving/index.js';
import { readV2 } from './v2-read.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const gzip = promisify(zlib.gzip);

/** Answers larger than this are gzipped for clients that accept it; smaller ones cost more to compress than to send. */
const GZIP_FROM = 32 * 1024;

/**
 * A V2 infer body is JSON whatever the header says: tritonclient.http sends none, its aio
 * client and KServe's binary requests send application/octet-stream.
 */
export function isV2BodyType(type: string | undefined): boolean {
  return type === undefined || /^application\/(json|octet-stream)\s*(;|$)/i.test(type);
}

async function decompress(raw: Buffer, encoding: string, limit: number): Promise<Buffer> {
  const inflateWith = encoding === 'gzip' || encoding === 'x-gzip' ? gunzip : encoding === 'deflate' ? inflate : undefined;
  if (!inflateWith) {
    throw invalidArgument(`content-encoding: ${encoding} is not supported (gzip, deflate or identity)`, { httpStatus: 415, field: 'content-encoding' });
  }
  try {
    return await inflateWith(raw, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
    throw invalidArgument(`body: not valid ${encoding} data (content-encoding: ${encoding})`, { field: 'body' });
  }
}

/**
 * The request a V2 infer body holds: decompressed (within `limit` bytes) and read, binary data
 * included. A promise only when the body is compressed or large (read on a thread): the common
 * small body is read without one.
 */
export function readV2Body(raw: Buffer | undefined, headers: IncomingHttpHeaders, limit: number): V2Request | Promise<V2Request> {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  const body = raw ?? Buffer.alloc(0);
  if (encoding && encoding !== 'identity') return decompress(body, encoding, limit).then((plain) => readV2(plain, headerLengthOf(headers)));
  return readV2(body, headerLengthOf(headers));
}

/** The binary extension's JSON header length, when the request gives one. */
function headerLengthOf(headers: IncomingHttpHeaders): number | undefined {
  const given = headers['inference-header-content-length'];
  if (typeof given !== 'string') return undefined;
  const headerLength = /^\d{1,12}$/.test(given.trim()) ? Number(given) : NaN;
  if (Number.isNaN(headerLength)) throw invalidArgument(`inference-header-content-length: "${given}" is not a byte count`, { field: 'inference-header-content-length' });
  return headerLength;
}

/** The headers of nearly every answer (JSON, not compressed): one object for all of them. */
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' });

/** The headers and bytes of an answer; large ones gzipped (a promise then) when the client accepts gzip. */
export function v2Reply(answer: V2Answer, acceptEncoding: string | undefined): Reply | Promise<Reply> {
  const gzipped = acceptEncoding !== undefined && acceptEncoding !== '' && byteSize(answer.body) >= GZIP_FROM && /\bgzip\b/i.test(acceptEncoding);
  if (!gzipped && answer.headerLength === undefined) return { headers: JSON_HEADERS, payload: answer.body };
  const headers: Record<string, string> = { 'content-type': answer.headerLength === undefined ? 'application/json' : 'application/octet-stream' };
  if (answer.headerLength !== undefined) headers['inference-header-content-length'] = String(answer.headerLength);
  if (gzipped) {
    headers['content-encoding'] = 'gzip';
    headers.vary = 'accept-encoding';
    return gzip(answer.body, { level: 1 }).then((payload) => ({ headers, payload }));
  }
  return { headers, payload: answer.body };
}

/** The bytes of an HTTP body, text counted as UTF-8. */
export function byteSize(body: Buffer | string): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.length;
}

interface Reply {
  headers: Readonly<Record<string, string>>;
  payload: Buffer | string;
}
