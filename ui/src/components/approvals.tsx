/** Approval requests with approve and reject buttons (the registry refuses self-approval). */
import { useState } from 'react';
import { credentials } from '../api/http';
import { decide, type Approval } from '../api/registry';
import { SimpleTable } from './table';
import { Badge, toneOf } from './ui';
import { time } from '../format';
import { Link } from '../router';

export function ApprovalList({ items, onChange }: { items: Approval[]; onChange: () => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const act = async (id: string, decision: 'approve' | 'reject') => {
    setBusy(id);
    setError(undefined);
    try {
      await decide(id, decision);
      onChange();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };
  if (items.length === 0) return <p className="muted">No approval requests.</p>;
  return (
    <>
      {!credentials().user && <p className="muted">Deciding needs a user name: set one under Sign in.</p>}
      {error && <div className="error" role="alert">{error}</div>}
      <SimpleTable
        label="approval requests"
        head={['Version', 'Change', 'Requested by', 'Requested', 'Status', '']}
        rows={items.map((a) => [
          <Link to={`/models/${encodeURIComponent(a.name)}/versions/${a.version}`}>v{a.version}</Link>,
          a.kind === 'alias' ? `alias @${a.target}` : `stage → ${a.target}`,
          `${a.requestedBy}${a.requestComment ? `: “${a.requestComment}”` : ''}`,
          time(a.requestedAt),
          <span>
            <Badge tone={toneOf(a.status)}>{a.status}</Badge> {a.decidedBy ? <span className="muted">by {a.decidedBy}</span> : null}
          </span>,
          a.status === 'PENDING' ? (
            <span className="row">
              <button disabled={busy === a.id} onClick={() => act(a.id, 'approve')}>
                Approve
              </button>
              <button className="ghost" disabled={busy === a.id} onClick={() => act(a.id, 'reject')}>
                Reject
              </button>
            </span>
          ) : (
            ''
          ),
        ])}
      />
    </>
  );
}
