/**
 * The inner loops of a one-thread fit over bins left in place (histograms, their subtraction,
 * partitions, plain split scans) and the sketch's sort, in WebAssembly (kernels.wat), and the
 * memory they work in. The fit's row indices and gradient pairs are typed arrays over the module's
 * memory, which the fit writes as it would any others; the training bins are copied in once, row
 * by row and feature by feature (for partitions), and histograms come from a pool there. Against
 * the JavaScript loops (addRowsToHist, partitionIndexed, scanFeature, ...) the module needs no
 * warming up, and a bin takes one 128-bit add of the (gradient, hessian) pair: a loans root
 * histogram took about 0.2 ms warm against 0.4, and its first call 1 ms against 7. The results
 * are the same, bit for bit.
 */
import { featureMajor } from './histogram.js';
import { KERNELS_WASM } from './kernels-wasm.js';

/** The parts of the WebAssembly API used here: Node has it all, but TypeScript declares it only in its DOM library. */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } }) => { exports: unknown };
  Memory: new (size: { initial: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  histRows(hist: number, bins: number, stride: number, gh: number, begin: number, end: number, first: number, nf: number): void;
  histIndexed(hist: number, bins: number, stride: number, gh: number, rows: number, begin: number, end: number, first: number, nf: number): void;
  subtract(large: number, small: number, bytes: number): void;
  partition(rows: number, scratch: number, column: number, right: number, begin: number, end: number): number;
  scan(hist: number, lo: number, hi: number, G: number, H: number, rootGain: number, mcw: number, lambda: number, bounded: number, floor: number, floorSum: number, out: number): number;
  sortFloats(values: number, other: number, counts: number, n: number): void;
}

const PAGE_BYTES = 65_536;

/** Compiled once a process (null when it cannot be); each fit instantiates it with a memory of its own. */
let compiled: object | null | undefined;

/**
 * A new instance of the kernels over a memory of its own of at least `bytes`, or undefined where
 * the module does not compile (V8 runs WebAssembly SIMD only on CPUs with SSE4.1): the JavaScript
 * loops do the work. The memory is made at its full size and never grown: growing detaches its
 * buffer, and once any buffer has been detached V8 checks for it in every typed array access of
 * the process's optimised code (a million-row fit after one grown memory took a fifth longer).
 */
function instantiate(bytes: number): { kernels: KernelExports; memory: WasmMemory } | undefined {
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(Buffer.from(KERNELS_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return undefined;
  const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE_BYTES)) });
  return { kernels: new wasm.Instance(compiled, { env: { memory } }).exports as KernelExports, memory };
}

/** Histograms the pool holds at most (a depth-6 tree has up to 64 live), and the bytes they may take. */
const POOL_HISTOGRAMS = 128;
const POOL_BYTES = 32 << 20;

const align = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * Where each of FitKernels' arrays starts in its memory, and the bytes they take: row indices at
 * 0, gradient pairs, the row-major then the feature-major bins, a partition's scratch rows and
 * directions, scanPlain's answer, the scratch histogram, then the pool.
 */
function fitLayout(rows: number, numFeature: number, histLength: number, histograms: number) {
  const ghAt = align(rows * 4);
  const binsAt = ghAt + align(rows * 16);
  const columnsAt = binsAt + align(rows * numFeature * 2);
  const scratchRowsAt = columnsAt + align(rows * numFeature * 2);
  const rightAt = scratchRowsAt + align(rows * 4);
  const scannedAt = rightAt + align(histLength >> 1);
  const scratchAt = scannedAt + 48;
  const poolAt = scratchAt + histLength * 8;
  return { ghAt, binsAt, columnsAt, scratchRowsAt, rightAt, scannedAt, scratchAt, poolAt, bytes: poolAt + histograms * histLength * 8 };
}

export class FitKernels {
  /** Row indices (at the start of the memory, as TreeGrower's rows must be) and gradient pairs by row index. */
  readonly rows: Uint32Array;
  readonly gh: Float64Array;
  /** The training bins feature by feature (see featureMajor), which partitions read. */
  readonly columns: Uint16Array;
  /** A partition's rows going right, before they are copied back behind the left ones. */
  private readonly scratchRows: Uint32Array;
  /** A partition's direction of each bin (1 = right), the missing slot included. */
  private readonly right: Uint8Array;
  /** Histograms of the pool not yet handed out. */
  private readonly pool: Float64Array[] = [];
  /** Where histograms handed out from elsewhere are built before they are copied. */
  private readonly scratch: Float64Array;
  /** scanPlain's answer, as scanFeature's `out`. */
  readonly scanned: Float64Array;
  private readonly binsAt: number;

  private constructor(
    private readonly kernels: KernelExports,
    private readonly memory: WasmMemory,
    layout: ReturnType<typeof fitLayout>,
    private readonly numFeature: number,
    histLength: number,
    private readonly numRows: number,
    histograms: number,
  ) {
    const { buffer } = memory;
    const rows = numRows;
    this.binsAt = layout.binsAt;
    this.rows = new Uint32Array(buffer, 0, rows);
    this.gh = new Float64Array(buffer, layout.ghAt, rows * 2);
    this.columns = new Uint16Array(buffer, layout.columnsAt, rows * numFeature);
    this.scratchRows = new Uint32Array(buffer, layout.scratchRowsAt, rows);
    this.right = new Uint8Array(buffer, layout.rightAt, histLength >> 1);
    this.scanned = new Float64Array(buffer, layout.scannedAt, 6);
    this.scratch = new Float64Array(buffer, layout.scratchAt, histLength);
    for (let i = 0; i < histograms; i++) this.pool.push(new Float64Array(buffer, layout.poolAt + i * histLength * 8, histLength));
  }

