/**
 * The upload limit (MODELPORT_UPLOAD_LIMIT) of the routes whose raw bodies stream to the
 * artifact store: a declared length over it is refused before a byte is read, and a body that
 * grows past it (chunked, or lying) fails the stream at that byte.
 */
import { Transform, type Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { invalidArgument } from '../core/errors.js';

const tooLarge = (max: number) => invalidArgument(`body: an uploaded file may be at most ${max} bytes (MODELPORT_UPLOAD_LIMIT)`, { httpStatus: 413, field: 'body' });

export function limitedUpload(body: Readable, headers: IncomingHttpHeaders, max: number): Readable {
  if (Number(headers['content-length']) > max) throw tooLarge(max);
  let seen = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > max ? tooLarge(max) : null, chunk);
    },
  });
  body.on('error', (err) => counted.destroy(err));
  return body.pipe(counted);
}
