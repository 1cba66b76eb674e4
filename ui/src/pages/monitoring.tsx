/** Monitoring overview: every monitor's state and the alerts timeline. */
import { Link } from '../router';
import { useAsync } from '../hooks';
import { alerts, listMonitors, type Alert } from '../api/monitoring';
import { SimpleTable } from '../components/table';
import { Badge, Card, Loaded, toneOf } from '../components/ui';
import { duration, time } from '../format';

export default function MonitoringPage() {
  const monitors = useAsync(() => listMonitors(), []);
  const timeline = useAsync(() => alerts({ limit: 200 }), []);
  return (
    <section className="stack">
      <div className="page-head">
        <h1>Monitoring</h1>
      </div>
      <Card title="Monitors">
        <Loaded state={monitors}>
          {(ms) =>
            ms.length === 0 ? (
              <p className="muted">No monitors yet. Create one with `modelport monitors create`.</p>
            ) : (
              <SimpleTable
                label="monitors"
                head={['Name', 'Deployment', 'Kind', 'State', 'Every', 'Next run']}
                rows={ms.map((m) => [
                  <Link to={`/monitors/${m.id}`}>{m.name}</Link>,
                  <Link to={`/deployments/${encodeURIComponent(m.deployment)}`}>{m.deployment}</Link>,
                  m.kind.replace('_', ' '),
                  <Badge tone={toneOf(m.state)}>{m.state}</Badge>,
                  duration(m.intervalSeconds * 1000),
                  time(m.nextRunAt),
                ])}
              />
            )
          }
        </Loaded>
      </Card>
      <Card title="Alerts">
        <Loaded state={timeline}>{(items) => <AlertTimeline items={items} />}</Loaded>
      </Card>
    </section>
  );
}

export function AlertTimeline({ items }: { items: Alert[] }) {
  if (items.length === 0) return <p className="muted">No alerts.</p>;
  return (
    <ol className="timeline" aria-label="alerts timeline">
      {items.map((a) => (
        <li key={a.id} className={a.state}>
          <div className="row">
            <b>{time(a.startedAt)}</b>
            <Badge tone={toneOf(a.state)}>{a.state}</Badge>
            <Badge>{a.kind.replace('_', ' ')}</Badge>
            <Badge tone={toneOf(a.severity)}>{a.severity}</Badge>
            {a.monitorId && <Link to={`/monitors/${a.monitorId}`}>monitor</Link>}
            {a.resolvedAt && <span className="muted">resolved {time(a.resolvedAt)}</span>}
            {a.occurrences > 1 && <span className="muted">×{a.occurrences}</span>}
          </div>
          <div>{a.message}</div>
        </li>
      ))}
    </ol>
  );
}
