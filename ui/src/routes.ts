/**
 * Every page of the app: its path, the navigation section it belongs to, and its lazily loaded
 * module (one chunk per page, so a page ships only its own code). A new capability's pages slot
 * in here and in the server's list of page paths (src/server/ui.ts).
 */
import type { ComponentType } from 'react';

export type PageProps = { params: Record<string, string> };
type PageModule = { default: ComponentType<PageProps> };

export interface Section {
  id: string;
  label: string;
  path: string;
}

/** The navigation, in the order of a model's life. */
export const SECTIONS: Section[] = [
  { id: 'datasets', label: 'Datasets', path: '/datasets' },
  { id: 'features', label: 'Features', path: '/features' },
  { id: 'pipelines', label: 'Pipelines', path: '/pipelines' },
  { id: 'experiments', label: 'Experiments', path: '/experiments' },
  { id: 'models', label: 'Models', path: '/models' },
  { id: 'deployments', label: 'Deployments', path: '/deployments' },
  { id: 'monitoring', label: 'Monitoring', path: '/monitoring' },
];

export interface PageRoute {
  pattern: string;
  section: string;
  load: () => Promise<PageModule>;
}

export const ROUTES: PageRoute[] = [
  { pattern: '/', section: 'experiments', load: () => import('./pages/experiments') },
  { pattern: '/experiments', section: 'experiments', load: () => import('./pages/experiments') },
  { pattern: '/experiments/:id', section: 'experiments', load: () => import('./pages/experiments') },
  { pattern: '/runs/:id', section: 'experiments', load: () => import('./pages/run') },
  { pattern: '/compare', section: 'experiments', load: () => import('./pages/compare') },
  { pattern: '/models', section: 'models', load: () => import('./pages/models') },
  { pattern: '/models/:name', section: 'models', load: () => import('./pages/model') },
  { pattern: '/models/:name/versions/:version', section: 'models', load: () => import('./pages/model-version') },
  { pattern: '/datasets', section: 'datasets', load: () => import('./pages/datasets') },
  { pattern: '/datasets/:name', section: 'datasets', load: () => import('./pages/dataset') },
  { pattern: '/deployments', section: 'deployments', load: () => import('./pages/deployments') },
  { pattern: '/deployments/:name', section: 'deployments', load: () => import('./pages/deployment') },
  { pattern: '/monitoring', section: 'monitoring', load: () => import('./pages/monitoring') },
  { pattern: '/monitors/:id', section: 'monitoring', load: () => import('./pages/monitor') },
  { pattern: '/pipelines', section: 'pipelines', load: () => import('./pages/pipelines') },
  { pattern: '/pipelines/runs/:id', section: 'pipelines', load: () => import('./pages/pipeline-run') },
  { pattern: '/features', section: 'features', load: () => import('./pages/features') },
];
