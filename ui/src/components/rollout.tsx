/**
 * A deployment's change control: the canary rollout's progress with every gate's value against
 * its limit, the A/B analysis of its variants with confidence intervals, and its revision history
 * with a rollback to any earlier revision.
 */
import { useState } from 'react';
import { abAnalysis, rollback, rolloutAction, type AbAnalysis, type Revision, type Rollout, type RolloutSide } from '../api/serving';
import { Badge, Card, Loaded, toneOf } from './ui';
import { SimpleTable } from './table';
import { duration, num, time } from '../format';
import { useAsync } from '../hooks';

const pct = (x: number | undefined) => (x === undefined ? '–' : `${num(x * 100, 3)}%`);
const ms = (x: number | undefined) => (x === undefined ? '–' : `${num(x, 3)} ms`);

interface GateRow {
  gate: string;
  canary: string;
  primary: string;
  value: string;
  limit: string;
}

/** Each configured gate with what the last evaluation measured, computed as the controller does. */
function gateRows(r: Rollout): GateRow[] {
  const c: Partial<RolloutSide> = r.last?.canary ?? {};
  const p: Partial<RolloutSide> = r.last?.primary ?? {};
  const g = r.gates;
  const rows: GateRow[] = [
    {
      gate: 'error_rate',
      canary: `${pct(c.error_rate)} (${num(c.errors ?? 0)}/${num(c.requests ?? 0)})`,
      primary: `${pct(p.error_rate)} (${num(p.errors ?? 0)}/${num(p.requests ?? 0)})`,
      value: c.error_rate === undefined || p.error_rate === undefined ? '–' : `${c.error_rate >= p.error_rate ? '+' : ''}${pct(c.error_rate - p.error_rate)}`,
      limit: `at most +${pct(g.max_error_rate_increase)}`,
    },
    {
      gate: 'p99_latency',
      canary: ms(c.p99_ms),
      primary: ms(p.p99_ms),
      value: ms(c.p99_ms),
      limit: p.p99_ms === undefined ? `×${g.max_p99_ratio} or +${g.p99_slack_ms} ms` : `at most ${ms(Math.max(p.p99_ms * g.max_p99_ratio, p.p99_ms + g.p99_slack_ms))}`,
    },
  ];
  if (g.metric) {
    rows.push({
      gate: 'metric',
      canary: `${g.metric} ${num(c.metric)} (${num(c.feedback ?? 0)} labels)`,
      primary: `${g.metric} ${num(p.metric)} (${num(p.feedback ?? 0)} labels)`,
      value: num(c.metric) || '–',
      limit: p.metric === undefined ? `within ${g.max_metric_drop} of the primary` : `${num(p.metric - g.max_metric_drop)} … ${num(p.metric + g.max_metric_drop)}`,
    });
  }
  return rows;
}

