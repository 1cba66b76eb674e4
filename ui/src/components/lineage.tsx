/** A lineage graph laid out in columns by kind: dataset → run → model version → deployment. */
import { Link } from '../router';
import type { Lineage, LineageNode } from '../api/registry';

const ORDER = ['dataset', 'code', 'run', 'parent', 'model_version', 'deployment'];

function hrefOf(n: LineageNode): string | undefined {
  const d = n.data;
  if (n.kind === 'run' && typeof d.runId === 'string') return `/runs/${d.runId}`;
  if (n.kind === 'run' && typeof d.run_id === 'string') return `/runs/${d.run_id}`;
  if (n.kind === 'dataset' && typeof d.name === 'string') return `/datasets/${encodeURIComponent(d.name)}`;
  if (n.kind === 'model_version' && typeof d.name === 'string' && d.version !== undefined) return `/models/${encodeURIComponent(d.name)}/versions/${d.version}`;
  if (n.kind === 'deployment' && typeof d.name === 'string') return `/deployments/${encodeURIComponent(d.name)}`;
  return undefined;
}

export function LineageGraph({ graph }: { graph: Lineage }) {
  const rank = (kind: string) => (ORDER.includes(kind) ? ORDER.indexOf(kind) : ORDER.length);
  const kinds = [...new Set(graph.nodes.map((n) => n.kind))].sort((a, b) => rank(a) - rank(b));
  const columns = kinds.map((k) => graph.nodes.filter((n) => n.kind === k));
  const W = 190;
  const H = 46;
  const GAP_X = 60;
  const GAP_Y = 16;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, i) => col.forEach((n, j) => pos.set(n.id, { x: 10 + i * (W + GAP_X), y: 10 + j * (H + GAP_Y) })));
  const width = 20 + columns.length * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  return (
    <div className="lineage">
      <svg viewBox={`0 0 ${width} ${height}`} style={{ maxWidth: width }} role="img" aria-label="lineage graph">
        {graph.edges.map((e, i) => {
          const a = pos.get(e.from);
          const b = pos.get(e.to);
          if (!a || !b) return null;
          const [l, r] = a.x <= b.x ? [a, b] : [b, a];
          const x1 = l.x + W;
          const x2 = r.x;
          return <path key={i} className="edge" d={`M${x1},${l.y + H / 2} C${x1 + GAP_X / 2},${l.y + H / 2} ${x2 - GAP_X / 2},${r.y + H / 2} ${x2},${r.y + H / 2}`} />;
        })}
        {graph.nodes.map((n) => {
          const p = pos.get(n.id)!;
          const href = hrefOf(n);
          const label = n.label.length > 28 ? `${n.label.slice(0, 27)}…` : n.label;
          const body = (
            <g className={`node${n.id === graph.root ? ' root' : ''}`} transform={`translate(${p.x},${p.y})`}>
              <rect width={W} height={H} rx={6} />
              <text x={10} y={16} className="kind">
                {n.kind.replace('_', ' ')}
              </text>
              <text x={10} y={34}>
                {label}
                <title>{n.label}</title>
              </text>
            </g>
          );
          return href ? (
            <Link key={n.id} to={href}>
              {body}
            </Link>
          ) : (
            <g key={n.id}>{body}</g>
          );
        })}
      </svg>
    </div>
  );
}
