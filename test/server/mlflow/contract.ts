/** A small MLflow REST caller for contract tests: JSON in, {status, body} out. */
export interface Answer {
  status: number;
  body: any;
}

export function mlflowCaller(base: string, prefix = '/api/2.0/mlflow') {
  async function call(method: 'GET' | 'POST', path: string, input: Record<string, unknown> = {}): Promise<Answer> {
    let url = `${base}${prefix}${path}`;
    const init: RequestInit = { method };
    if (method === 'GET') {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(input)) {
        if (v === undefined) continue;
        for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
      }
      url += `?${q}`;
    } else {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(input);
    }
    const res = await fetch(url, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON; keep the text
    }
    return { status: res.status, body };
  }
  return {
    call,
    get: (path: string, input?: Record<string, unknown>) => call('GET', path, input),
    post: (path: string, input?: Record<string, unknown>) => call('POST', path, input),
    /** Calls and insists on 200, returning the body. */
    async ok(method: 'GET' | 'POST', path: string, input?: Record<string, unknown>): Promise<any> {
      const answer = await call(method, path, input);
      if (answer.status !== 200) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return answer.body;
    },
  };
}
