/** Pipelines: recent runs with progress, the saved pipelines (each can be run now), schedules and event triggers. */
import { useState } from 'react';
import { Link, navigate } from '../router';
import { useAsync, useInterval } from '../hooks';
import { FINISHED, listPipelineRuns, listPipelines, listSchedules, listTriggers, runPipeline, type PipelineRun } from '../api/pipelines';
import { SimpleTable } from '../components/table';
import { Badge, Card, Loaded, toneOf } from '../components/ui';
import { duration, time } from '../format';
import { REFRESH_MS } from './deployments';

export const runDuration = (r: { startedAt?: number; endedAt?: number }) => (r.startedAt ? duration((r.endedAt ?? Date.now()) - r.startedAt) : '');

export function statusTone(status: string) {
  return toneOf(status === 'succeeded' || status === 'cached' ? 'ok' : status === 'upstream_failed' || status === 'cancelled' ? 'failed' : status);
}

export function RunsTable({ runs, label }: { runs: PipelineRun[]; label: string }) {
  return (
    <SimpleTable
      label={label}
      head={['Run', 'Pipeline', 'Status', 'Steps done', 'Trigger', 'Started', 'Duration']}
      rows={runs.map((r) => [
        <Link to={`/pipelines/runs/${encodeURIComponent(r.id)}`} className="mono">{r.id.slice(0, 12)}</Link>,
        r.pipeline,
        <Badge tone={statusTone(r.status)}>{r.status}</Badge>,
        `${r.progress.done} / ${r.progress.total}`,
        r.trigger,
        time(r.startedAt ?? r.createdAt),
        runDuration(r),
      ])}
    />
  );
}

function RunNow({ name }: { name: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const run = await runPipeline(name);
      navigate(`/pipelines/runs/${encodeURIComponent(run.id)}`);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <>
      <button className="small" disabled={busy} onClick={start} aria-label={`run ${name} now`}>
        Run now
      </button>
      {error && <span className="error" role="alert"> {error}</span>}
    </>
  );
}

export default function PipelinesPage() {
  const pipelines = useAsync(listPipelines, []);
  const runs = useAsync(() => listPipelineRuns(50), []);
  const schedules = useAsync(listSchedules, []);
  const triggers = useAsync(listTriggers, []);
  useInterval(() => {
    if (runs.data?.some((r) => !FINISHED.has(r.status))) runs.reload();
  }, REFRESH_MS);
  return (
    <section className="stack">
      <div className="page-head">
        <h1>Pipelines</h1>
      </div>
      <Card title="Recent runs">
        <Loaded state={runs}>{(rs) => (rs.length === 0 ? <p className="muted">No runs yet. Start one with `modelport pipelines run`.</p> : <RunsTable runs={rs} label="pipeline runs" />)}</Loaded>
      </Card>
      <Card title="Saved pipelines">
        <Loaded state={pipelines}>
          {(ps) =>
            ps.length === 0 ? (
              <p className="muted">No saved pipelines.</p>
            ) : (
              <SimpleTable
                label="pipelines"
                head={['Name', 'Description', 'Steps', 'Parameters', 'Concurrency', 'Updated', '']}
                rows={ps.map((p) => [<b>{p.name}</b>, p.description, p.steps.map((s) => s.name).join(' → '), Object.keys(p.params).join(', '), p.concurrency, time(p.updatedAt), <RunNow name={p.name} />])}
              />
            )
          }
        </Loaded>
      </Card>
      <div className="grid2">
        <Card title="Schedules">
          <Loaded state={schedules}>
            {(ss) =>
              ss.length === 0 ? (
                <p className="muted">No schedules.</p>
              ) : (
                <SimpleTable label="schedules" head={['Pipeline', 'Cron', 'Time zone', 'Next run']} rows={ss.map((s) => [s.pipeline, <code>{s.cron}</code>, s.timezone, time(s.nextAt)])} />
              )
            }
          </Loaded>
        </Card>
        <Card title="Event triggers">
          <Loaded state={triggers}>
            {(ts) =>
              ts.length === 0 ? (
                <p className="muted">No triggers.</p>
              ) : (
                <SimpleTable label="triggers" head={['Pipeline', 'On', 'Settings']} rows={ts.map((t) => [t.pipeline, t.kind, <code>{JSON.stringify(t.config)}</code>])} />
              )
            }
          </Loaded>
        </Card>
      </div>
    </section>
  );
}
