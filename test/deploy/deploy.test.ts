/**
 * The container and Kubernetes files, checked for structure: hadolint and helm are not installed
 * here, so the Dockerfile is parsed into instructions, the compose file and the manifests with
 * the `yaml` package, and the chart is rendered by deploy/helm/render.mjs (the subset of Go
 * templates the chart keeps to) and compared with the committed deploy/k8s manifests. The nginx
 * sample is checked by `nginx -t` when nginx is installed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/services.js';
import { NGINX, loopbackNginxConfig } from './nginx-config.js';
// @ts-expect-error a plain ES module without declarations
import { renderChart } from '../../deploy/helm/render.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

function dockerInstructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** Every URI a config map of MODELPORT_* variables names must be one modelport accepts. */
function checkEnv(env: Record<string, string>): void {
  const config = loadConfig({}, env, '/app');
  assert.equal(config.store.kind, 'postgres');
  assert.equal(config.artifacts.kind, 's3');
  assert.equal(config.online.kind, 'redis');
  assert.equal(config.queue.kind, 'redis');
  assert.ok(env.MODELPORT_ADMIN_TOKEN && env.MODELPORT_SERVER_SECRET, 'replicas share the admin token and the server secret');
}

describe('Dockerfile', () => {
  const ins = dockerInstructions(read('Dockerfile'));
  const stages = ins.reduce<Instruction[][]>((acc, i) => (i.op === 'FROM' ? [...acc, [i]] : (acc.at(-1)!.push(i), acc)), []);

  test('multi-stage: the build stage builds and prunes to production dependencies', () => {
    assert.ok(stages.length >= 2);
    const build = stages[0];
    assert.match(build[0].args, /\bAS build$/i);
    const runs = build.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    assert.match(runs, /npm ci\b/);
    assert.match(runs, /npm run build/);
    assert.match(runs, /npm prune --omit=dev/);
    for (const copy of build.filter((i) => i.op === 'COPY')) {
      for (const src of copy.args.split(/\s+/).slice(0, -1)) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: no such path in the repository`);
    }
  });

  test('the runtime stage copies built files only, runs as a non-root user and has a healthcheck', () => {
    const runtime = stages.at(-1)!;
    const copies = runtime.filter((i) => i.op === 'COPY');
    assert.ok(copies.every((c) => c.args.startsWith('--from=build')), 'the runtime stage takes everything from the build stage');
    assert.ok(copies.some((c) => c.args.includes('/app/node_modules')));
    const user = runtime.findIndex((i) => i.op === 'USER');
    assert.ok(user > 0 && !/^(root|0)(:|$)/.test(runtime[user].args), 'runs as a non-root user');
    assert.ok(runtime.findIndex((i) => i.op === 'ENTRYPOINT') > user, 'the user is set before the entrypoint');
    const health = runtime.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(health && health.args.includes('/health'));
    assert.ok(runtime.some((i) => i.op === 'EXPOSE' && i.args === '5000'));
  });
});

describe('docker-compose.yml', () => {
  const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, any> };
  const services = compose.services;

  test('two servers and a worker over PostgreSQL, Redis and MinIO, behind nginx', () => {
    for (const name of ['server-1', 'server-2', 'worker', 'postgres', 'redis', 'minio', 'nginx']) assert.ok(services[name], `service ${name}`);
    for (const name of ['server-1', 'server-2', 'worker']) {
      const s = services[name];
      checkEnv(s.environment);
      assert.equal(new URL(s.environment.MODELPORT_STORE).hostname, 'postgres');
      assert.equal(new URL(s.environment.MODELPORT_ONLINE).hostname, 'redis');
      assert.equal(new URL(s.environment.AWS_ENDPOINT_URL_S3).hostname, 'minio');
      for (const dep of Object.keys(s.depends_on)) assert.ok(services[dep], `${name} depends on ${dep}, which is not a service`);
    }
    assert.deepEqual(services['server-1'].command, ['server']);
    assert.deepEqual(services.worker.command, ['worker']);
    for (const name of ['postgres', 'redis', 'minio']) assert.ok(services[name].healthcheck?.test, `${name} has a healthcheck`);
  });

  test('nginx runs the sample config, whose upstreams are the compose servers with keep-alive', () => {
    const mount = (services.nginx.volumes as string[]).find((v) => v.includes('modelport.conf'))!;
    assert.ok(existsSync(join(ROOT, mount.split(':')[0])));
    const conf = read('deploy/nginx/modelport.conf');
    const upstream = /upstream modelport \{([\s\S]*?)\}/.exec(conf)![1];
    const servers = [...upstream.matchAll(/server (\S+):(\d+)/g)].map((m) => m[1]);
    assert.deepEqual(servers, ['server-1', 'server-2']);
    assert.match(upstream, /keepalive \d+;/);
    assert.match(conf, /proxy_http_version 1\.1;/);
    assert.match(conf, /proxy_set_header Connection "";/);
    assert.match(conf, /proxy_next_upstream error timeout/);
  });

  test('nginx -t accepts the sample (with loopback upstreams)', { skip: existsSync(NGINX) ? false : `${NGINX} is not installed` }, () => {
    const prefix = tempDir('nginx-t');
    const file = join(prefix, 'nginx.conf');
    writeFileSync(file, loopbackNginxConfig(['127.0.0.1:1', '127.0.0.1:2'], 1, prefix));
    execFileSync(NGINX, ['-t', '-q', '-p', prefix, '-c', file], { stdio: 'pipe' });
  });
});

describe('Helm chart and rendered manifests', () => {
  const rendered = renderChart('modelport') as string;

  test('deploy/k8s/modelport.yaml is the chart rendered with its default values', () => {
    assert.equal(read('deploy/k8s/modelport.yaml'), rendered, 'run: node deploy/helm/render.mjs > deploy/k8s/modelport.yaml');
  });

  test('every object the chart promises, wired to each other', () => {
    const docs = YAML.parseAllDocuments(rendered).map((d) => d.toJS() as any);
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'PodDisruptionBudget', 'Secret', 'Service']);
    for (const d of docs) assert.ok(d.apiVersion && d.metadata?.name, `${d.kind} has apiVersion and a name`);
    const config = byKind('ConfigMap')[0];
    const secret = byKind('Secret')[0];
    checkEnv({ ...config.data, ...secret.stringData });
    assert.ok(!Object.keys(config.data).some((k) => /SECRET|TOKEN|PASSWORD|STORE/.test(k)), 'secrets stay out of the ConfigMap');

    const [server, worker] = ['server', 'worker'].map((c) => byKind('Deployment').find((d) => d.metadata.labels['app.kubernetes.io/component'] === c));
    for (const d of [server, worker]) {
      const pod = d.spec.template;
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v, `${d.metadata.name}: the selector matches its pods`);
      assert.equal(pod.spec.securityContext.runAsNonRoot, true);
      const c = pod.spec.containers[0];
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(c.envFrom.map((e: any) => e.configMapRef?.name ?? e.secretRef?.name), [config.metadata.name, secret.metadata.name]);
    }
    const c = server.spec.template.spec.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, '/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/health');
    assert.equal(c.ports[0].name, c.readinessProbe.httpGet.port);
    assert.deepEqual(worker.spec.template.spec.containers[0].args.slice(0, 1), ['worker']);

    const service = byKind('Service')[0];
    const podLabels = server.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v, 'the Service selects the server pods');
    assert.equal(service.spec.ports[0].targetPort, c.ports[0].name);
    const backend = byKind('Ingress')[0].spec.rules[0].http.paths[0].backend.service;
    assert.equal(backend.name, service.metadata.name);
    assert.equal(backend.port.name, service.spec.ports[0].name);

    const hpa = byKind('HorizontalPodAutoscaler')[0];
    assert.equal(hpa.spec.scaleTargetRef.name, server.metadata.name);
    assert.ok(hpa.spec.minReplicas >= 1 && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    const pdb = byKind('PodDisruptionBudget')[0];
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(podLabels[k], v);
    assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas, 'a node drain can always evict one server');
  });

  test('values switch parts off and rename the release', () => {
    const values = YAML.parse(read('deploy/helm/modelport/values.yaml'));
    const docs = YAML.parseAllDocuments(renderChart('prod', { ...values, ingress: { ...values.ingress, enabled: false } }) as string).map((d) => d.toJS() as any);
    assert.ok(!docs.some((d) => d.kind === 'Ingress'));
    assert.ok(docs.every((d) => d.metadata.name.startsWith('prod')));
  });
});
