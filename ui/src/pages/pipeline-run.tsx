/**
 * One pipeline run: its DAG with each step's state, duration and cache hit (refreshing while the
 * run is live, which can be cancelled), the steps' metrics, errors and tracking runs, and a chosen
 * step's logs.
 */
import { useState, type ReactNode } from 'react';
import { Link } from '../router';
import { useAsync, useInterval } from '../hooks';
import { FINISHED, cancelRun, getPipelineRun, stepLog, type PipelineStep } from '../api/pipelines';
import { SimpleTable } from '../components/table';
import { Badge, Card, KeyValues, Loaded, Tabs } from '../components/ui';
import { num, time } from '../format';
import { REFRESH_MS } from './deployments';
import { runDuration, statusTone } from './pipelines';
import type { PageProps } from '../routes';

const NODE_W = 160;
const NODE_H = 44;
const GAP_X = 60;
const GAP_Y = 18;

/** Steps placed in columns by their longest chain of dependencies. */
function layout(steps: PipelineStep[]) {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const d = Math.max(-1, ...(byName.get(name)?.needs ?? []).filter((n) => byName.has(n)).map((n) => depthOf(n, seen))) + 1;
    depth.set(name, d);
    return d;
  };
  const columns: string[][] = [];
  for (const s of steps) (columns[depthOf(s.name, new Set())] ??= []).push(s.name);
  const at = new Map<string, { x: number; y: number }>();
  columns.forEach((names, c) => names.forEach((n, r) => at.set(n, { x: c * (NODE_W + GAP_X) + 4, y: r * (NODE_H + GAP_Y) + 4 })));
  const rows = Math.max(1, ...columns.map((c) => c.length));
  return { at, width: columns.length * (NODE_W + GAP_X) - GAP_X + 8, height: rows * (NODE_H + GAP_Y) - GAP_Y + 8 };
}

function Dag({ steps, selected, onSelect }: { steps: PipelineStep[]; selected?: string; onSelect: (name: string) => void }) {
  const { at, width, height } = layout(steps);
  return (
    <div className="dag">
      <svg width={width} height={height} role="img" aria-label="pipeline graph">
        {steps.flatMap((s) =>
          s.needs
            .filter((n) => at.has(n))
            .map((n) => {
              const from = at.get(n)!;
              const to = at.get(s.name)!;
              const x1 = from.x + NODE_W;
              const y1 = from.y + NODE_H / 2;
              const x2 = to.x;
              const y2 = to.y + NODE_H / 2;
              return <path key={`${n}>${s.name}`} className="edge" d={`M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`} />;
            }),
        )}
        {steps.map((s) => {
          const p = at.get(s.name)!;
          return (
            <g
              key={s.name}
              className={`node ${s.status === 'cached' ? 'succeeded' : s.status} ${s.name === selected ? 'selected' : ''}`}
              transform={`translate(${p.x},${p.y})`}
              role="button"
              tabIndex={0}
              aria-label={`step ${s.name}: ${s.status}`}
              onClick={() => onSelect(s.name)}
              onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && onSelect(s.name)}
              style={{ cursor: 'pointer' }}
            >
              <rect width={NODE_W} height={NODE_H} />
              <text x={10} y={18}>{s.name}</text>
              <text x={10} y={35} className="sub">
                {`${s.cached ? 'cache hit' : s.status} ${runDuration(s)}`}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function StepLogs({ run, step }: { run: string; step: PipelineStep }) {
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const log = useAsync(() => stepLog(run, step.name, stream), [run, step.name, stream, step.status]);
  return (
    <Card title={`Logs of ${step.name}`}>
      <Tabs tabs={[{ id: 'stdout', label: 'stdout' }, { id: 'stderr', label: 'stderr' }]} active={stream} onChange={(id) => setStream(id as 'stdout' | 'stderr')} />
      <Loaded state={log}>{(text) => <pre data-testid="step-log">{text || '(empty)'}</pre>}</Loaded>
    </Card>
  );
}

export default function PipelineRunPage({ params }: PageProps) {
  const { id } = params;
  const run = useAsync(() => getPipelineRun(id), [id]);
  const [chosen, setChosen] = useState<string>();
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string>();
  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await cancelRun(id);
      run.reload();
    } catch (e) {
      setCancelError((e as Error).message);
    } finally {
      setCancelling(false);
    }
  };
  useInterval(() => {
    if (run.data && !FINISHED.has(run.data.status)) run.reload();
  }, REFRESH_MS);
  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/pipelines">Pipelines</Link> /
        </div>
        <div className="page-head">
          <h1>{run.data?.pipeline ?? id}</h1>
          {run.data && <Badge tone={statusTone(run.data.status)}>{run.data.status}</Badge>}
          <span className="sub mono">{id}</span>
          {run.data && !FINISHED.has(run.data.status) && (
            <button className="danger small" disabled={cancelling} onClick={cancel}>
              Cancel run
            </button>
          )}
          {cancelError && <span className="error" role="alert">{cancelError}</span>}
        </div>
      </div>
      <Loaded state={run}>
        {(r) => {
          const step = r.steps.find((s) => s.name === (chosen ?? r.steps[0]?.name));
          const cacheHits = r.steps.filter((s) => s.cached).length;
          return (
            <>
              <KeyValues
                label="run"
                entries={[
                  ['Progress', `${r.progress.done} of ${r.progress.total} steps`],
                  ['Cache hits', `${cacheHits} of ${r.steps.length} steps`],
                  ['Trigger', r.trigger],
                  ['Started', time(r.startedAt ?? r.createdAt)],
                  ['Duration', runDuration(r)],
                  ['Parameters', Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(', ') || '–'],
                  ...(r.trackingRunId ? ([['Tracking run', <Link to={`/runs/${r.trackingRunId}`}>{r.trackingRunId.slice(0, 12)}</Link>]] as [string, ReactNode][]) : []),
                  ...(r.error ? ([['Error', <span className="error">{r.error}</span>]] as [string, ReactNode][]) : []),
                ]}
              />
              <Card title="Graph">
                <Dag steps={r.steps} selected={step?.name} onSelect={setChosen} />
              </Card>
              <Card title="Steps">
                <SimpleTable
                  label="steps"
                  head={['Step', 'Needs', 'Status', 'Cache', 'Attempts', 'Duration', 'Metrics', 'Ran on', 'Tracking run']}
                  rows={r.steps.map((s) => [
                    <button className="ghost small" onClick={() => setChosen(s.name)} aria-label={`logs of ${s.name}`}>{s.name}</button>,
                    s.needs.join(', '),
                    <span title={s.error}><Badge tone={statusTone(s.status)}>{s.status}</Badge></span>,
                    s.cached ? 'hit' : '',
                    s.attempts,
                    runDuration(s),
                    Object.entries(s.metrics).map(([k, v]) => `${k}=${num(v)}`).join(', '),
                    s.ranOn ?? '',
                    s.trackingRunId ? <Link to={`/runs/${s.trackingRunId}`}>{s.trackingRunId.slice(0, 12)}</Link> : '',
                  ])}
                />
              </Card>
              {step && <StepLogs run={r.id} step={step} />}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
