/**
 * One monitor: its latest check (for drift, the per-feature table with scores and thresholds and
 * each feature's reference vs current histogram), performance over time with the moments its
 * alerts fired, its checks and alerts.
 */
import { useEffect, useRef, useState } from 'react';
import { Link } from '../router';
import { useAsync } from '../hooks';
import { alerts, checks, driftReport, getMonitor, performance, type Check, type DriftColumn, type Monitor } from '../api/monitoring';
import { LineChart } from '../components/chart';
import { SimpleTable } from '../components/table';
import { Badge, Card, KeyValues, Loaded, toneOf } from '../components/ui';
import { duration, num, time } from '../format';
import { AlertTimeline } from './monitoring';
import type { PageProps } from '../routes';

export default function MonitorPage({ params }: PageProps) {
  const monitor = useAsync(() => getMonitor(params.id), [params.id]);
  return <Loaded state={monitor}>{(m) => <MonitorView monitor={m} />}</Loaded>;
}

function MonitorView({ monitor }: { monitor: Monitor }) {
  const history = useAsync(() => checks(monitor.id, 50), [monitor.id]);
  const fired = useAsync(() => alerts({ monitor: monitor.id }), [monitor.id]);
  const latest = history.data?.[0];
  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/monitoring">Monitoring</Link> /
        </div>
        <div className="page-head">
          <h1>{monitor.name}</h1>
          <Badge tone={toneOf(monitor.state)}>{monitor.state}</Badge>
          <span className="sub">
            {monitor.kind.replace('_', ' ')} monitor of <Link to={`/deployments/${encodeURIComponent(monitor.deployment)}`}>{monitor.deployment}</Link>
          </span>
        </div>
      </div>
      <Card>
        <KeyValues
          label="monitor"
          entries={[
            ['Runs every', duration(monitor.intervalSeconds * 1000)],
            ['Window', duration(monitor.windowSeconds * 1000)],
            ['Next run', time(monitor.nextRunAt)],
            ['Latest check', latest ? `${latest.status} at ${time(latest.finishedAt)}` : 'none yet'],
            ...(monitor.performance ? ([['Rule', `${monitor.performance.metric} ${monitor.performance.min !== undefined ? `≥ ${monitor.performance.min}` : ''}${monitor.performance.max !== undefined ? ` ≤ ${monitor.performance.max}` : ''}`]] as [string, string][]) : []),
          ]}
        />
        {latest && <p>{latest.message}</p>}
      </Card>
      {latest?.kind === 'drift' && latest.summary.columns && <DriftTable check={latest} columns={latest.summary.columns} />}
      {monitor.kind === 'performance' && monitor.performance && <PerformanceOverTime monitor={monitor} alertTimes={(fired.data ?? []).map((a) => a.startedAt)} />}
      <div className="grid2">
        <Card title="Checks">
          <Loaded state={history}>
            {(cs) => (
              <SimpleTable
                label="checks"
                head={['Finished', 'Status', 'Window', 'Message']}
                rows={cs.map((c) => [time(c.finishedAt), <Badge tone={toneOf(c.status)}>{c.status}</Badge>, duration(c.windowTo - c.windowFrom), c.message])}
              />
            )}
          </Loaded>
        </Card>
        <Card title="Alerts">
          <Loaded state={fired}>{(items) => <AlertTimeline items={items} />}</Loaded>
        </Card>
      </div>
    </section>
  );
}

function DriftTable({ check, columns }: { check: Check; columns: DriftColumn[] }) {
  const [open, setOpen] = useState<string>();
  const report = useAsync(() => (check.reportUrl ? driftReport(check.id) : Promise.resolve(undefined)), [check.id]);
  const s = check.summary as { drifted?: number; computed?: number; share?: number; driftShare?: number; referenceRows?: number; currentRows?: number };
  return (
    <div className="grid2 drift">
      <Card title={`Feature drift (${s.drifted ?? 0} of ${s.computed ?? columns.length} drifted)`} actions={check.reportUrl && <span className="muted">{s.referenceRows} reference · {s.currentRows} current rows</span>}>
        <SimpleTable
          label="feature drift"
          head={['Feature', 'Method', 'Score', 'Threshold', 'Drift', '']}
          rows={[...columns]
            .sort((a, b) => Number(b.drift ?? false) - Number(a.drift ?? false) || (b.score ?? 0) - (a.score ?? 0))
            .map((c) => [
              <b>{c.column}</b>,
              c.method ?? '',
              num(c.score),
              num(c.threshold),
              c.computed ? <Badge tone={c.drift ? 'bad' : 'ok'}>{c.drift ? 'drift' : 'stable'}</Badge> : <span className="muted">{c.reason}</span>,
              c.computed && check.reportUrl ? (
                <button className={`small${open === c.column ? '' : ' ghost'}`} onClick={() => setOpen(c.column)} aria-label={`histogram of ${c.column}`} title="reference vs current histogram">
                  ▤
                </button>
              ) : (
                ''
              ),
            ])}
        />
      </Card>
      <Card title={open ? `${open}: reference vs current` : 'Reference vs current'}>
        {!open ? <p className="muted">Choose a feature to see its reference and current distributions.</p> : <Loaded state={report}>{(html) => (html ? <ColumnHistogram html={html} column={open} /> : null)}</Loaded>}
      </Card>
    </div>
  );
}

