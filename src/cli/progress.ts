/** Progress for long work: a bar on a terminal, plain lines (every 10%) otherwise. */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(by?: number): void;
  done(): void;
}

export interface ProgressOptions {
  /** Shows the rate in these units per second (e.g. "rows"). */
  unit?: string;
  /** Work done before this run (a resumed job): counted in the total, not in the rate. */
  start?: number;
}

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s < 90 ? `${Math.round(s)}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`;
}

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr, options: ProgressOptions = {}): Progress {
  const start = options.start ?? 0;
  const began = performance.now();
  const rate = (done: number) => (done - start) / Math.max(1e-3, (performance.now() - began) / 1000);
  if (stream.isTTY) {
    const unit = options.unit ? ` {rate} ${options.unit}/s` : '';
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total}${unit} eta {eta_formatted}`, stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { rate: 0 });
    let value = start;
    return {
      tick: (by = 1) => {
        value += by;
        bar.increment(by, { rate: Math.round(rate(value)) });
      },
      done: () => bar.stop(),
    };
  }
  let done = start;
  let lastTenth = total > 0 ? Math.floor((done / total) * 10) : -1;
  const speed = () => {
    if (!options.unit) return '';
    const r = rate(done);
    return ` (${Math.round(r)} ${options.unit}/s, eta ${seconds((total - done) / r)})`;
  };
  return {
    tick(by = 1) {
      done += by;
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        stream.write(`${label}: ${done}/${total}${speed()}\n`);
      }
    },
    done() {
      const r = Math.round(rate(total));
      stream.write(`${label}: ${total}/${total} done${options.unit && r > 0 ? ` (${r} ${options.unit}/s)` : ''}\n`);
    },
  };
}
