/**
 * A run's artifact tree, listed folder by folder as it is opened, with previews of text, JSON,
 * CSV and images (fetched with the session's credentials, shown from memory).
 */
import { useEffect, useState } from 'react';
import { fetchRaw } from '../api/http';
import { artifactUrl, listArtifacts, type ArtifactFile } from '../api/tracking';
import { bytes } from '../format';
import { SimpleTable } from './table';
import { FetchLink } from './fetch-link';

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;
const TEXT = /(\.(txt|log|md|py|yaml|yml|json|csv|tsv|ini|cfg|toml|html|xml)|MLmodel|requirements\.txt|conda\.yaml)$/i;
const PREVIEW_BYTES = 512 * 1024;

function Folder({ runId, path, open, onOpen }: { runId: string; path: string; open: string | undefined; onOpen: (f: ArtifactFile) => void }) {
  const [files, setFiles] = useState<ArtifactFile[]>();
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  useEffect(() => {
    listArtifacts(runId, path).then(setFiles, () => setFiles([]));
  }, [runId, path]);
  if (!files) return <li className="muted">…</li>;
  if (files.length === 0 && path === '') return <li className="muted">No artifacts.</li>;
  return (
    <>
      {files.map((f) => (
        <li key={f.path}>
          {f.is_dir ? (
            <>
              <button
                className="ghost"
                style={{ padding: '0 6px' }}
                aria-expanded={expanded.has(f.path)}
                onClick={() => {
                  const next = new Set(expanded);
                  if (next.has(f.path)) next.delete(f.path);
                  else next.add(f.path);
                  setExpanded(next);
                }}
              >
                {expanded.has(f.path) ? '▾' : '▸'} {f.path.split('/').at(-1)}/
              </button>
              {expanded.has(f.path) && (
                <ul>
                  <Folder runId={runId} path={f.path} open={open} onOpen={onOpen} />
                </ul>
              )}
            </>
          ) : (
            <button className={`file${open === f.path ? ' active' : ''}`} onClick={() => onOpen(f)}>
              {f.path.split('/').at(-1)} <span className="muted">{bytes(f.file_size)}</span>
            </button>
          )}
        </li>
      ))}
    </>
  );
}

export function ArtifactBrowser({ runId, initial }: { runId: string; initial?: string }) {
  const [open, setOpen] = useState<ArtifactFile | undefined>(initial ? { path: initial, is_dir: false } : undefined);
  return (
    <div className="grid2">
      <ul className="tree" aria-label="artifacts">
        <Folder runId={runId} path="" open={open?.path} onOpen={setOpen} />
      </ul>
      <div className="preview" aria-label="artifact preview">
        {open ? <Preview runId={runId} file={open} /> : <p className="muted">Choose a file to preview it.</p>}
      </div>
    </div>
  );
}

type Shown = { kind: 'image'; url: string } | { kind: 'text'; text: string } | { kind: 'csv'; rows: string[][] } | { kind: 'binary'; size: number } | { kind: 'error'; message: string };

function parseCsv(text: string, max = 50): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (rows.length >= max) break;
    if (line === '') continue;
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        cells.push(cell);
        cell = '';
      } else cell += c;
    }
    cells.push(cell);
    rows.push(cells);
  }
  return rows;
}

export function Preview({ runId, file }: { runId: string; file: ArtifactFile }) {
  const [shown, setShown] = useState<Shown>();
  useEffect(() => {
    let url: string | undefined;
    let live = true;
    setShown(undefined);
    (async () => {
      const res = await fetchRaw(artifactUrl(runId, file.path));
      const size = Number(res.headers.get('content-length') ?? file.file_size ?? 0);
      if (IMAGE.test(file.path)) {
        url = URL.createObjectURL(await res.blob());
        return { kind: 'image', url } as Shown;
      }
      if (!TEXT.test(file.path) || size > PREVIEW_BYTES) {
        await res.body?.cancel();
        return { kind: 'binary', size } as Shown;
      }
      const text = await res.text();
      if (/\.json$/i.test(file.path)) {
        try {
          return { kind: 'text', text: JSON.stringify(JSON.parse(text), null, 2) } as Shown;
        } catch {
          return { kind: 'text', text } as Shown;
        }
      }
      if (/\.csv$/i.test(file.path)) return { kind: 'csv', rows: parseCsv(text) } as Shown;
      return { kind: 'text', text } as Shown;
    })().then(
      (s) => live && setShown(s),
      (e: Error) => live && setShown({ kind: 'error', message: e.message }),
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [runId, file.path, file.file_size]);
  const download = (
    <FetchLink path={artifactUrl(runId, file.path)} filename={file.path.split('/').pop()}>
      download
    </FetchLink>
  );
  return (
    <div>
      <div className="row" style={{ marginBottom: 6 }}>
        <b className="mono">{file.path}</b> {download}
      </div>
      {!shown && <p className="muted">Loading…</p>}
      {shown?.kind === 'image' && <img src={shown.url} alt={file.path} />}
      {shown?.kind === 'text' && <pre data-testid="artifact-text">{shown.text}</pre>}
      {shown?.kind === 'csv' && <SimpleTable label="csv preview" head={shown.rows[0] ?? []} rows={shown.rows.slice(1)} />}
      {shown?.kind === 'binary' && <p className="muted">No preview for this file ({bytes(shown.size)}).</p>}
      {shown?.kind === 'error' && <div className="error">{shown.message}</div>}
    </div>
  );
}
