/** One run: its parameters, metric curves, tags, inputs and models (lineage), and artifacts. */
import { useMemo } from 'react';
import { Link } from '../router';
import { useAsync } from '../hooks';
import { getExperiment, getRun, listArtifacts, metricHistory, metricValue, type Run } from '../api/tracking';
import { versionsOfRun } from '../api/registry';
import { LineChart } from '../components/chart';
import { ArtifactBrowser, Preview } from '../components/artifacts';
import { SimpleTable } from '../components/table';
import { Badge, Card, KeyValues, Loaded, toneOf } from '../components/ui';
import { duration, num, time } from '../format';
import type { PageProps } from '../routes';

export default function RunPage({ params }: PageProps) {
  const run = useAsync(() => getRun(params.id), [params.id]);
  return <Loaded state={run}>{(r) => <RunView run={r} />}</Loaded>;
}

/** The first MLmodel within two levels of the artifact root (where log_model writes it). */
async function findMLmodel(runId: string): Promise<string | undefined> {
  const root = await listArtifacts(runId);
  if (root.some((f) => f.path === 'MLmodel')) return 'MLmodel';
  for (const dir of root.filter((f) => f.is_dir)) {
    const inner = await listArtifacts(runId, dir.path);
    const hit = inner.find((f) => !f.is_dir && f.path.endsWith('/MLmodel'));
    if (hit) return hit.path;
  }
  return undefined;
}

function RunView({ run }: { run: Run }) {
  const id = run.info.run_id;
  const experiment = useAsync(() => getExperiment(run.info.experiment_id), [run.info.experiment_id]);
  const models = useAsync(() => versionsOfRun(id), [id]);
  const mlmodel = useAsync(() => findMLmodel(id), [id]);
  const metrics = run.data.metrics ?? [];
  // Metrics logged at more than one step get a chart; a single value reads better in the table.
  const curves = useMemo(() => metrics.filter((m) => m.step > 0).map((m) => m.key).sort(), [metrics]);
  const histories = useAsync(() => Promise.all(curves.map((k) => metricHistory(id, k, 2000))), [id, curves.join('\n')]);
  const tags = (run.data.tags ?? []).filter((t) => t.key !== 'mlflow.runName');
  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/experiments">Experiments</Link> / <Link to={`/experiments/${run.info.experiment_id}`}>{experiment.data?.name ?? run.info.experiment_id}</Link> /
        </div>
        <div className="page-head">
          <h1>{run.info.run_name || id}</h1>
          <Badge tone={toneOf(run.info.status)}>{run.info.status}</Badge>
          <span className="sub mono">{id}</span>
        </div>
      </div>
      <Card>
        <KeyValues
          label="run info"
          entries={[
            ['Started', time(run.info.start_time)],
            ['Duration', run.info.end_time ? duration(run.info.end_time - run.info.start_time) : 'running'],
            ['User', run.info.user_id ?? ''],
            ['Artifact root', <span className="mono">{run.info.artifact_uri}</span>],
          ]}
        />
      </Card>
      <div className="grid2">
        <Card title={`Parameters (${(run.data.params ?? []).length})`}>
          <SimpleTable label="parameters" head={['Name', 'Value']} rows={(run.data.params ?? []).map((p) => [p.key, <span className="mono">{p.value}</span>])} />
        </Card>
        <Card title={`Metrics (${metrics.length})`}>
          <SimpleTable label="metrics" head={['Name', 'Last value', 'Step']} rows={metrics.map((m) => [m.key, num(metricValue(m.value)), m.step])} />
        </Card>
      </div>
      {curves.length > 0 && (
        <Card title="Metric charts">
          <Loaded state={histories}>
            {(all) => (
              <div className="grid2">
                {all.map((points, i) => (
                  <LineChart key={curves[i]} title={curves[i]} xLabel="step" series={[{ label: curves[i], x: points.map((p) => p.step), y: points.map((p) => metricValue(p.value)) }]} height={220} />
                ))}
              </div>
            )}
          </Loaded>
        </Card>
      )}
      <div className="grid2">
        <Card title="Lineage">
          <h3 className="muted" style={{ fontSize: 12, margin: '0 0 4px' }}>Datasets used</h3>
          {(run.inputs?.dataset_inputs ?? []).length === 0 && <p className="muted">No dataset inputs logged.</p>}
          <ul>
            {(run.inputs?.dataset_inputs ?? []).map((d, i) => (
              <li key={i}>
                <Link to={`/datasets/${encodeURIComponent(d.dataset.name)}`}>{d.dataset.name}</Link> <span className="muted mono">{d.dataset.digest.slice(0, 12)}</span>{' '}
                {(d.tags ?? []).map((t) => <Badge key={t.key}>{t.value}</Badge>)}
              </li>
            ))}
          </ul>
          <h3 className="muted" style={{ fontSize: 12, margin: '8px 0 4px' }}>Registered model versions</h3>
          <Loaded state={models}>
            {(versions) =>
              versions.length === 0 ? (
                <p className="muted">None registered from this run.</p>
              ) : (
                <ul>
                  {versions.map((v) => (
                    <li key={`${v.name}/${v.version}`}>
                      <Link to={`/models/${encodeURIComponent(v.name)}/versions/${v.version}`}>
                        {v.name} v{v.version}
                      </Link>{' '}
                      {(v.aliases ?? []).map((a) => <Badge key={a} tone="info">@{a}</Badge>)}
                    </li>
                  ))}
                </ul>
              )
            }
          </Loaded>
        </Card>
        <Card title={`Tags (${tags.length})`}>
          <SimpleTable label="tags" head={['Key', 'Value']} rows={tags.map((t) => [t.key, <span className="mono">{t.value}</span>])} />
        </Card>
      </div>
      {mlmodel.data && (
        <Card title="Logged model (MLmodel)">
          <Preview runId={id} file={{ path: mlmodel.data, is_dir: false }} />
        </Card>
      )}
      <Card title="Artifacts">
        <ArtifactBrowser runId={id} />
      </Card>
    </section>
  );
}
