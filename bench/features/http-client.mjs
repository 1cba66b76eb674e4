/**
 * The HTTP client of bench/features in a process of its own: run in the server's process, a
 * client's own CPU and garbage collection land in the server's latency. Plain JavaScript, no
 * tsx, so no loader thread shares the machine either.
 *
 * Takes jobs over IPC, { url, bodies: string[] }, and sends the bodies one at a time over one
 * keep-alive connection; answers { ms: number[] } (one latency per call, from writing the
 * request to the last byte of the answer) or { error }. Exits when the parent disconnects.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString()}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

process.on('message', async ({ url, bodies }) => {
  try {
    const ms = [];
    for (const body of bodies) {
      const t = process.hrtime.bigint();
      await post(url, body);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    process.send({ ms });
  } catch (err) {
    process.send({ error: err.message });
  }
});
process.on('disconnect', () => {
  agent.destroy();
  process.exit(0);
});
