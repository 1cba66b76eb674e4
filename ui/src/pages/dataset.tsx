/** One dataset: its versions (each downloadable), validation schema, a version's profile, and validating a file. */
import { useState } from 'react';
import { Link } from '../router';
import { useAsync } from '../hooks';
import { getDataset, getVersion, validateFile, versionContentPath, type ProfileColumn, type ValidationReport } from '../api/datasets';
import { FetchLink } from '../components/fetch-link';
import { Bars } from '../components/bars';
import { SimpleTable } from '../components/table';
import { Badge, Card, KeyValues, Loaded, Tabs } from '../components/ui';
import { bytes, num, time } from '../format';
import type { PageProps } from '../routes';

export default function DatasetPage({ params }: PageProps) {
  const { name } = params;
  const dataset = useAsync(() => getDataset(name), [name]);
  const [chosen, setChosen] = useState<number>();
  const latest = dataset.data?.versions[0]?.version;
  const versionNo = chosen ?? latest;
  const version = useAsync(() => (versionNo ? getVersion(name, versionNo) : Promise.resolve(undefined)), [name, versionNo]);
  const [tab, setTab] = useState('profile');
  return (
    <section className="stack">
      <div>
        <div className="crumbs">
          <Link to="/datasets">Datasets</Link> /
        </div>
        <div className="page-head">
          <h1>{name}</h1>
          <span className="sub">{dataset.data ? `${dataset.data.versions.length} version${dataset.data.versions.length === 1 ? '' : 's'}` : ''}</span>
        </div>
      </div>
      <Loaded state={dataset}>
        {(d) => (
          <Card title="Versions">
            <SimpleTable
              label="dataset versions"
              head={['Version', 'Rows', 'Columns', 'Format', 'Size', 'Digest', 'Created', 'Description', '']}
              rows={d.versions.map((v) => [
                <button className={v.version === versionNo ? undefined : 'ghost'} onClick={() => setChosen(v.version)} aria-pressed={v.version === versionNo}>
                  v{v.version}
                </button>,
                v.rowCount.toLocaleString('en-US'),
                v.columnCount,
                v.format,
                bytes(v.sizeBytes),
                <span className="mono">{v.digest.slice(0, 12)}</span>,
                time(v.createdAt),
                v.description ?? '',
                v.kind === 'file' ? (
                  <FetchLink path={versionContentPath(name, v.version)} filename={`${name}-v${v.version}.${v.format}`}>
                    download
                  </FetchLink>
                ) : (
                  ''
                ),
              ])}
            />
          </Card>
        )}
      </Loaded>
      <Tabs
        tabs={[
          { id: 'profile', label: 'Profile' },
          { id: 'schema', label: 'Schema' },
          { id: 'validate', label: 'Validate a file' },
        ]}
        active={tab}
        onChange={setTab}
      />
      {tab === 'profile' && <Loaded state={version}>{(v) => (v?.profile ? <Profile columns={v.profile.columns} /> : <p className="muted">No profile.</p>)}</Loaded>}
      {tab === 'schema' && (
        <Loaded state={dataset}>
          {(d) => (
            <SimpleTable
              label="schema"
              head={['Column', 'Type', 'Required', 'Unique', 'Range', 'Domain', 'Drift limit']}
              rows={d.schema.columns.map((c) => [
                <b>{c.name}</b>,
                c.type,
                c.required ? 'yes' : '',
                c.unique ? 'yes' : '',
                c.min !== undefined || c.max !== undefined ? `${c.min ?? '−∞'} … ${c.max ?? '∞'}` : '',
                (c.domain ?? []).join(', '),
                Object.entries(c.drift ?? {}).map(([k, v]) => `${k} ${v}`).join(', '),
              ])}
            />
          )}
        </Loaded>
      )}
      {tab === 'validate' && <Validate name={name} />}
    </section>
  );
}

function Profile({ columns }: { columns: ProfileColumn[] }) {
  return (
    <div className="grid3">
      {columns.map((c) => {
        const bars = c.histogram
          ? c.histogram.map((h) => ({ label: num(h.low, 3), value: h.count }))
          : (c.categories ?? c.topValues ?? []).slice(0, 20).map((v) => ({ label: v.value, value: v.count }));
        return (
          <Card key={c.name} title={c.name} actions={<Badge>{c.type}</Badge>} className="profile-column">
            <KeyValues
              label={`${c.name} statistics`}
              entries={[
                ['Missing', `${(c.missingShare * 100).toFixed(1)}%`],
                ['Distinct', num(c.distinct)],
                ...(c.mean !== undefined ? ([['Mean', num(c.mean)], ['Std', num(c.std)]] as [string, string][]) : []),
                ['Min … max', `${typeof c.min === 'number' ? num(c.min) : (c.min ?? '')} … ${typeof c.max === 'number' ? num(c.max) : (c.max ?? '')}`],
              ]}
            />
            {bars.length > 0 && (
              <Bars
                bars={bars}
                title={c.histogram ? `${c.name}: histogram` : `${c.name}: most frequent values`}
                ends={c.histogram?.length ? [num(c.histogram[0].low, 3), num(c.histogram.at(-1)!.high, 3)] : undefined}
              />
            )}
          </Card>
        );
      })}
    </div>
  );
}

function Validate({ name }: { name: string }) {
  const [report, setReport] = useState<ValidationReport>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <Card title="Validate a file against this dataset's schema">
      <div className="row">
        <input
          type="file"
          aria-label="file to validate"
          accept=".csv,.tsv,.jsonl,.parquet"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            setBusy(true);
            setError(undefined);
            setReport(undefined);
            try {
              setReport(await validateFile(name, file));
            } catch (err) {
              setError((err as Error).message);
            } finally {
              setBusy(false);
            }
          }}
        />
        {busy && <span className="muted">Validating…</span>}
      </div>
      {error && <div className="error" role="alert">{error}</div>}
      {report && (
        <div className="stack" style={{ marginTop: 10 }} data-testid="validation-report">
          <div>
            {report.valid ? <Badge tone="ok">valid</Badge> : <Badge tone="bad">rejected</Badge>} {report.anomalies.length} anomalies
          </div>
          <SimpleTable label="anomalies" head={['Kind', 'Column', 'Detail']} rows={report.anomalies.map((a) => [a.kind, a.column ?? '', a.message])} />
        </div>
      )}
    </Card>
  );
}
