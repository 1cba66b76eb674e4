/** A deployment's stream consumer as a user declares it, checked before it is stored. */
import { invalidArgument } from '../../core/errors.js';
import type { StreamConfig } from '../types.js';
import { parseStreamUri } from './consumer.js';

const REDIS_KEY = /^[^\s]{1,512}$/;

export function checkStreamConfig(c: StreamConfig): StreamConfig {
  parseStreamUri(c.from, 'stream.from');
  parseStreamUri(c.to, 'stream.to');
  if (c.from === c.to) throw invalidArgument(`stream.to: "${c.to}" is the input stream; predictions need a stream of their own`);
  if (c.group !== undefined && !REDIS_KEY.test(c.group)) throw invalidArgument(`stream.group: "${c.group}" must be 1-512 characters without spaces`);
  if (c.deadLetter !== undefined && !REDIS_KEY.test(c.deadLetter)) throw invalidArgument(`stream.dead_letter: "${c.deadLetter}" must be 1-512 characters without spaces`);
  if (c.batchSize !== undefined && !(Number.isInteger(c.batchSize) && c.batchSize >= 1 && c.batchSize <= 65_536)) {
    throw invalidArgument(`stream.batch_size: ${c.batchSize} must be a whole number in 1..65536`);
  }
  return { from: c.from, to: c.to, group: c.group, deadLetter: c.deadLetter, batchSize: c.batchSize };
}
