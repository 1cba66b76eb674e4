/** Worker thread of v2-read.ts: reads large V2 bodies so that the server's event loop does not. */
import { parentPort } from 'node:worker_threads';
import { isModelportError } from '../core/errors.js';
import { readV2Request } from '../serving/codecs/v2-wire.js';

parentPort!.on('message', ({ id, body, headerLength }: { id: number; body: Uint8Array; headerLength?: number }) => {
  try {
    parentPort!.postMessage({ id, request: readV2Request(Buffer.from(body.buffer, body.byteOffset, body.byteLength), headerLength) });
  } catch (err) {
    const error = isModelportError(err) ? { code: err.code, message: err.message, details: err.details } : { message: (err as Error).message };
    parentPort!.postMessage({ id, error });
  }
});
