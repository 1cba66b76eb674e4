/** Deployments: what each serves, and its traffic right now (from /metrics, refreshed). */
import { useRef, useState } from 'react';
import { Link } from '../router';
import { useAsync, useInterval } from '../hooks';
import { listDeployments, scrapeMetrics } from '../api/serving';
import { liveNumbers, type LiveNumbers, type Scrape } from '../live';
import { SimpleTable } from '../components/table';
import { Badge, Loaded, toneOf } from '../components/ui';
import { num, time } from '../format';

export const REFRESH_MS = 2000;

export default function DeploymentsPage() {
  const state = useAsync(listDeployments, []);
  const last = useRef<Scrape | undefined>(undefined);
  const [live, setLive] = useState<Record<string, LiveNumbers>>({});
  useInterval(async () => {
    const scrape = { at: Date.now(), samples: await scrapeMetrics() };
    if (last.current && state.data) setLive(Object.fromEntries(state.data.map((d) => [d.name, liveNumbers(d.name, last.current!, scrape)])));
    last.current = scrape;
  }, REFRESH_MS);
  return (
    <section>
      <div className="page-head">
        <h1>Deployments</h1>
      </div>
      <Loaded state={state}>
        {(deployments) =>
          deployments.length === 0 ? (
            <p className="muted">Nothing deployed yet. Deploy a model with `modelport deploy`.</p>
          ) : (
            <SimpleTable
              label="deployments"
              head={['Name', 'State', 'Serves', 'Requests/s', 'p99 latency', 'Revision', 'Updated']}
              rows={deployments.map((d) => [
                <Link to={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</Link>,
                <Badge tone={toneOf(d.state)}>{d.state}</Badge>,
                d.variants.map((v) => `${v.model} ${v.alias ? `@${v.alias} ` : ''}v${v.serving_version ?? v.version ?? '?'}${d.variants.length > 1 ? ` (${v.weight}%)` : ''}`).join(', '),
                live[d.name] ? num(live[d.name].requestsPerSecond, 3) : '…',
                live[d.name]?.p99Ms !== undefined ? `${num(live[d.name].p99Ms, 3)} ms` : '',
                d.revision,
                time(d.updated_ms),
              ])}
            />
          )
        }
      </Loaded>
    </section>
  );
}
