/** A model version's global importance: mean |SHAP| per feature as bars, permutation importance with its spread, and the HTML report. */
import { importance, reportPath } from '../api/explain';
import { useAsync } from '../hooks';
import { num } from '../format';
import { Card, Loaded } from './ui';
import { SimpleTable } from './table';
import { FetchLink } from './fetch-link';

const TOP = 20;

function ranked(names: string[], values: number[]) {
  return names.map((name, i) => ({ name, value: values[i], i })).sort((a, b) => b.value - a.value).slice(0, TOP);
}

export function ImportanceCard({ name, version }: { name: string; version: number }) {
  const state = useAsync(() => importance(name, version), [name, version]);
  return (
    <Card title="Global importance" actions={state.data?.shap && <FetchLink path={reportPath(name, version)}>explanation report</FetchLink>}>
      <Loaded state={state}>
        {(imp) => {
          if (!imp.shap && !imp.permutation) return <p className="muted">Not computed yet: run `modelport explain importance {name} {version} --dataset NAME`.</p>;
          const shap = imp.shap && ranked(imp.shap.featureNames, imp.shap.mean);
          const max = Math.max(...(shap ?? []).map((s) => s.value), 1e-12);
          return (
            <div className="stack">
              {imp.shap && shap && (
                <figure className="hbars" aria-label="mean absolute SHAP">
                  <figcaption className="muted">
                    mean |SHAP| ({imp.shap.method}, {num(imp.shap.rows)} rows of {imp.shap.dataset})
                  </figcaption>
                  {shap.map((s) => (
                    <div key={s.name} className="hbar" title={`${s.name}: ${num(s.value)}`}>
                      <span className="hbar-label">{s.name}</span>
                      <span className="hbar-track">
                        <span className="hbar-fill" style={{ width: `${(s.value / max) * 100}%` }} />
                      </span>
                      <span className="hbar-value">{num(s.value)}</span>
                    </div>
                  ))}
                </figure>
              )}
              {imp.permutation && (
                <SimpleTable
                  label="permutation importance"
                  head={['Feature', `${imp.permutation.metric} worse by`, '± std']}
                  rows={ranked(imp.permutation.featureNames, imp.permutation.mean).map((p) => [p.name, num(p.value), num(imp.permutation!.std[p.i])])}
                />
              )}
            </div>
          );
        }}
      </Loaded>
    </Card>
  );
}
