/**
 * A link to a file the server may serve to signed-in users only. A plain link would carry no
 * token, so a click fetches the file with the session's credentials and hands it to the browser
 * from memory: saved under `filename`, or opened in a new tab.
 */
import { useState, type MouseEvent, type ReactNode } from 'react';
import { fetchRaw } from '../api/http';

export function FetchLink({ path, filename, children }: { path: string; filename?: string; children: ReactNode }) {
  const [error, setError] = useState<string>();
  const follow = async (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault();
    setError(undefined);
    try {
      const url = URL.createObjectURL(await (await fetchRaw(path)).blob());
      if (filename) {
        const a = document.createElement('a');
        a.href = url;
        a.download = filename;
        a.click();
      } else {
        window.open(url, '_blank', 'noopener');
      }
      // The new tab or the download has its copy once it started.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <>
      <a href={path} onClick={follow}>
        {children}
      </a>
      {error && (
        <span className="error" role="alert">
          {' '}
          {error}
        </span>
      )}
    </>
  );
}
