/**
 * One deployment: its variants and weights, live requests/s, errors and latency percentiles
 * per variant (scraped from /metrics every two seconds), latency per version and variant from
 * the prediction log, its canary rollout, A/B analysis and revision history, and its monitors
 * and alerts.
 */
import { useMemo, useRef, useState } from 'react';
import { Link } from '../router';
import { useAsync, useInterval } from '../hooks';
import { getDeployment, getRollout, listRevisions, scrapeMetrics } from '../api/serving';
import { alerts, listMonitors, recentPredictions } from '../api/monitoring';
import { liveNumbers, percentile, type LiveNumbers, type Scrape } from '../live';
import { LineChart } from '../components/chart';
import { SimpleTable } from '../components/table';
import { Badge, Card, KeyValues, Loaded, Stat, toneOf } from '../components/ui';
import { AbCard, RevisionsCard, RolloutCard } from '../components/rollout';
import { num, time } from '../format';
import { AlertTimeline } from './monitoring';
import { REFRESH_MS } from './deployments';
import type { PageProps } from '../routes';

const KEEP = 150;

export default function DeploymentPage({ params }: PageProps) {
  const { name } = params;
  const deployment = useAsync(() => getDeployment(name), [name]);
  const predictions = useAsync(() => recentPredictions(name, 2000), [name]);
  const monitors = useAsync(() => listMonitors(name), [name]);
  const fired = useAsync(() => alerts({ deployment: name, limit: 20 }), [name]);
  const revisions = useAsync(() => listRevisions(name), [name, deployment.data?.revision]);
  const rollout = useAsync(() => getRollout(name), [name, deployment.data?.revision]);
  const last = useRef<Scrape | undefined>(undefined);
  const [points, setPoints] = useState<LiveNumbers[]>([]);
  useInterval(async () => {
    const scrape = { at: Date.now(), samples: await scrapeMetrics() };
    if (last.current) {
      const numbers = liveNumbers(name, last.current, scrape);
      setPoints((p) => [...p.slice(-KEEP + 1), numbers]);
    }
    last.current = scrape;
    if (rollout.data?.state === 'running') rollout.reload();
  }, REFRESH_MS);
  const now = points.at(-1);

  const perVariant = useMemo(() => {
    const groups = new Map<string, number[]>();
    for (const p of predictions.data ?? []) {
      const key = `${p.variant}\u0000${p.version}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(p.latencyMs);
    }
    return [...groups].map(([key, ms]) => {
      const [variant, version] = key.split('\u0000');
      return { variant, version, count: ms.length, p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), p99: percentile(ms, 0.99) };
    });
  }, [predictions.data]);

  const series = useMemo(() => {
    const x = points.map((p) => p.at / 1000);
    return {
      rate: [
        { label: 'requests/s', x, y: points.map((p) => p.requestsPerSecond) },
        { label: 'errors/s', x, y: points.map((p) => p.errorsPerSecond) },
      ],
      latency: [
        { label: 'p50 ms', x, y: points.map((p) => p.p50Ms ?? NaN) },
        { label: 'p95 ms', x, y: points.map((p) => p.p95Ms ?? NaN) },
        { label: 'p99 ms', x, y: points.map((p) => p.p99Ms ?? NaN) },
      ],
    };
  }, [points]);

  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/deployments">Deployments</Link> /
        </div>
        <div className="page-head">
          <h1>{name}</h1>
          {deployment.data && <Badge tone={toneOf(deployment.data.state)}>{deployment.data.state}</Badge>}
          <span className="sub">{deployment.data ? `revision ${deployment.data.revision}, updated ${time(deployment.data.updated_ms)}` : ''}</span>
        </div>
      </div>
      <div className="stats" aria-label="live traffic">
        <Stat label="Requests/s" value={now ? num(now.requestsPerSecond, 3) : '…'} hint={`over the last ${REFRESH_MS / 1000} s`} />
        <Stat label="Errors/s" value={now ? num(now.errorsPerSecond, 3) : '…'} />
        <Stat label="p50 latency" value={now?.p50Ms !== undefined ? `${num(now.p50Ms, 3)} ms` : '–'} />
        <Stat label="p99 latency" value={now?.p99Ms !== undefined ? `${num(now.p99Ms, 3)} ms` : '–'} />
      </div>
      <div className="grid2">
        <Card title="Traffic">{points.length > 1 ? <LineChart time xLabel="time" series={series.rate} height={200} /> : <p className="muted">Collecting…</p>}</Card>
        <Card title="Latency">{points.length > 1 ? <LineChart time xLabel="time" series={series.latency} height={200} /> : <p className="muted">Collecting…</p>}</Card>
      </div>
      <Loaded state={deployment}>
        {(d) => (
          <Card title="Variants">
            <SimpleTable
              label="variants"
              head={['Variant', 'Model', 'Follows', 'Serving version', 'Weight', 'State', 'Runs on', 'Requests/s', 'Errors/s', 'p50', 'p99']}
              rows={d.variants.map((v) => {
                const live = now?.byVariant[v.name];
                return [
                <b>{v.name}</b>,
                <Link to={`/models/${encodeURIComponent(v.model)}`}>{v.model}</Link>,
                v.alias ? `@${v.alias}` : `v${v.version}`,
                v.serving_version !== undefined ? <Link to={`/models/${encodeURIComponent(v.model)}/versions/${v.serving_version}`}>v{v.serving_version}</Link> : '',
                v.shadow ? 'shadow' : `${v.weight}%`,
                <Badge tone={toneOf(v.state)}>{v.state}</Badge>,
                v.runs_on ?? '',
                now ? num(live?.requestsPerSecond ?? 0, 3) : '…',
                now ? num(live?.errorsPerSecond ?? 0, 3) : '…',
                live?.p50Ms !== undefined ? `${num(live.p50Ms, 3)} ms` : '',
                live?.p99Ms !== undefined ? `${num(live.p99Ms, 3)} ms` : '',
              ];
              })}
            />
            <div style={{ marginTop: 10 }}>
              <KeyValues
                label="settings"
                entries={[
                  ['Batching', `up to ${d.batching.max_batch_size} rows, wait ${d.batching.max_queue_delay_us} µs`],
                  ['Queue', `${d.batching.max_queue_size} requests`],
                  ['Timeout', `${d.batching.timeout_ms} ms`],
                  ['Executor', d.executor],
                ]}
              />
            </div>
          </Card>
        )}
      </Loaded>
      {rollout.data && (
        <RolloutCard
          deployment={name}
          rollout={rollout.data}
          onChange={() => {
            deployment.reload();
            rollout.reload();
          }}
        />
      )}
      {deployment.data && deployment.data.variants.filter((v) => !v.shadow && v.weight > 0).length > 1 && <AbCard deployment={name} />}
      <Card title="Latency by version and variant (last logged predictions)">
        <Loaded state={predictions}>
          {() =>
            perVariant.length === 0 ? (
              <p className="muted">No logged predictions.</p>
            ) : (
              <SimpleTable
                label="latency by variant"
                head={['Variant', 'Version', 'Requests', 'p50', 'p95', 'p99']}
                rows={perVariant.map((r) => [r.variant, `v${r.version}`, num(r.count), `${num(r.p50, 3)} ms`, `${num(r.p95, 3)} ms`, `${num(r.p99, 3)} ms`])}
              />
            )
          }
        </Loaded>
      </Card>
      <Loaded state={revisions}>
        {(rs) => deployment.data && <RevisionsCard deployment={name} current={deployment.data.revision} revisions={rs} onChange={deployment.reload} />}
      </Loaded>
      <div className="grid2">
        <Card title="Monitors">
          <Loaded state={monitors}>
            {(ms) => (
              <SimpleTable
                label="deployment monitors"
                head={['Monitor', 'Kind', 'State']}
                rows={ms.map((m) => [<Link to={`/monitors/${m.id}`}>{m.name}</Link>, m.kind.replace('_', ' '), <Badge tone={toneOf(m.state)}>{m.state}</Badge>])}
              />
            )}
          </Loaded>
        </Card>
        <Card title="Recent alerts">
          <Loaded state={fired}>{(items) => <AlertTimeline items={items} />}</Loaded>
        </Card>
      </div>
    </section>
  );
}
