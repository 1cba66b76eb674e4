/**
 * A young-generation garbage collection on demand, for objects that hold native memory V8 does
 * not know about. DuckDB's data chunks (about half a MiB each) are freed only when their small
 * JS wrappers are collected, and a loop that reads chunks allocates too little on the JS heap to
 * trigger a collection: reading a 1M-row file kept ~250 MiB of dead chunks. A minor collection
 * takes a fraction of a millisecond and finalizes the wrappers that died young.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Node 20's V8 reads any options object as a young collection, `{ type: 'major' }` included:
 * only a call without arguments collects the old generation.
 */
type Gc = (options?: { type: 'minor' }) => void;

let gc: Gc | undefined;

function gcFunction(): Gc {
  if (gc) return gc;
  // A context created while the flag is on gets `gc`; the flag goes back off for everything else.
  v8.setFlagsFromString('--expose-gc');
  try {
    gc = vm.runInNewContext('gc') as Gc;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return gc;
}

export function collectYoung(): void {
  gcFunction()({ type: 'minor' });
}

/** What the heap held after the last collection `collectWhenGrown` ran. */
let live = 0;

/**
 * A full collection once the heap has grown `slackBytes` past what the last one left. A long
 * loop whose garbage survives a few young collections (values held while a chunk is scored)
 * promotes it, and V8 lets the old generation grow with the input before collecting it: a batch
 * job's heap reached 100 MiB at 3M rows for ~30 MiB live.
 */
export function collectWhenGrown(slackBytes: number): void {
  if (v8.getHeapStatistics().used_heap_size < live + slackBytes) return;
  gcFunction()();
  live = v8.getHeapStatistics().used_heap_size;
}
