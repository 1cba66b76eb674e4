/**
 * Server-side paths a remote caller names (datasets registered from the server's disk) are read
 * only under configured roots. Symbolic links are followed before the check, and the refusal
 * is worded alike whether or not the path exists, so it cannot be used to probe the disk.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { permissionDenied } from '../core/errors.js';

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

const real = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

export function checkServerPath(path: string, roots: readonly string[]): void {
  const refused = permissionDenied('path: server-side paths are read only under the folders named by --data-roots (MODELPORT_DATA_ROOTS)', { field: 'path' });
  const given = resolve(path);
  const realRoots = roots.map((r) => real(r) ?? resolve(r));
  if (!realRoots.some((r) => within(r, given) || within(resolve(r), given))) throw refused;
  const resolved = real(given);
  // A path that does not exist inside a root is the caller's own business: the domain says so.
  if (resolved !== undefined && !realRoots.some((r) => within(r, resolved))) throw refused;
}
