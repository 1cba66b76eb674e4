/** A fixed-capacity ring: push overwrites the oldest entry once full. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }

  push(item: T): void {
    if (this.capacity === 0) return;
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Newest first, at most `limit`, those passing `keep`. */
  newest(limit: number, keep: (item: T) => boolean = () => true): T[] {
    const out: T[] = [];
    for (let k = 1; k <= this.count && out.length < limit; k++) {
      const item = this.items[(this.next - k + this.capacity) % this.capacity] as T;
      if (keep(item)) out.push(item);
    }
    return out;
  }
}
