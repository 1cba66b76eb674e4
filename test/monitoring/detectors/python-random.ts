/**
 * CPython's `random.Random(seed)` (MT19937, seeded through init_by_array like Python 3 does for
 * an int) and the two `choices` forms river's docstring examples use, so those examples can be
 * replayed here and the detectors checked against river's printed indices.
 */
export class PythonRandom {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    this.initGenrand(19650218);
    const key = [seed >>> 0];
    let i = 1;
    let j = 0;
    const mt = this.mt;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(prev, 1812433253) + i) >>> 0;
    }
  }

  private next32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random.random(): 53 random bits in [0, 1). */
  random(): number {
    const a = this.next32() >>> 5;
    const b = this.next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** random.choices(population, k=k) without weights. */
  choices<T>(population: T[], k: number): T[] {
    return Array.from({ length: k }, () => population[Math.floor(this.random() * population.length)]);
  }

  /** random.choices(population, weights, k=k): bisect on the cumulative weights. */
  weightedChoices<T>(population: T[], weights: number[], k: number): T[] {
    const cum: number[] = [];
    weights.reduce((s, w) => (cum.push(s + w), s + w), 0);
    const total = cum[cum.length - 1];
    return Array.from({ length: k }, () => {
      const x = this.random() * total;
      let lo = 0;
      let hi = population.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x < cum[mid]) hi = mid;
        else lo = mid + 1;
      }
      return population[lo];
    });
  }
}
