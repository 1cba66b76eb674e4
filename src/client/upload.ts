/**
 * Streaming a local file to the server as a raw request body. node:http with pipeline keeps
 * backpressure end to end, so a file of any size is never held in memory (fetch with a stream
 * body reads the whole file ahead).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeResponse } from './client.js';
import { encodeQuery, exchange, type TransportRequest } from './transport.js';

/** Where to stream uploads: the server's base URL and the token to send. */
export interface UploadTarget {
  url: string;
  token?: string;
}

export interface FileUpload {
  method: 'PUT' | 'POST';
  path: string;
  query?: TransportRequest['query'];
  headers?: Record<string, string>;
  file: string;
  /** Called with the bytes of each chunk as it leaves. */
  onBytes?: (n: number) => void;
}

export async function uploadFile<T>(target: UploadTarget, upload: FileUpload): Promise<T> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    ...upload.headers,
    'content-length': String((await stat(upload.file)).size),
  };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  const url = new URL(`${target.url.replace(/\/+$/, '')}${upload.path}${encodeQuery(upload.query)}`);
  const { status, body } = await exchange(url, upload.method, headers, (req) => pipeline(counted(createReadStream(upload.file, { highWaterMark: 1 << 20 }), upload.onBytes), req), false);
  const text = body.toString('utf8');
  return decodeResponse<T>(status, text);
}

/** A read stream that reports bytes as they pass. */
export function counted(stream: Readable, onBytes?: (n: number) => void): Readable {
  if (!onBytes) return stream;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  stream.on('error', (err) => counter.destroy(err));
  return stream.pipe(counter);
}
