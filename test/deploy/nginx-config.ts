/**
 * deploy/nginx/modelport.conf made runnable on loopback by an unprivileged test: its upstream
 * servers become the given addresses, it listens on `port`, and its pid, log and temp files go
 * under `prefix` (Debian's nginx keeps them under /var by default).
 */
import { readFileSync } from 'node:fs';

export const NGINX = '/usr/sbin/nginx';
export const NGINX_CONF = new URL('../../deploy/nginx/modelport.conf', import.meta.url).pathname;

export function loopbackNginxConfig(upstreams: string[], port: number, prefix: string): string {
  const text = readFileSync(NGINX_CONF, 'utf8');
  const servers = /^(\s*)server server-1:5000 ([^\n]*)\n\s*server server-2:5000 [^\n]*\n/m;
  if (!servers.test(text) || !/listen 80;/.test(text) || !/^worker_processes auto;$/m.test(text)) throw new Error(`${NGINX_CONF} no longer has the lines this test rewrites`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/${t};`).join('\n');
  return text
    .replace(servers, (_, indent: string, options: string) => upstreams.map((u) => `${indent}server ${u} ${options}\n`).join(''))
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
    .replace('worker_processes auto;', `worker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log warn;`)
    .replace(/^http \{\n/m, `http {\n${temp}\n`);
}
