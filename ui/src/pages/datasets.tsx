/** Registered datasets. */
import { Link } from '../router';
import { useAsync } from '../hooks';
import { listDatasets } from '../api/datasets';
import { SimpleTable } from '../components/table';
import { Loaded } from '../components/ui';
import { time } from '../format';

export default function DatasetsPage() {
  const state = useAsync(listDatasets, []);
  return (
    <section>
      <div className="page-head">
        <h1>Datasets</h1>
      </div>
      <Loaded state={state}>
        {(datasets) =>
          datasets.length === 0 ? (
            <p className="muted">No datasets yet. Register one with `modelport datasets register`.</p>
          ) : (
            <SimpleTable
              label="datasets"
              head={['Name', 'Latest version', 'Versions', 'Rows', 'Columns', 'Updated']}
              rows={datasets.map((d) => [
                <Link to={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>,
                `v${d.latestVersion}`,
                d.versionCount,
                d.rowCount.toLocaleString('en-US'),
                d.columnCount,
                time(d.updatedAt),
              ])}
            />
          )
        }
      </Loaded>
    </section>
  );
}
