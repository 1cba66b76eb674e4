/**
 * One model version: aliases and stage, the source run's metrics, the lineage from dataset to
 * deployment, its global importance, its approval requests, and a form to request an alias
 * move or a stage change.
 */
import { useState } from 'react';
import { Link } from '../router';
import { useAsync } from '../hooks';
import { approvals, getVersion, lineage, requestApproval, type Lineage } from '../api/registry';
import { getRun, metricValue } from '../api/tracking';
import { listDeployments } from '../api/serving';
import { ApprovalList } from '../components/approvals';
import { LineageGraph } from '../components/lineage';
import { ImportanceCard } from '../components/importance';
import { SimpleTable } from '../components/table';
import { Badge, Card, KeyValues, Loaded, toneOf } from '../components/ui';
import { bytes, num, time } from '../format';
import type { PageProps } from '../routes';

export default function ModelVersionPage({ params }: PageProps) {
  const { name } = params;
  const version = useAsync(() => getVersion(name, params.version), [name, params.version]);
  const v = version.data;
  const run = useAsync(() => (v?.runId ? getRun(v.runId) : Promise.resolve(undefined)), [v?.runId]);
  const graph = useAsync(async (): Promise<Lineage | undefined> => {
    if (!v) return undefined;
    const [g, deployments] = await Promise.all([lineage(name, v.version), listDeployments()]);
    // Deployments serving this version extend the registry's lineage one step downstream.
    const serving = deployments.filter((d) => d.variants.some((x) => x.model === name && x.serving_version === v.version));
    return {
      ...g,
      nodes: [...g.nodes, ...serving.map((d) => ({ id: `deployment:${d.name}`, kind: 'deployment', label: d.name, data: { name: d.name } }))],
      edges: [...g.edges, ...serving.map((d) => ({ from: g.root, to: `deployment:${d.name}`, relation: 'served_by' }))],
    };
  }, [name, v?.version]);
  const requests = useAsync(async () => (v ? (await approvals(name)).filter((a) => a.version === v.version) : []), [name, v?.version]);
  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/models">Models</Link> / <Link to={`/models/${encodeURIComponent(name)}`}>{name}</Link> /
        </div>
        <div className="page-head">
          <h1>
            {name} v{v?.version ?? params.version}
          </h1>
          {v && <Badge tone={toneOf(v.stage)}>{v.stage}</Badge>}
          {v?.aliases.map((a) => <Badge key={a} tone="info">@{a}</Badge>)}
        </div>
      </div>
      <Loaded state={version}>
        {(mv) => (
          <Card>
            <KeyValues
              label="version info"
              entries={[
                ['Flavor', mv.flavor ?? ''],
                ['Status', mv.status],
                ['Registered', time(mv.createdAt)],
                ['By', mv.userId ?? ''],
                ['Size', bytes(mv.size)],
                ['sha256', <span className="mono">{mv.sha256?.slice(0, 16)}</span>],
                ['Description', mv.description ?? ''],
                ['Tags', Object.entries(mv.tags).map(([k, val]) => `${k}=${val}`).join(', ')],
              ]}
            />
          </Card>
        )}
      </Loaded>
      <Card title="Lineage">
        <Loaded state={graph}>{(g) => (g ? <LineageGraph graph={g} /> : null)}</Loaded>
      </Card>
      {v && <ImportanceCard name={name} version={v.version} />}
      <div className="grid2">
        <Card title="Source run metrics" actions={v?.runId && <Link to={`/runs/${v.runId}`}>open run</Link>}>
          {!v?.runId ? (
            <p className="muted">This version names no source run.</p>
          ) : (
            <Loaded state={run}>
              {(r) => (
                <SimpleTable
                  label="source run metrics"
                  head={['Metric', 'Value']}
                  rows={(r?.data.metrics ?? []).filter((m) => m.step === 0).map((m) => [m.key, num(metricValue(m.value))])}
                />
              )}
            </Loaded>
          )}
        </Card>
        <div className="stack">
          <Card title="Approval requests">
            <Loaded state={requests}>{(items) => <ApprovalList items={items} onChange={() => { requests.reload(); version.reload(); }} />}</Loaded>
          </Card>
          <Card title="Request a change">{v && <RequestForm name={name} version={v.version} onDone={requests.reload} />}</Card>
        </div>
      </div>
    </section>
  );
}

function RequestForm({ name, version, onDone }: { name: string; version: number; onDone: () => void }) {
  const [kind, setKind] = useState<'alias' | 'stage'>('alias');
  const [target, setTarget] = useState('');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string>();
  return (
    <form
      className="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          await requestApproval({ name, version, [kind]: target.trim(), comment: comment.trim() || undefined });
          setTarget('');
          setComment('');
          onDone();
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <div className="row">
        <select aria-label="change kind" value={kind} onChange={(e) => setKind(e.target.value as 'alias' | 'stage')}>
          <option value="alias">Move alias</option>
          <option value="stage">Change stage</option>
        </select>
        {kind === 'alias' ? (
          <input aria-label="alias" placeholder="alias, e.g. champion" value={target} onChange={(e) => setTarget(e.target.value)} required />
        ) : (
          <select aria-label="stage" value={target} onChange={(e) => setTarget(e.target.value)} required>
            <option value="">stage…</option>
            {['Staging', 'Production', 'Archived', 'None'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        )}
      </div>
      <input aria-label="comment" placeholder="comment (optional)" value={comment} onChange={(e) => setComment(e.target.value)} />
      <div className="row">
        <button type="submit">Request approval</button>
      </div>
      {error && <div className="error" role="alert">{error}</div>}
    </form>
  );
}
