/** A TCP proxy in front of a service that a test can take away and bring back, on the same port. */
import net from 'node:net';
import { once } from 'node:events';

export interface Outage {
  /** host:port clients connect to. */
  address: string;
  port: number;
  /** The service goes away: every connection is cut and new ones are refused. */
  cut(): Promise<void>;
  /** The service is back on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function outageProxy(target: { host: string; port: number }): Promise<Outage> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const stop = async () => {
    const closed = new Promise((r) => server.close(r));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    address: `127.0.0.1:${port}`,
    port,
    cut: stop,
    async restore() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