export function RolloutCard({ deployment, rollout, onChange }: { deployment: string; rollout: Rollout; onChange: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const act = async (action: 'pause' | 'resume' | 'abort' | 'promote') => {
    setBusy(true);
    setError(undefined);
    try {
      await rolloutAction(deployment, action);
      onChange();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const active = rollout.state === 'running' || rollout.state === 'paused';
  const evaluated = new Map((rollout.last?.gates ?? []).map((g) => [g.gate, g]));
  const canaryRef = `${rollout.canary.model} ${rollout.canary.alias ? `@${rollout.canary.alias}` : `v${rollout.canary.version}`}`;
  return (
    <Card
      title={
        <>
          Canary rollout <Badge tone={toneOf(rollout.state === 'promoted' ? 'ok' : rollout.state === 'rolled_back' ? 'failed' : rollout.state)}>{rollout.state.replace('_', ' ')}</Badge>
        </>
      }
      actions={
        active && (
          <>
            {rollout.state === 'running' ? (
              <button className="ghost" disabled={busy} onClick={() => act('pause')}>Pause</button>
            ) : (
              <button className="ghost" disabled={busy} onClick={() => act('resume')}>Resume</button>
            )}
            <button disabled={busy} onClick={() => act('promote')}>Promote</button>
            <button className="danger" disabled={busy} onClick={() => act('abort')}>Abort</button>
          </>
        )
      }
    >
      {error && <div className="error" role="alert">{error.message}</div>}
      <p>
        {canaryRef} against the primary <b>{rollout.primary.name}</b>; at least {num(rollout.min_requests)} canary requests and {duration(rollout.min_step_seconds * 1000)} per step.
        {rollout.reason && <> {rollout.reason}.</>}
      </p>
      <ol className="steps" aria-label="rollout steps">
        {rollout.steps.map((w, i) => (
          <li key={i} className={i < rollout.step || rollout.state === 'promoted' ? 'done' : i === rollout.step && active ? 'current' : ''} aria-current={i === rollout.step && active ? 'step' : undefined}>
            {w}%
          </li>
        ))}
      </ol>
      {active && (
        <p className="muted" data-testid="rollout-waiting">
          Canary at {rollout.weight}% since {time(rollout.step_started_ms)}
          {rollout.last?.waiting ? `; waiting for ${rollout.last.waiting}` : ''}
        </p>
      )}
      <SimpleTable
        label="rollout gates"
        head={['Gate', 'Canary', 'Primary', 'Value', 'Limit', 'Result']}
        rows={gateRows(rollout).map((row) => {
          const judged = evaluated.get(row.gate);
          return [
            <span title={judged?.detail}>{row.gate}</span>,
            row.canary,
            row.primary,
            row.value,
            row.limit,
            judged ? <Badge tone={judged.passed ? 'ok' : 'bad'}>{judged.passed ? 'passed' : 'failed'}</Badge> : <Badge tone="warn">not judged yet</Badge>,
          ];
        })}
      />
      <ul className="events" aria-label="rollout events">
        {[...rollout.events].reverse().map((e, i) => (
          <li key={i}>
            <span className="muted">{time(e.at_ms)}</span> {e.what}
          </li>
        ))}
      </ul>
    </Card>
  );
}

/** Differences with their intervals on one axis through zero: a forest plot. */
function IntervalPlot({ analysis }: { analysis: AbAnalysis }) {
  const width = 520;
  const row = 28;
  const left = 110;
  const ends = analysis.comparisons.flatMap((c) => c.ci);
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const span = hi - lo || 1;
  const x = (v: number) => left + ((v - lo) / span) * (width - left - 20);
  const height = analysis.comparisons.length * row + 24;
  const scale = analysis.kind === 'conversion' ? pct : (v: number) => num(v);
  return (
    <svg className="forest" viewBox={`0 0 ${width} ${height}`} role="img" aria-label="differences with confidence intervals">
      <line x1={x(0)} x2={x(0)} y1={0} y2={height - 18} className="axis" />
      {analysis.comparisons.map((c, i) => {
        const y = i * row + 16;
        return (
          <g key={c.variant} className={c.significant ? 'significant' : ''}>
            <text x={0} y={y + 4} className="tick">{`${c.variant} − ${c.control}`}</text>
            <line x1={x(c.ci[0])} x2={x(c.ci[1])} y1={y} y2={y} className="interval" />
            <circle cx={x(c.diff)} cy={y} r={4} className="estimate">
              <title>{`${scale(c.diff)} [${scale(c.ci[0])}, ${scale(c.ci[1])}]`}</title>
            </circle>
          </g>
        );
      })}
      <text x={left} y={height - 4} className="tick">{scale(lo)}</text>
      <text x={width - 20} y={height - 4} className="tick" textAnchor="end">{scale(hi)}</text>
    </svg>
  );
}

export function AbCard({ deployment }: { deployment: string }) {
  const [alpha, setAlpha] = useState(0.05);
  const analysis = useAsync(() => abAnalysis(deployment, alpha), [deployment, alpha]);
  const level = (a: number) => `${Math.round((1 - a) * 100)}%`;
  return (
    <Card
      title="A/B analysis"
      actions={
        <>
          <label>
            confidence{' '}
            <select aria-label="confidence level" value={alpha} onChange={(e) => setAlpha(Number(e.target.value))}>
              {[0.1, 0.05, 0.01].map((a) => (
                <option key={a} value={a}>{level(a)}</option>
              ))}
            </select>
          </label>
          <button onClick={() => analysis.reload()}>Analyse</button>
        </>
      }
    >
      <Loaded state={analysis}>
        {(a) =>
          a.kind === 'none' ? (
            <p className="muted" data-testid="ab-none">
              No outcomes yet: the variants are compared on the feedback their predictions receive (conversion rate for 0/1 labels, mean reward otherwise).
            </p>
          ) : (
            <div className="stack" data-testid="ab-results">
              <SimpleTable label="ab arms" head={['Variant', 'Outcomes', a.kind === 'conversion' ? 'Conversion' : 'Mean reward']} rows={a.arms.map((arm) => [arm.variant, num(arm.n), a.kind === 'conversion' ? pct(arm.mean) : num(arm.mean)])} />
              <SimpleTable
                label="ab comparisons"
                head={['Variant', 'Difference', `${level(a.alpha)} interval`, 'p-value', 'Always-valid p', 'Verdict']}
                rows={a.comparisons.map((c) => {
                  const show = a.kind === 'conversion' ? pct : (v: number) => num(v);
                  return [
                    `${c.variant} vs ${c.control}`,
                    `${show(c.diff)}${c.relative !== undefined ? ` (${c.relative >= 0 ? '+' : ''}${num(c.relative * 100, 3)}%)` : ''}`,
                    `[${show(c.ci[0])}, ${show(c.ci[1])}]`,
                    num(c.p_value),
                    num(c.sequential_p_value),
                    <Badge tone={c.significant ? 'ok' : 'warn'}>{c.significant ? 'significant' : 'not yet'}</Badge>,
                  ];
                })}
              />
              <IntervalPlot analysis={a} />
              {a.sample_size && (
                <p className="muted">
                  {num(a.sample_size.per_arm)} outcomes per variant detect a {num(a.sample_size.mde * 100)}% relative lift.
                </p>
              )}
            </div>
          )
        }
      </Loaded>
    </Card>
  );
}

const variantsText = (r: Revision) =>
  r.variants.map((v) => `${v.name}: ${v.model} ${v.alias ? `@${v.alias}` : `v${v.version}`}${v.shadow ? ' (shadow)' : ` ${v.weight}%`}`).join(', ');

export function RevisionsCard({ deployment, current, revisions, onChange }: { deployment: string; current: number; revisions: Revision[]; onChange: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const restore = async (to: number) => {
    setBusy(true);
    setError(undefined);
    try {
      await rollback(deployment, to);
      onChange();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Revision history">
      {error && <div className="error" role="alert">{error.message}</div>}
      <SimpleTable
        label="revisions"
        head={['Revision', 'When', 'By', 'Reason', 'Variants', '']}
        rows={revisions.map((r) => [
          r.revision === current ? <b>{r.revision} (current)</b> : r.revision,
          time(r.created_ms),
          r.actor,
          r.reason,
          variantsText(r),
          r.revision === current ? '' : (
            <button className="ghost small" disabled={busy} onClick={() => restore(r.revision)}>
              Roll back to {r.revision}
            </button>
          ),
        ])}
      />
    </Card>
  );
}
