/** Small building blocks every page uses. */
import type { ReactNode } from 'react';
import type { Async } from '../hooks';

/** Renders a request's state: a spinner line, its error, or its data. */
export function Loaded<T>({ state, children }: { state: Pick<Async<T>, 'data' | 'error'>; children: (data: T) => ReactNode }) {
  if (state.error) return <div className="error" role="alert">{state.error.message}</div>;
  if (state.data === undefined) return <p className="muted">Loading…</p>;
  return <>{children(state.data)}</>;
}

export function Badge({ tone, children }: { tone?: 'ok' | 'warn' | 'bad' | 'info'; children: ReactNode }) {
  return <span className={`badge ${tone ?? ''}`}>{children}</span>;
}

export function toneOf(state: string): 'ok' | 'warn' | 'bad' | 'info' | undefined {
  const s = state.toLowerCase();
  if (['ready', 'ok', 'finished', 'approved', 'resolved', 'production', 'valid'].includes(s)) return 'ok';
  if (['firing', 'failed', 'alert', 'error', 'rejected', 'killed', 'critical'].includes(s)) return 'bad';
  if (['pending', 'loading', 'running', 'staging', 'warning', 'unknown', 'skipped'].includes(s)) return 'warn';
  return 'info';
}

export function Card({ title, actions, children, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className ?? ''}`}>
      {(title || actions) && (
        <header>
          {title && <h2>{title}</h2>}
          {actions && <div className="actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function KeyValues({ entries, label }: { entries: [string, ReactNode][]; label: string }) {
  return (
    <dl className="kv" aria-label={label}>
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: string }) {
  return (
    <div className="stat" title={hint}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

export function Tabs({ tabs, active, onChange }: { tabs: { id: string; label: string }[]; active: string; onChange: (id: string) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((t) => (
        <button key={t.id} role="tab" aria-selected={t.id === active} className={t.id === active ? 'active' : undefined} onClick={() => onChange(t.id)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}
