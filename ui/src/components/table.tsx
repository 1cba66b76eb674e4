/**
 * A virtualised table: only the rows in view (plus a margin) are in the DOM, so 10,000 runs
 * scroll as smoothly as 10. Columns sort on click; the keyboard moves a cursor (↑ ↓ PgUp PgDn
 * Home End), Space selects, Enter opens.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

export interface Column<T> {
  id: string;
  label: string;
  /** The value sorted on (numbers sort as numbers, missing values last). */
  value: (row: T) => string | number | undefined;
  render?: (row: T) => ReactNode;
  width?: number;
  align?: 'right';
}

interface Props<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  label: string;
  selected?: Set<string>;
  onToggle?: (key: string) => void;
  onOpen?: (row: T) => void;
  /** Visible height in pixels. */
  height?: number;
  initialSort?: { id: string; desc: boolean };
}

const ROW = 32;
const OVERSCAN = 10;

function compare(a: string | number | undefined, b: string | number | undefined): number {
  if (a === undefined || (typeof a === 'number' && Number.isNaN(a))) return b === undefined ? 0 : 1;
  if (b === undefined || (typeof b === 'number' && Number.isNaN(b))) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function DataTable<T>({ rows, columns, rowKey, label, selected, onToggle, onOpen, height = 480, initialSort }: Props<T>) {
  const [sort, setSort] = useState<{ id: string; desc: boolean } | undefined>(initialSort);
  const [scrollTop, setScrollTop] = useState(0);
  const [cursor, setCursor] = useState(0);
  const body = useRef<HTMLDivElement>(null);

  const sorted = useMemo(() => {
    const col = sort && columns.find((c) => c.id === sort.id);
    if (!col || !sort) return rows;
    const keyed = rows.map((row) => ({ row, v: col.value(row) }));
    keyed.sort((x, y) => {
      const c = compare(x.v, y.v);
      // Missing values stay last in both directions.
      if (x.v === undefined || y.v === undefined) return c;
      return sort.desc ? -c : c;
    });
    return keyed.map((k) => k.row);
  }, [rows, columns, sort]);

  useEffect(() => setCursor((c) => Math.min(c, Math.max(0, sorted.length - 1))), [sorted.length]);

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(sorted.length, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const template = `${onToggle ? '36px ' : ''}${columns.map((c) => (c.width ? `${c.width}px` : 'minmax(120px, 1fr)')).join(' ')}`;
  // Many columns scroll sideways (header and rows together) instead of squeezing.
  const minWidth = (onToggle ? 36 : 0) + columns.reduce((n, c) => n + (c.width ?? 120), 0);

  const moveTo = (i: number) => {
    const next = Math.max(0, Math.min(sorted.length - 1, i));
    setCursor(next);
    const el = body.current;
    if (!el) return;
    if (next * ROW < el.scrollTop) el.scrollTop = next * ROW;
    else if ((next + 1) * ROW > el.scrollTop + height) el.scrollTop = (next + 1) * ROW - height;
  };

  const onKey = (e: KeyboardEvent) => {
    const page = Math.max(1, Math.floor(height / ROW) - 1);
    const moves: Record<string, number> = { ArrowDown: cursor + 1, ArrowUp: cursor - 1, PageDown: cursor + page, PageUp: cursor - page, Home: 0, End: sorted.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      moveTo(moves[e.key]);
    } else if (e.key === ' ' && onToggle && sorted[cursor]) {
      e.preventDefault();
      onToggle(rowKey(sorted[cursor]));
    } else if (e.key === 'Enter' && onOpen && sorted[cursor]) {
      e.preventDefault();
      onOpen(sorted[cursor]);
    }
  };

  return (
    <div className="table" role="grid" aria-label={label} aria-rowcount={sorted.length + 1} tabIndex={0} onKeyDown={onKey}>
      <div className="thead" role="row" style={{ gridTemplateColumns: template, minWidth }}>
        {onToggle && <div role="columnheader" />}
        {columns.map((c) => (
          <button
            key={c.id}
            role="columnheader"
            tabIndex={-1}
            className={c.align === 'right' ? 'num' : undefined}
            aria-sort={sort?.id === c.id ? (sort.desc ? 'descending' : 'ascending') : 'none'}
            onClick={() => setSort(sort?.id === c.id ? { id: c.id, desc: !sort.desc } : { id: c.id, desc: false })}
            title={`sort by ${c.label}`}
          >
            {c.label}
            {sort?.id === c.id ? (sort.desc ? ' ▼' : ' ▲') : ''}
          </button>
        ))}
      </div>
      <div className="tbody" ref={body} style={{ height: Math.min(height, sorted.length * ROW + 2), minWidth }} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        <div style={{ height: sorted.length * ROW, position: 'relative' }}>
          {sorted.slice(first, last).map((row, i) => {
            const index = first + i;
            const key = rowKey(row);
            const isSelected = selected?.has(key) ?? false;
            return (
              <div
                key={key}
                role="row"
                aria-rowindex={index + 2}
                aria-selected={isSelected}
                className={`tr${index === cursor ? ' cursor' : ''}${isSelected ? ' selected' : ''}`}
                style={{ top: index * ROW, gridTemplateColumns: template }}
                onClick={() => setCursor(index)}
                onDoubleClick={() => onOpen?.(row)}
              >
                {onToggle && (
                  <div role="gridcell">
                    <input type="checkbox" tabIndex={-1} checked={isSelected} onChange={() => onToggle(key)} aria-label={`select ${key}`} />
                  </div>
                )}
                {columns.map((c) => (
                  <div key={c.id} role="gridcell" className={c.align === 'right' ? 'num' : undefined}>
                    {c.render ? c.render(row) : c.value(row)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

/** A plain table for short lists (params, versions, alerts): no virtualisation needed. */
export function SimpleTable({ head, rows, label }: { head: ReactNode[]; rows: ReactNode[][]; label: string }) {
  return (
    <table className="simple" aria-label={label}>
      <thead>
        <tr>
          {head.map((h, i) => (
            <th key={i}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {r.map((c, j) => (
              <td key={j}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
