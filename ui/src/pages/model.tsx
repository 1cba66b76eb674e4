/** One registered model: its versions with aliases and stages, and its approval requests. */
import { Link, navigate } from '../router';
import { useAsync } from '../hooks';
import { approvals, getModel, listVersions } from '../api/registry';
import { ApprovalList } from '../components/approvals';
import { DataTable } from '../components/table';
import { Badge, Card, Loaded, toneOf } from '../components/ui';
import { time } from '../format';
import type { PageProps } from '../routes';

export default function ModelPage({ params }: PageProps) {
  const name = params.name;
  const state = useAsync(() => Promise.all([getModel(name), listVersions(name)]), [name]);
  const requests = useAsync(() => approvals(name), [name]);
  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/models">Models</Link> /
        </div>
        <div className="page-head">
          <h1>{name}</h1>
          <span className="sub">{state.data?.[0].description}</span>
        </div>
      </div>
      <Loaded state={state}>
        {([model, versions]) => (
          <Card title={`Versions (${versions.length})`} actions={<span className="row">{model.aliases.map((a) => <Badge key={a.alias} tone="info">@{a.alias} → v{a.version}</Badge>)}</span>}>
            <DataTable
              label="versions"
              rows={versions}
              rowKey={(v) => String(v.version)}
              onOpen={(v) => navigate(`/models/${encodeURIComponent(name)}/versions/${v.version}`)}
              initialSort={{ id: 'version', desc: true }}
              height={300}
              columns={[
                { id: 'version', label: 'Version', value: (v) => v.version, render: (v) => <Link to={`/models/${encodeURIComponent(name)}/versions/${v.version}`}>v{v.version}</Link>, width: 90 },
                { id: 'aliases', label: 'Aliases', value: (v) => v.aliases.join(','), render: (v) => v.aliases.map((a) => <Badge key={a} tone="info">@{a}</Badge>) },
                { id: 'stage', label: 'Stage', value: (v) => v.stage, render: (v) => <Badge tone={toneOf(v.stage)}>{v.stage}</Badge>, width: 120 },
                { id: 'flavor', label: 'Flavor', value: (v) => v.flavor, width: 100 },
                { id: 'run', label: 'Source run', value: (v) => v.runId, render: (v) => (v.runId ? <Link to={`/runs/${v.runId}`} className="mono">{v.runId.slice(0, 12)}</Link> : '') },
                { id: 'created', label: 'Registered', value: (v) => v.createdAt, render: (v) => time(v.createdAt), width: 170 },
                { id: 'status', label: 'Status', value: (v) => v.status, width: 110 },
              ]}
            />
          </Card>
        )}
      </Loaded>
      <Card title="Approval requests">
        <Loaded state={requests}>{(items) => <ApprovalList items={items} onChange={requests.reload} />}</Loaded>
      </Card>
    </section>
  );
}
