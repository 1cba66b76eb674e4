/** Where the bundled demo data lives (inside the package: assets/demo/loans). */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Resolves from both src/quickstart (tsx) and dist/quickstart (built package). */
export const LOANS_DIR = fileURLToPath(new URL('../../assets/demo/loans/', import.meta.url));
export const CANDIDATES_DIR = join(LOANS_DIR, 'candidates');
export const loansFile = (name: string) => join(LOANS_DIR, name);
