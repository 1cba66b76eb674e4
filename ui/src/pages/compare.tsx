/** Runs side by side: a metric over steps for every run, parallel coordinates, and the differences. */
import { useMemo, useState } from 'react';
import { Link, useLocation } from '../router';
import { useAsync } from '../hooks';
import { getRun, metricHistory, metricValue, type Run } from '../api/tracking';
import { LineChart, colorOf } from '../components/chart';
import { ParallelCoordinates } from '../components/parallel';
import { SimpleTable } from '../components/table';
import { Card, Loaded } from '../components/ui';
import { num } from '../format';

export default function ComparePage() {
  const { query } = useLocation();
  const ids = (query.get('runs') ?? '').split(',').filter(Boolean);
  const runs = useAsync(() => Promise.all(ids.map(getRun)), [ids.join(',')]);
  return (
    <section className="stack">
      <div className="page-head">
        <h1>Compare runs</h1>
        <span className="sub">{ids.length} runs</span>
      </div>
      {ids.length < 2 ? <p className="muted">Select two or more runs in an experiment's table to compare them.</p> : <Loaded state={runs}>{(rs) => <Comparison runs={rs} />}</Loaded>}
    </section>
  );
}

const last = (run: Run, key: string) => {
  const m = run.data.metrics?.find((x) => x.key === key);
  return m === undefined ? undefined : metricValue(m.value);
};
const param = (run: Run, key: string) => run.data.params?.find((p) => p.key === key)?.value;
const nameOf = (run: Run) => run.info.run_name || run.info.run_id.slice(0, 8);

function Comparison({ runs }: { runs: Run[] }) {
  const metricKeys = useMemo(() => [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort(), [runs]);
  const curveKeys = useMemo(() => [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).filter((m) => m.step > 0).map((m) => m.key)))].sort(), [runs]);
  const paramKeys = useMemo(() => [...new Set(runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort(), [runs]);
  const [curve, setCurve] = useState(curveKeys[0] ?? '');
  const [target, setTarget] = useState(metricKeys.find((k) => !curveKeys.includes(k)) ?? metricKeys[0] ?? '');
  const histories = useAsync(() => (curve ? Promise.all(runs.map((r) => metricHistory(r.info.run_id, curve, 2000))) : Promise.resolve([])), [curve, runs]);
  const varying = paramKeys.filter((k) => new Set(runs.map((r) => param(r, k))).size > 1);
  const series = useMemo(
    () => (histories.data ?? []).map((points, i) => ({ label: nameOf(runs[i]), x: points.map((p) => p.step), y: points.map((p) => metricValue(p.value)) })),
    [histories.data, runs],
  );

  return (
    <>
      <Card
        title="Metric over steps"
        actions={
          <select aria-label="metric over steps" value={curve} onChange={(e) => setCurve(e.target.value)}>
            {curveKeys.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        }
      >
        {curveKeys.length === 0 ? <p className="muted">These runs logged no metric at more than one step.</p> : <Loaded state={histories}>{() => <LineChart title={curve} xLabel="step" series={series} height={300} />}</Loaded>}
      </Card>
      <Card
        title="Parameters against a metric"
        actions={
          <select aria-label="metric for parallel coordinates" value={target} onChange={(e) => setTarget(e.target.value)}>
            {metricKeys.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        }
      >
        <ParallelCoordinates
          runs={runs.map(nameOf)}
          axes={[...(varying.length ? varying : paramKeys).map((k) => ({ label: k, values: runs.map((r) => param(r, k)) })), { label: target, values: runs.map((r) => last(r, target)) }]}
          colorBy={runs.map((r) => last(r, target) ?? NaN)}
        />
      </Card>
      <Card title="Values">
        <SimpleTable
          label="comparison"
          head={['', ...runs.map((r, i) => <Link key={r.info.run_id} to={`/runs/${r.info.run_id}`} style={{ color: colorOf(i) }}>{nameOf(r)}</Link>)]}
          rows={[
            ...metricKeys.map((k) => [<b>{k}</b>, ...runs.map((r) => num(last(r, k)))]),
            ...paramKeys.map((k) => [<span className={varying.includes(k) ? undefined : 'muted'}>{k} (param)</span>, ...runs.map((r) => param(r, k) ?? '')]),
          ]}
        />
      </Card>
    </>
  );
}
