/**
 * The feature store: the applied definition's entities, sources, feature views (with how fresh
 * each one's online values are), on-demand views and feature services, the deployments served
 * through a feature service, and the registry's versions.
 */
import { Link } from '../router';
import { useAsync } from '../hooks';
import { featureDeployments, freshness, listFeatures } from '../api/features';
import { SimpleTable } from '../components/table';
import { Card, Loaded } from '../components/ui';
import { duration, num, time } from '../format';

const featureList = (fs: { name: string; dtype: string }[]) => fs.map((f) => `${f.name}: ${f.dtype}`).join(', ');

export default function FeaturesPage() {
  const listing = useAsync(listFeatures, []);
  const fresh = useAsync(freshness, []);
  const served = useAsync(featureDeployments, []);
  return (
    <section className="stack">
      <div className="page-head">
        <h1>Features</h1>
        <span className="sub">{listing.data && listing.data.version > 0 ? `registry version ${listing.data.version}${listing.data.definition?.project ? `, project ${listing.data.definition.project}` : ''}` : ''}</span>
      </div>
      <Loaded state={listing}>
        {({ definition: d, versions }) =>
          !d ? (
            <p className="muted">No feature definitions yet. Apply one with `modelport features apply FILE`.</p>
          ) : (
            <>
              <Card title="Feature views">
                <Loaded state={fresh}>
                  {(views) => {
                    const by = new Map(views.map((v) => [v.view, v]));
                    return (
                      <SimpleTable
                        label="feature views"
                        head={['View', 'Entities', 'Source', 'Features', 'TTL', 'Newest event', 'Materialized to', 'Age', 'Online rows', 'Owner']}
                        rows={d.feature_views.map((v) => {
                          const f = by.get(v.name);
                          return [
                            <b title={v.description}>{v.name}</b>,
                            v.entities.join(', '),
                            v.source,
                            featureList(v.features),
                            v.ttl ?? 'none',
                            f?.newestEventMs ? time(f.newestEventMs) : 'never materialized',
                            f?.materializedToMs ? time(f.materializedToMs) : '',
                            f?.ageSeconds !== null && f?.ageSeconds !== undefined ? duration(f.ageSeconds * 1000) : '',
                            num(f?.rowsWritten ?? 0),
                            v.owner ?? '',
                          ];
                        })}
                      />
                    );
                  }}
                </Loaded>
              </Card>
              <div className="grid2">
                <Card title="Entities">
                  <SimpleTable label="entities" head={['Entity', 'Join keys', 'Description']} rows={d.entities.map((e) => [e.name, e.join_keys.join(', '), e.description ?? ''])} />
                </Card>
                <Card title="Sources">
                  <SimpleTable
                    label="sources"
                    head={['Source', 'From', 'Timestamp']}
                    rows={d.sources.map((s) => [s.name, s.dataset ? <Link to={`/datasets/${encodeURIComponent(s.dataset.split('@')[0])}`}>{s.dataset}</Link> : <span className="mono">{s.path}</span>, s.timestamp_field])}
                  />
                </Card>
              </div>
              {(d.on_demand_feature_views ?? []).length > 0 && (
                <Card title="On-demand views">
                  <SimpleTable
                    label="on-demand views"
                    head={['View', 'Reads', 'Request values', 'Features']}
                    rows={(d.on_demand_feature_views ?? []).map((v) => [<b>{v.name}</b>, v.sources.join(', '), featureList(v.request ?? []), featureList(v.features)])}
                  />
                </Card>
              )}
              <div className="grid2">
                <Card title="Feature services">
                  <Loaded state={served}>
                    {(bindings) => (
                      <SimpleTable
                        label="feature services"
                        head={['Service', 'Features', 'Serves']}
                        rows={(d.feature_services ?? []).map((s) => [
                          <b>{s.name}</b>,
                          s.features.join(', '),
                          bindings.filter((b) => b.featureService === s.name).map((b) => <Link key={b.deployment} to={`/deployments/${encodeURIComponent(b.deployment)}`}>{b.deployment}</Link>),
                        ])}
                      />
                    )}
                  </Loaded>
                </Card>
                <Card title="Registry versions">
                  <SimpleTable label="feature registry versions" head={['Version', 'Applied', 'By', 'Digest']} rows={[...versions].reverse().map((v) => [v.version, time(v.createdAt), v.creator, <span className="mono">{v.digest.slice(0, 12)}</span>])} />
                </Card>
              </div>
            </>
          )
        }
      </Loaded>
    </section>
  );
}
