/** Progress for long work: a bar on a terminal, plain lines (every 10%) otherwise. */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(by?: number): void;
  done(): void;
}

export function progress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { tick: (by = 1) => bar.increment(by), done: () => bar.stop() };
  }
  let done = 0;
  let lastTenth = -1;
  return {
    tick(by = 1) {
      done += by;
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        stream.write(`${label}: ${done}/${total}\n`);
      }
    },
    done() {
      stream.write(`${label}: ${total}/${total} done\n`);
    },
  };
}
