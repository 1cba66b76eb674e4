/**
 * Experiments and their runs: a virtualised runs table with sorting, a column chooser, filtering
 * through MLflow's search grammar (evaluated by the server), and selection for comparison.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link, navigate } from '../router';
import { useAsync, type Async } from '../hooks';
import { getExperiment, metricValue, searchExperiments, searchRuns, type Run } from '../api/tracking';
import { DataTable, SimpleTable, type Column } from '../components/table';
import { Badge, Loaded, toneOf } from '../components/ui';
import { duration, num, time } from '../format';
import type { PageProps } from '../routes';

export default function ExperimentsPage({ params }: PageProps) {
  return params.id ? <Runs experimentId={params.id} /> : <ExperimentList />;
}

function ExperimentList() {
  const state = useAsync(searchExperiments, []);
  return (
    <section>
      <div className="page-head">
        <h1>Experiments</h1>
      </div>
      <Loaded state={state}>
        {(experiments) =>
          experiments.length === 0 ? (
            <p className="muted">No experiments yet. Log a run with MLflow's client or `modelport runs`.</p>
          ) : (
            <SimpleTable
              label="experiments"
              head={['Name', 'ID', 'Created', 'Last update', 'Tags']}
              rows={experiments.map((e) => [
                <Link to={`/experiments/${e.experiment_id}`}>{e.name}</Link>,
                <span className="mono">{e.experiment_id}</span>,
                time(e.creation_time),
                time(e.last_update_time),
                (e.tags ?? []).filter((t) => !t.key.startsWith('mlflow.')).map((t) => `${t.key}=${t.value}`).join(', '),
              ])}
            />
          )
        }
      </Loaded>
    </section>
  );
}

interface Row {
  run: Run;
  metrics: Map<string, number>;
  params: Map<string, string>;
}

const BASE_COLUMNS: Column<Row>[] = [
  { id: 'name', label: 'Run', value: (r) => r.run.info.run_name, render: (r) => <Link to={`/runs/${r.run.info.run_id}`}>{r.run.info.run_name || r.run.info.run_id}</Link>, width: 200 },
  { id: 'status', label: 'Status', value: (r) => r.run.info.status, render: (r) => <Badge tone={toneOf(r.run.info.status)}>{r.run.info.status}</Badge>, width: 100 },
  { id: 'start', label: 'Started', value: (r) => r.run.info.start_time, render: (r) => time(r.run.info.start_time), width: 175 },
  { id: 'duration', label: 'Duration', value: (r) => (r.run.info.end_time ? r.run.info.end_time - r.run.info.start_time : undefined), render: (r) => (r.run.info.end_time ? duration(r.run.info.end_time - r.run.info.start_time) : ''), width: 90, align: 'right' },
];

function Runs({ experimentId }: { experimentId: string }) {
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const experiment = useAsync(() => getExperiment(experimentId), [experimentId]);
  const runs = useProgressiveRuns(experimentId, applied);

  const rows = useMemo<Row[]>(
    () =>
      (runs.data ?? []).map((run) => ({
        run,
        metrics: new Map((run.data.metrics ?? []).map((m) => [m.key, metricValue(m.value)])),
        params: new Map((run.data.params ?? []).map((p) => [p.key, p.value])),
      })),
    [runs.data],
  );
  const keys = useMemo(() => {
    const metrics = new Set<string>();
    const params = new Set<string>();
    for (const r of rows) {
      r.metrics.forEach((_v, k) => metrics.add(k));
      r.params.forEach((_v, k) => params.add(k));
    }
    return { metrics: [...metrics].sort(), params: [...params].sort() };
  }, [rows]);

  const storageKey = `modelport.columns.${experimentId}`;
  const [hidden, setHidden] = useState<Set<string>>(() => new Set(JSON.parse(localStorage.getItem(storageKey) ?? '[]') as string[]));
  const toggleColumn = (id: string) => {
    const next = new Set(hidden);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setHidden(next);
    localStorage.setItem(storageKey, JSON.stringify([...next]));
  };

  const allColumns = useMemo<Column<Row>[]>(
    () => [
      ...BASE_COLUMNS,
      ...keys.metrics.map<Column<Row>>((k) => ({ id: `metrics.${k}`, label: k, value: (r) => r.metrics.get(k), render: (r) => num(r.metrics.get(k)), align: 'right' })),
      ...keys.params.map<Column<Row>>((k) => ({ id: `params.${k}`, label: `${k} (param)`, value: (r) => r.params.get(k), render: (r) => r.params.get(k) ?? '' })),
    ],
    [keys],
  );
  const columns = allColumns.filter((c) => !hidden.has(c.id));

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  return (
    <section>
      <div className="crumbs">
        <Link to="/experiments">Experiments</Link> /
      </div>
      <div className="page-head">
        <h1>{experiment.data?.name ?? experimentId}</h1>
        <span className="sub" data-testid="run-count">{runs.data ? (runs.loading ? `${runs.data.length} runs so far, loading…` : `${runs.data.length} runs`) : ''}</span>
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filter.trim());
        }}
      >
        <input
          className="filter"
          aria-label="filter runs"
          placeholder={`filter, e.g. metrics.val_auc > 0.8 and params.max_depth = '4'`}
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <button type="submit">Filter</button>
        <ColumnChooser columns={allColumns} hidden={hidden} onToggle={toggleColumn} />
        <button type="button" disabled={selected.size < 2} onClick={() => navigate(`/compare?runs=${[...selected].join(',')}`)}>
          Compare {selected.size > 0 ? `(${selected.size})` : ''}
        </button>
      </form>
      <Loaded state={runs}>
        {() => (
          <DataTable
            label="runs"
            rows={rows}
            columns={columns}
            rowKey={(r) => r.run.info.run_id}
            selected={selected}
            onToggle={toggle}
            onOpen={(r) => navigate(`/runs/${r.run.info.run_id}`)}
            height={Math.max(320, window.innerHeight - 240)}
          />
        )}
      </Loaded>
      <p className="muted">↑ ↓ move · Space selects · Enter opens · click a header to sort</p>
    </section>
  );
}

/** The runs table's data, shown page by page as it arrives (newest runs first). */
function useProgressiveRuns(experimentId: string, filter: string): Omit<Async<Run[]>, 'reload'> {
  const [state, setState] = useState<{ data?: Run[]; error?: Error; loading: boolean }>({ loading: true });
  useEffect(() => {
    let live = true;
    setState({ loading: true });
    searchRuns([experimentId], filter, ['attributes.start_time DESC'], (runs, done) => live && setState({ data: [...runs], loading: !done })).catch(
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [experimentId, filter]);
  return state;
}

function ColumnChooser({ columns, hidden, onToggle }: { columns: Column<Row>[]; hidden: Set<string>; onToggle: (id: string) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="chooser">
      <button type="button" className="ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
        Columns ({columns.length - hidden.size}/{columns.length})
      </button>
      {open && (
        <div className="menu" role="menu" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
          {columns.map((c) => (
            <label key={c.id}>
              <input type="checkbox" checked={!hidden.has(c.id)} onChange={() => onToggle(c.id)} />
              {c.label}
            </label>
          ))}
        </div>
      )}
    </div>
  );
}
