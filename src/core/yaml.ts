/** The yaml package, on first use: imported, it cost every CLI command ~130 ms of CPU at start whether or not it read any YAML. */
import { lazyRequire } from './lazy-require.js';

export const yaml = lazyRequire<typeof import('yaml')>('yaml');
