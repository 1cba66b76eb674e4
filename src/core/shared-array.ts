/** Typed arrays in shared memory, which worker threads read and write without copies. */

/** A typed array of `length` elements (at least one) in shared memory. */
export function sharedArray<T>(Kind: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  return new Kind(new SharedArrayBuffer(Math.max(1, length) * Kind.BYTES_PER_ELEMENT));
}
