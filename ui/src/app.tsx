/** The shell: navigation, theme switch, sign-in, and the page the location names. */
import { Component, useEffect, useMemo, useState, type ComponentType, type ReactNode } from 'react';
import { Link, match, useLocation } from './router';
import { ROUTES, SECTIONS, type PageProps, type PageRoute } from './routes';
import { credentials, onAuthChange, saveCredentials } from './api/http';

// Pages load as plain modules rather than through React.lazy: React holds back a suspended
// page for up to 300 ms after its fallback showed, which every first render paid. A page that
// failed to load is tried again on the next visit.
const pages = new Map<PageRoute, Promise<ComponentType<PageProps>>>();
const loadedPages = new Map<PageRoute, ComponentType<PageProps>>();
function loadPage(route: PageRoute): Promise<ComponentType<PageProps>> {
  let page = pages.get(route);
  if (!page) {
    page = route.load().then(
      (m) => {
        loadedPages.set(route, m.default);
        return m.default;
      },
      (error: unknown) => {
        pages.delete(route);
        throw error;
      },
    );
    pages.set(route, page);
  }
  return page;
}

function resolve(path: string): { route: PageRoute; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) return { route, params };
  }
  return undefined;
}

/** Starts loading the page at `path` (called before the first render, so it loads beside the shell). */
export function preloadPage(path: string): void {
  const found = resolve(path);
  if (found) void loadPage(found.route).catch(() => undefined);
}

function PageView({ route, params }: { route: PageRoute; params: Record<string, string> }) {
  const Page = loadedPages.get(route);
  const [, setLoaded] = useState(0);
  const [failed, setFailed] = useState<Error>();
  useEffect(() => {
    if (!Page) loadPage(route).then(() => setLoaded((n) => n + 1), setFailed);
  }, [route, Page]);
  // Thrown so the error boundary shows a page that failed to load like one that failed to render.
  if (failed) throw failed;
  return Page ? <Page params={params} /> : <p className="muted">Loading…</p>;
}

export function App() {
  const { path } = useLocation();
  const found = useMemo(() => resolve(path), [path]);
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? 'light');
  const [signIn, setSignIn] = useState(false);
  useEffect(() => onAuthChange((needed) => setSignIn(needed)), []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('modelport.theme', theme);
  }, [theme]);
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/" className="brand">
          modelport
        </Link>
        <nav aria-label="sections">
          {SECTIONS.map((s) => (
            <Link key={s.id} to={s.path} className={found?.route.section === s.id ? 'active' : undefined} aria-current={found?.route.section === s.id ? 'page' : undefined}>
              {s.label}
            </Link>
          ))}
        </nav>
        <div className="spacer" />
        <button className="ghost" onClick={() => setSignIn(true)} title="Token and identity">
          {credentials().user ?? 'Sign in'}
        </button>
        <button className="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label="switch theme">
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      <main className="page">
        <ErrorBoundary key={path}>
          {found ? <PageView route={found.route} params={found.params} /> : <NotFound path={path} />}
        </ErrorBoundary>
      </main>
      {signIn && <SignIn onClose={() => setSignIn(false)} />}
    </div>
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <section>
      <h1>Page not found</h1>
      <p className="muted">Nothing lives at {path}.</p>
    </section>
  );
}

class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    if (this.state.error) return <div className="error" role="alert">This page failed: {this.state.error.message}</div>;
    return this.props.children;
  }
}

function SignIn({ onClose }: { onClose: () => void }) {
  const saved = credentials();
  const [token, setToken] = useState(saved.token ?? '');
  const [user, setUser] = useState(saved.user ?? '');
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <form
        className="modal"
        aria-label="sign in"
        onSubmit={(e) => {
          e.preventDefault();
          saveCredentials({ token: token.trim() || undefined, user: user.trim() || undefined });
          onClose();
          location.reload();
        }}
      >
        <h2>Sign in</h2>
        <p className="muted">The token is kept in this browser and sent as a bearer token on every request to this server.</p>
        <label>
          API token
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus autoComplete="current-password" />
        </label>
        <label>
          User name (registry approvals)
          <input value={user} onChange={(e) => setUser(e.target.value)} placeholder="e.g. alice" autoComplete="username" />
        </label>
        <div className="row">
          <button type="submit">Save</button>
          <button type="button" className="ghost" onClick={() => { saveCredentials({}); onClose(); location.reload(); }}>
            Sign out
          </button>
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
