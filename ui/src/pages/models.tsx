/** Registered models: latest versions, aliases and pending approvals at a glance. */
import { Link } from '../router';
import { useAsync } from '../hooks';
import { approvals, listModels } from '../api/registry';
import { SimpleTable } from '../components/table';
import { Badge, Loaded } from '../components/ui';
import { time } from '../format';

export default function ModelsPage() {
  const state = useAsync(async () => {
    const [models, pending] = await Promise.all([listModels(), approvals()]);
    return { models, pending: pending.filter((a) => a.status === 'PENDING') };
  }, []);
  return (
    <section>
      <div className="page-head">
        <h1>Models</h1>
      </div>
      <Loaded state={state}>
        {({ models, pending }) =>
          models.length === 0 ? (
            <p className="muted">No registered models yet.</p>
          ) : (
            <SimpleTable
              label="models"
              head={['Name', 'Latest version', 'Aliases', 'Pending approvals', 'Updated', 'Description']}
              rows={models.map((m) => {
                const latest = Math.max(0, ...m.latestVersions.map((v) => v.version));
                const waiting = pending.filter((a) => a.name === m.name).length;
                return [
                  <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>,
                  latest ? <Link to={`/models/${encodeURIComponent(m.name)}/versions/${latest}`}>v{latest}</Link> : '',
                  <span className="row">{m.aliases.map((a) => <Badge key={a.alias} tone="info">@{a.alias} → v{a.version}</Badge>)}</span>,
                  waiting ? <Badge tone="warn">{waiting} pending</Badge> : '',
                  time(m.updatedAt),
                  m.description ?? '',
                ];
              })}
            />
          )
        }
      </Loaded>
    </section>
  );
}
