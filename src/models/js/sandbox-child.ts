/**
 * The program a sandboxed js model runs in (`node --experimental-permission ... -e SOURCE`). It is
 * kept as text, not as a module of ours, so that the child reads no file of the server's: the
 * permission model lets it read the model's folder and nothing else.
 *
 * Node 20's permission model refuses file reads outside the allowed folders, every file write,
 * child processes, worker threads, native addons, WASI and the inspector, but not the network
 * and not signals. So before the author's module is imported this program replaces, on the
 * built-in modules themselves (one object whether reached by `import`, `require` or
 * `process.getBuiltinModule`), everything that opens a socket or resolves a name, and
 * `process.kill`; the replaced functions are held nowhere the module can reach.
 *
 * Messages: the parent sends {op: 'load', entry, folder, options} once, then {op: 'predict', id,
 * rows, columns: [name, column][]} and finally {op: 'close'}; the child answers {id, ok, ...}.
 * Predict messages are handled as they arrive, so an async predict's calls overlap.
 * Columns travel as structured clones (typed arrays stay typed arrays).
 */
export const CHILD_SOURCE = String.raw`
const { syncBuiltinESMExports } = await import('node:module');
const { pathToFileURL } = await import('node:url');
const denied = (what) => function () {
  const err = new Error(what + ' is not allowed in a sandboxed js model');
  err.code = 'ERR_ACCESS_DENIED';
  throw err;
};
const net = (await import('node:net')).default;
for (const name of ['connect', 'listen', '_listen2']) {
  if (net.Socket.prototype[name]) net.Socket.prototype[name] = denied('the network (net.Socket.' + name + ')');
  if (net.Server.prototype[name]) net.Server.prototype[name] = denied('the network (net.Server.' + name + ')');
}
for (const name of ['connect', 'createConnection', 'createServer', '_createServerHandle']) net[name] = denied('the network (net.' + name + ')');
const dgram = (await import('node:dgram')).default;
for (const name of ['bind', 'connect', 'send', 'sendto']) dgram.Socket.prototype[name] = denied('the network (dgram.Socket.' + name + ')');
dgram.createSocket = denied('the network (dgram.createSocket)');
dgram._createSocketHandle = denied('the network (dgram)');
dgram.Socket = denied('the network (dgram.Socket)');
for (const dns of [(await import('node:dns')).default, (await import('node:dns/promises')).default, (await import('node:dns')).default.promises]) {
  for (const [name, value] of Object.entries(dns)) {
    if (typeof value !== 'function') continue;
    if (name === 'Resolver') {
      for (const method of Object.getOwnPropertyNames(value.prototype)) if (method !== 'constructor') value.prototype[method] = denied('name resolution (dns.Resolver)');
    } else dns[name] = denied('name resolution (dns.' + name + ')');
  }
}
const v8 = (await import('node:v8')).default;
v8.setFlagsFromString = denied('changing V8 flags');
process.kill = denied('sending signals (process.kill)');
process._kill = denied('sending signals (process._kill)');
syncBuiltinESMExports();

class Batch {
  constructor(columns, rows) { this.columns = columns; this.rows = rows; }
  get names() { return [...this.columns.keys()]; }
  has(name) { return this.columns.has(name); }
  column(name) {
    const col = this.columns.get(name);
    if (!col) throw new Error('no column ' + JSON.stringify(name) + ' in the batch (has ' + this.names.join(', ') + ')');
    return col;
  }
}

const send = (message) => process.send(message);
const failure = (id, err) => send({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
let model;
let mod;
const columnsOf = (out) => {
  if (out && out.columns instanceof Map) return { rows: out.rows, columns: [...out.columns] };
  if (out && typeof out === 'object') return { columns: Object.entries(out) };
  throw new Error('returned ' + (out === null ? 'null' : typeof out) + ', expected a Batch or named columns');
};

process.on('message', async (msg) => {
  if (msg.op === 'load') {
    try {
      mod = await import(pathToFileURL(msg.entry).href);
    } catch (err) {
      return send({ id: msg.id, ok: false, stage: 'import', message: err instanceof Error ? err.message : String(err) });
    }
    let loaded;
    try {
      loaded = (await mod.load?.({ path: msg.folder, options: msg.options })) ?? {};
    } catch (err) {
      return send({ id: msg.id, ok: false, stage: 'load', message: err instanceof Error ? err.message : String(err) });
    }
    const predict = loaded.predict ?? mod.predict;
    if (typeof predict !== 'function') return send({ id: msg.id, ok: false, stage: 'exports', message: 'exports no predict(batch) function' });
    const close = loaded.close ?? mod.close;
    model = { predict: predict.bind(loaded.predict ? loaded : mod), close: close?.bind(loaded.close ? loaded : mod) };
    let signature = loaded.signature ?? mod.signature;
    if (signature !== undefined) signature = JSON.parse(JSON.stringify(signature));
    return send({ id: msg.id, ok: true, signature, overlaps: predict.constructor?.name === 'AsyncFunction' });
  }
  if (msg.op === 'predict') {
    try {
      const out = columnsOf(await model.predict(new Batch(new Map(msg.columns), msg.rows)));
      return send({ id: msg.id, ok: true, ...out });
    } catch (err) {
      return failure(msg.id, err);
    }
  }
  if (msg.op === 'close') {
    try {
      await model?.close?.();
    } finally {
      process.exit(0);
    }
  }
});
send({ ready: true });
`;