  /**
   * The kernels and their memory for a fit over `bins` (row-major, `numFeature` a row, copied in)
   * with histograms of `histLength` doubles; undefined for 32-bit bins, which they do not read.
   */
  static create(bins: Uint16Array | Uint32Array, rows: number, numFeature: number, histLength: number): FitKernels | undefined {
    if (!(bins instanceof Uint16Array)) return undefined;
    const histograms = Math.max(0, Math.min(POOL_HISTOGRAMS, Math.floor(POOL_BYTES / (histLength * 8))));
    const layout = fitLayout(rows, numFeature, histLength, histograms);
    const instance = instantiate(layout.bytes);
    if (!instance) return undefined;
    const { kernels, memory } = instance;
    new Uint16Array(memory.buffer, layout.binsAt, rows * numFeature).set(bins);
    const made = new FitKernels(kernels, memory, layout, numFeature, histLength, rows, histograms);
    featureMajor(bins, rows, numFeature, made.columns);
    return made;
  }

  /** A zeroed histogram of the pool, or undefined when the pool is spent. */
  takeHist(): Float64Array | undefined {
    return this.pool.pop()?.fill(0);
  }

  /**
   * Adds rows [begin, end) (every training row in order when `inOrder`, else those whose indices
   * are rows[begin, end)) to the bins of features[0, nf) in `hist`, which holds zeros; answers
   * false, doing nothing, when those features are not one consecutive run.
   */
  build(hist: Float64Array, begin: number, end: number, features: Int32Array, nf: number, inOrder: boolean): boolean {
    const first = features[0];
    if (nf === 0 || features[nf - 1] - first !== nf - 1) return false;
    const direct = hist.buffer === this.memory.buffer;
    const into = direct ? hist : this.scratch.fill(0);
    const k = this.kernels;
    if (inOrder) k.histRows(into.byteOffset, this.binsAt, this.numFeature, this.gh.byteOffset, begin, end, first, nf);
    else k.histIndexed(into.byteOffset, this.binsAt, this.numFeature, this.gh.byteOffset, this.rows.byteOffset, begin, end, first, nf);
    if (!direct) hist.set(into);
    return true;
  }

  /** large -= small pair by pair when both histograms are of the pool; answers whether it did. */
  subtract(large: Float64Array, small: Float64Array): boolean {
    const { buffer } = this.memory;
    if (large.buffer !== buffer || small.buffer !== buffer) return false;
    this.kernels.subtract(large.byteOffset, small.byteOffset, large.byteLength);
    return true;
  }

  /**
   * scanFeature for a plain split (no alpha, no max_delta_step; `mcw` and `lambda` as floats) of a
   * histogram of the pool, its answer in `scanned`; undefined (nothing done) for other histograms.
   */
  scanPlain(hist: Float64Array, lo: number, hi: number, G: number, H: number, rootGain: number, mcw: number, lambda: number, floor: number, floorSum: number): boolean | undefined {
    if (hist.buffer !== this.memory.buffer) return undefined;
    const bounded = mcw + lambda >= 1e-30 ? 1 : 0;
    return this.kernels.scan(hist.byteOffset, lo, hi, G, H, rootGain, mcw, lambda, bounded, floor, floorSum, this.scanned.byteOffset) === 1;
  }

  /**
   * Partitions rows[begin, end) in place as partitionIndexed does, by `feature`'s bins and the
   * direction of each bin in `right`; answers where the rows going right start.
   */
  partition(begin: number, end: number, feature: number, right: Uint8Array): number {
    this.right.set(right);
    return this.kernels.partition(0, this.scratchRows.byteOffset, this.columns.byteOffset + feature * this.numRows * 2, this.right.byteOffset, begin, end);
  }
}

/** sortFloats' digit counts: three digits of 2048 u32 each. */
const COUNT_BYTES = 3 * 2048 * 4;

/**
 * Sorts floats (no NaN) ascending, -0 before 0, by the kernels' radix sort (sortFloats) in a
 * memory of its own made at the first sort for arrays of up to `most` values (a longer one gets a
 * new memory), each array copied in and back: about 5 ns a value with no warming up, where
 * TypedArray#sort took 70 and a radix sort in JavaScript ran interpreted through a small fit's
 * first columns. Binning that sorts nothing (every column few-valued) makes no memory.
 */
export class FloatSort {
  private instance: ReturnType<typeof instantiate> | null = null;

  constructor(private most: number) {}

  sort(values: Float32Array): void {
    const n = values.length;
    if (this.instance === null || (this.instance && n > this.most)) {
      this.most = Math.max(this.most, n);
      this.instance = instantiate(COUNT_BYTES + this.most * 8);
    }
    if (!this.instance) {
      values.sort();
      return;
    }
    const inMemory = new Float32Array(this.instance.memory.buffer, COUNT_BYTES, n);
    inMemory.set(values);
    this.instance.kernels.sortFloats(COUNT_BYTES, COUNT_BYTES + n * 4, 0, n);
    values.set(inMemory);
  }
}