/**
 * A column's histogram and statistics from the check's HTML report, where the server drew them
 * from the compared data. Only the SVG and the statistics table are taken over, as nodes (never
 * as markup), so nothing in the report can run on this page.
 */
function ColumnHistogram({ html, column }: { html: string; column: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const id = `col-${encodeURIComponent(column).replace(/%/g, '_')}`;
    const card = doc.getElementById(id);
    const parts = [card?.querySelector('svg.hist'), card?.querySelector('table.stats')].filter((n): n is Element => !!n);
    for (const part of parts) {
      part.querySelectorAll('script, foreignObject').forEach((n) => n.remove());
      for (const el of [part, ...part.querySelectorAll('*')]) for (const attr of [...el.attributes]) if (attr.name.startsWith('on') || attr.name === 'href') el.removeAttribute(attr.name);
    }
    box.current?.replaceChildren(...parts.map((p) => document.importNode(p, true)));
  }, [html, column]);
  return (
    <div>
      <div className="legend">
        <span>
          <i style={{ background: 'var(--ref)', opacity: 0.6 }} />
          reference
        </span>
        <span>
          <i style={{ background: 'var(--cur)', opacity: 0.7 }} />
          current
        </span>
      </div>
      <div className="drift-svg" ref={box} data-testid="drift-histogram" />
    </div>
  );
}

/**
 * The monitored metric over time. The traffic's span is not known up front: the range is
 * narrowed to the windows that hold labelled rows, about sixty windows at a time, until the
 * windows spread over it, so the chart fits whatever span the traffic covers.
 */
function PerformanceOverTime({ monitor, alertTimes }: { monitor: Monitor; alertTimes: number[] }) {
  const spec = monitor.performance!;
  const state = useAsync(async () => {
    const base = { deployment: monitor.deployment, positiveLabel: spec.positiveLabel, negativeLabel: spec.negativeLabel, threshold: spec.threshold, task: spec.task };
    let to = Date.now();
    let from = to - 30 * 86_400_000;
    for (;;) {
      const windowSeconds = Math.max(1, Math.ceil((to - from) / 60_000));
      const used = (await performance({ ...base, from, to, windowSeconds })).filter((w) => w.rows > 0);
      if (used.length === 0) return [];
      const start = used[0].start;
      const end = Math.min(to, used.at(-1)!.end);
      if (windowSeconds === 1 || end - start > (to - from) / 2) return used;
      [from, to] = [start, end];
    }
  }, [monitor.id]);
  return (
    <Card title={`${spec.metric} over time`}>
      <Loaded state={state}>
        {(windows) =>
          !windows.some((w) => w.metrics.some((m) => m.name === spec.metric && m.computed)) ? (
            <p className="muted">No window has enough labelled predictions for {spec.metric} yet.</p>
          ) : (
            <LineChart
              time
              xLabel="time"
              height={260}
              series={[
                {
                  label: spec.metric,
                  x: windows.map((w) => w.start / 1000),
                  y: windows.map((w) => w.metrics.find((m) => m.name === spec.metric)?.value ?? NaN),
                },
              ]}
              lines={[...(spec.min !== undefined ? [{ y: spec.min, label: `min ${spec.min}` }] : []), ...(spec.max !== undefined ? [{ y: spec.max, label: `max ${spec.max}` }] : [])]}
              marks={alertTimes.map((t) => ({ x: t / 1000, label: 'alert' }))}
            />
          )
        }
      </Loaded>
    </Card>
  );
}
