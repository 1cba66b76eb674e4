/** A small SVG bar chart for histograms and category counts (profiles). */
import { num } from '../format';

interface Props {
  bars: { label: string; value: number }[];
  title: string;
  height?: number;
  /** Axis labels at the two ends (a histogram's lowest and highest edge); the first and last bar's labels otherwise. */
  ends?: [string, string];
}

export function Bars({ bars, title, height = 120, ends = [bars[0]?.label ?? '', bars.at(-1)?.label ?? ''] }: Props) {
  const width = 320;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const slot = width / Math.max(1, bars.length);
  return (
    <figure className="bars">
      <svg viewBox={`0 0 ${width} ${height + 16}`} role="img" aria-label={title} preserveAspectRatio="none">
        {bars.map((b, i) => {
          const h = (b.value / max) * height;
          return (
            <rect key={i} x={i * slot + 1} y={height - h} width={Math.max(1, slot - 2)} height={h} className="bar">
              <title>{`${b.label}: ${num(b.value)}`}</title>
            </rect>
          );
        })}
        <line x1={0} x2={width} y1={height} y2={height} className="axis" />
        <text x={0} y={height + 13} className="tick">{ends[0]}</text>
        <text x={width} y={height + 13} className="tick" textAnchor="end">{ends[1]}</text>
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
