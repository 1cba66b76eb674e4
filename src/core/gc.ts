/**
 * A young-generation garbage collection on demand, for objects that hold native memory V8 does
 * not know about. DuckDB's data chunks (about half a MiB each) are freed only when their small
 * JS wrappers are collected, and a loop that reads chunks allocates too little on the JS heap to
 * trigger a collection: reading a 1M-row file kept ~250 MiB of dead chunks. A minor collection
 * takes a fraction of a millisecond and finalizes the wrappers that died young.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options: { type: 'minor' | 'major' }) => void;

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
