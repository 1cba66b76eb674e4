/**
 * `modelport models ...`: register a model file or folder (streamed to the server), list, show,
 * move aliases, and the approval flow (request, approve, reject). `--as USER` names the caller
 * for approvals (sent as x-modelport-user until token auth lands).
 */
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { ModelportClient } from '../client/client.js';
import { InjectTransport } from '../client/transport.js';
import { ExplainClient } from '../client/explain.js';
import { RegistryClient, counted, httpBlobUploader, type BlobUploader, type ModelVersion, type RegisteredModel } from '../client/registry.js';
import { parsePreprocessText, PREPROCESS_FILE } from '../models/preprocess.js';
import type { Actor } from '../registry/index.js';
import { createPlatform } from '../platform.js';
import { buildApp } from '../server/app.js';
import { configFrom, globalOptions, withClient } from './context.js';
import { renderTable } from './datasets.js';
import { renderImportance } from './explain.js';
import { progress } from './progress.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

function io(command: Command): Io {
  const c = command.configureOutput();
  return { out: c.writeOut ?? ((t: string) => process.stdout.write(t)), err: c.writeErr ?? ((t: string) => process.stderr.write(t)) };
}

interface ActorFlags {
  as?: string;
  roles?: string;
}

function actorOf(flags: ActorFlags): Actor {
  return { user: flags.as, roles: (flags.roles ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '') };
}

function withRegistry<T>(cmd: Command, actor: Actor, fn: (registry: RegistryClient) => Promise<T>): Promise<T> {
  return withClient(cmd, (client) => fn(new RegistryClient(client, { actor })));
}

/**
 * Registration streams every file: to the server's upload route with --server, or embedded
 * straight into the local artifact store (the in-process transport would buffer whole bodies).
 */
async function withUploadingRegistry<T>(cmd: Command, actor: Actor, fn: (registry: RegistryClient) => Promise<T>): Promise<T> {
  return withUploadingClient(cmd, actor, (client, uploader) => fn(new RegistryClient(client, { actor, uploader })));
}

/** A client and a streaming uploader of files to the artifact store (what registration and job submission use). */
export async function withUploadingClient<T>(cmd: Command, actor: Actor, fn: (client: ModelportClient, uploader: BlobUploader) => Promise<T>): Promise<T> {
  const opts = globalOptions(cmd);
  const server = opts.server ?? process.env.MODELPORT_SERVER;
  if (server) {
    const token = opts.token ?? process.env.MODELPORT_TOKEN;
    return withClient(cmd, (client) => fn(client, httpBlobUploader({ url: server, token }, actor)));
  }
  const platform = await createPlatform({ ...configFrom(cmd), logLevel: 'silent' });
  try {
    const app = await buildApp(platform, { logger: false, trusted: true });
    const client = new ModelportClient(new InjectTransport(app, () => app.close()));
    const uploader = (file: string, onBytes?: (n: number) => void) => platform.services.registry.putBlob(counted(createReadStream(file, { highWaterMark: 1 << 20 }), onBytes));
    try {
      return await fn(client, uploader);
    } finally {
      await client.close();
    }
  } finally {
    await platform.close();
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

function parseTags(raw: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const t of raw) {
    const i = t.indexOf('=');
    if (i <= 0) throw invalidArgument(`--tag: "${t}" must be KEY=VALUE`);
    tags[t.slice(0, i)] = t.slice(i + 1);
  }
  return tags;
}

function parseVersion(raw: string, what: string): number {
  if (!/^[1-9]\d*$/.test(raw)) throw invalidArgument(`${what}: "${raw}" is not a version number`);
  return Number(raw);
}

function checkFlavor(raw: string | undefined): 'onnx' | 'xgboost' | 'js' | undefined {
  if (raw === undefined) return undefined;
  if (raw !== 'onnx' && raw !== 'xgboost' && raw !== 'js') throw invalidArgument(`--flavor: "${raw}" is not onnx, xgboost or js`);
  return raw;
}

const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const short = (sha?: string) => (sha ? sha.slice(0, 12) : '-');

function describeVersion(v: ModelVersion): string {
  return `${v.name} version ${v.version} (${v.flavor ?? 'no flavor'}, ${v.size ?? 0} bytes, sha256 ${v.sha256 ?? '-'})`;
}

function modelsTable(models: RegisteredModel[]): string {
  return renderTable(
    ['NAME', 'LATEST', 'ALIASES', 'UPDATED', 'DESCRIPTION'],
    models.map((m) => [
      m.name,
      String(Math.max(0, ...m.latestVersions.map((v) => v.version)) || '-'),
      m.aliases.map((a) => `${a.alias}→${a.version}`).join(' ') || '-',
      when(m.updatedAt),
      m.description ?? '',
    ]),
  );
}

function versionsTable(versions: ModelVersion[]): string {
  return renderTable(
    ['VERSION', 'FLAVOR', 'STATUS', 'STAGE', 'ALIASES', 'SHA256', 'RUN', 'CREATED'],
    versions.map((v) => [String(v.version), v.flavor ?? '-', v.status, v.stage, v.aliases.join(' ') || '-', short(v.sha256), v.runId ?? '-', when(v.createdAt)]),
  );
}

/**
 * The model at `path` with a preprocessing step beside it, in a temporary folder, loaded once
 * so a step that does not fit the model is refused here, naming the field, before any upload.
 */
async function withPreprocess(path: string, preprocess: string, flavor?: string): Promise<string> {
  let spec;
  try {
    spec = parsePreprocessText(await readFile(preprocess, 'utf8'), preprocess);
  } catch (e) {
    throw invalidArgument(`--preprocess: ${(e as Error).message}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'mp-preprocess-'));
  try {
    if ((await stat(path)).isDirectory()) await cp(path, dir, { recursive: true });
    else await cp(path, join(dir, basename(path)));
    await writeFile(join(dir, PREPROCESS_FILE), `${JSON.stringify(spec, null, 2)}\n`);
    const { loadModel } = await import('../models/index.js');
    await (await loadModel(dir, { flavor, threads: 1 }).catch((e: Error) => Promise.reject(invalidArgument(`--preprocess: ${e.message}`)))).close();
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

export function registerModelsCommand(program: Command): Command {
  const models = program.command('models').description('model registry: register, list, show, aliases and approvals').exitOverride();
  const withActor = (c: Command) => c.option('--as <user>', 'act as this user (sent as x-modelport-user until token auth)').option('--roles <roles>', 'comma-separated roles of that user');

  models
    .command('register')
    .description('register a model file or folder as a new version (the file is streamed to the server)')
    .argument('<name>', 'registered model name (created when new)')
    .argument('<path>', 'a model file (.onnx, XGBoost .json/.ubj, .js) or folder (MLflow model folder with MLmodel)')
    .option('--flavor <flavor>', 'onnx | xgboost | js (default: from MLmodel or the file itself)')
    .option('--description <text>', 'version description')
    .option('--tag <key=value>', 'version tag; repeatable', collect, [])
    .option('--run-id <id>', 'the run that produced the model (for lineage)')
    .option('--preprocess <file>', 'a preprocessing step (preprocess.json: numeric scaling, one-hot columns) stored with the version; callers then send the raw columns')
    .option('--json', 'print the new version as JSON')
    .addHelpText('after', '\nExamples:\n  modelport models register fraud ./model.onnx\n  modelport models register fraud ./mlruns/0/abc/artifacts/model --run-id abc\n  modelport models register loans ./model.json --preprocess preprocess.json')
    .action(async (name: string, given: string, flags: { flavor?: string; description?: string; tag: string[]; runId?: string; preprocess?: string; json?: boolean } & ActorFlags, command: Command) => {
      const { out, err } = io(command);
      const flavor = checkFlavor(flags.flavor);
      const tags = parseTags(flags.tag);
      const staged = flags.preprocess ? await withPreprocess(given, flags.preprocess, flavor) : undefined;
      const path = staged ?? given;
      const version = await withUploadingRegistry(command, actorOf(flags), async (registry) => {
        let bar: ReturnType<typeof progress> | undefined;
        let shown = 0;
        const v = await registry.register(name, path, {
          flavor,
          description: flags.description,
          tags,
          runId: flags.runId,
          onProgress: (sent, total) => {
            bar ??= progress(`uploading ${path}`, total, process.stderr);
            bar.tick(sent - shown);
            shown = sent;
          },
        });
        bar?.done();
        return v;
      }).finally(() => staged && rm(staged, { recursive: true, force: true }));
      if (flags.json) out(`${JSON.stringify(version, null, 2)}\n`);
      else {
        out(`registered ${describeVersion(version)}\n`);
        if (version.status !== 'READY') err(`status ${version.status}: ${version.statusMessage ?? ''}\n`);
      }
    });

  models
    .command('delete')
    .description('delete a registered model, or one of its versions; refused while a deployment serves it, unless --force')
    .argument('<name>')
    .argument('[version]', 'only this version (a number or an alias)')
    .option('--force', 'delete the deployments that serve it first')
    .action(async (name: string, version: string | undefined, flags: { force?: boolean }, command: Command) => {
      const { out } = io(command);
      const force = { force: flags.force };
      const undeployed = await withRegistry(command, {}, (registry) => (version === undefined ? registry.deleteModel(name, force) : registry.deleteVersion(name, version, force)));
      for (const d of undeployed) out(`deleted deployment ${d}\n`);
      out(version === undefined ? `deleted model ${name} and its versions\n` : `deleted ${name} version ${version}\n`);
    });

  models
    .command('list')
    .description('list registered models')
    .option('--filter <filter>', "MLflow filter, e.g. \"name LIKE 'fraud%'\" or \"tags.team = 'risk'\"")
    .option('--json', 'print JSON')
    .action(async (flags: { filter?: string; json?: boolean }, command: Command) => {
      const { out } = io(command);
      const models: RegisteredModel[] = [];
      await withRegistry(command, {}, async (registry) => {
        let pageToken: string | undefined;
        do {
          const page = await registry.listModels({ filter: flags.filter, maxResults: 1000, pageToken });
          models.push(...page.models);
          pageToken = page.nextPageToken;
        } while (pageToken);
      });
      out(flags.json ? `${JSON.stringify(models, null, 2)}\n` : models.length ? modelsTable(models) : 'no registered models\n');
    });

  models
    .command('show')
    .description('show a registered model and its versions, or one version')
    .argument('<name>')
    .argument('[version]', 'one version: a number, an alias or latest')
    .option('--json', 'print JSON')
    .action(async (name: string, version: string | undefined, flags: { json?: boolean }, command: Command) => {
      const { out } = io(command);
      await withClient(command, async (client) => {
        const registry = new RegistryClient(client, { actor: {} });
        if (version) {
          const v = await registry.getVersion(name, version);
          const importance = await new ExplainClient(client).importance(name, v.version);
          if (flags.json) return out(`${JSON.stringify({ ...v, importance }, null, 2)}\n`);
          const manifest = v.sha256 ? await registry.manifest(name, v.version) : undefined;
          out(`${describeVersion(v)}\nstatus ${v.status}, stage ${v.stage}, aliases ${v.aliases.join(' ') || '-'}, run ${v.runId ?? '-'}\nsource ${v.source}\n`);
          if (manifest) out(renderTable(['FILE', 'BYTES', 'SHA256'], manifest.files.map((f) => [f.path, String(f.size), f.sha256])));
          if (importance.shap || importance.permutation) out(renderImportance(importance));
          return;
        }
        const [model, versions] = await Promise.all([registry.getModel(name), registry.listVersions(name)]);
        if (flags.json) return out(`${JSON.stringify({ ...model, versions }, null, 2)}\n`);
        const tags = Object.entries(model.tags).map(([k, v]) => `${k}=${v}`).join(' ');
        out(`${model.name}${model.description ? `: ${model.description}` : ''}\ncreated ${when(model.createdAt)}, updated ${when(model.updatedAt)}${tags ? `, tags ${tags}` : ''}\n`);
        out(versions.length ? versionsTable(versions) : 'no versions\n');
      });
    });

  withActor(
    models
      .command('alias')
      .description('point ALIAS (e.g. champion) at VERSION; moving a protected alias needs an approval (see models request)')
      .argument('<name>')
      .argument('<alias>')
      .argument('<version>'),
  ).action(async (name: string, alias: string, version: string, flags: ActorFlags, command: Command) => {
    const { out } = io(command);
    const v = parseVersion(version, 'VERSION');
    await withRegistry(command, actorOf(flags), (registry) => registry.setAlias(name, alias, v));
    out(`${name}@${alias} → version ${v}\n`);
  });

  withActor(
    models
      .command('request')
      .description('request approval to move an alias or enter a stage; another user approves it')
      .argument('<name>')
      .argument('<version>')
      .option('--alias <alias>', 'the alias to move to VERSION')
      .option('--stage <stage>', 'the stage to move VERSION to (e.g. Production)')
      .option('--archive-existing', 'archive the versions now in that stage')
      .option('--comment <text>'),
  ).action(async (name: string, version: string, flags: ActorFlags & { alias?: string; stage?: string; archiveExisting?: boolean; comment?: string }, command: Command) => {
    const { out } = io(command);
    if (!flags.alias === !flags.stage) throw invalidArgument('give exactly one of --alias or --stage');
    const approval = await withRegistry(command, actorOf(flags), (registry) =>
      registry.requestApproval({ name, version: parseVersion(version, 'VERSION'), alias: flags.alias, stage: flags.stage, archiveExistingVersions: flags.archiveExisting, comment: flags.comment }),
    );
    out(`approval ${approval.id} requested by ${approval.requestedBy}: ${approval.kind} ${approval.target} → ${name} version ${approval.version}\n`);
  });

  models
    .command('approvals')
    .description('list approval requests')
    .option('--model <name>')
    .option('--status <status>', 'PENDING | APPROVED | REJECTED')
    .option('--json', 'print JSON')
    .action(async (flags: { model?: string; status?: string; json?: boolean }, command: Command) => {
      const { out } = io(command);
      const status = flags.status?.toUpperCase();
      if (status !== undefined && !['PENDING', 'APPROVED', 'REJECTED'].includes(status)) throw invalidArgument(`--status: "${flags.status}" is not PENDING, APPROVED or REJECTED`);
      const approvals = await withRegistry(command, {}, (registry) => registry.listApprovals({ model: flags.model, status: status as 'PENDING' | undefined }));
      if (flags.json) return out(`${JSON.stringify(approvals, null, 2)}\n`);
      out(
        approvals.length
          ? renderTable(
              ['ID', 'MODEL', 'VERSION', 'CHANGE', 'STATUS', 'REQUESTED BY', 'DECIDED BY'],
              approvals.map((a) => [a.id, a.name, String(a.version), `${a.kind} ${a.target}`, a.status, a.requestedBy, a.decidedBy ?? '-']),
            )
          : 'no approval requests\n',
      );
    });

  for (const decision of ['approve', 'reject'] as const) {
    withActor(
      models
        .command(decision)
        .description(decision === 'approve' ? 'approve a pending request (applies the alias move or stage transition)' : 'reject a pending request')
        .argument('<id>', 'approval id (see models approvals)')
        .option('--comment <text>'),
    ).action(async (id: string, flags: ActorFlags & { comment?: string }, command: Command) => {
      const { out } = io(command);
      const approval = await withRegistry(command, actorOf(flags), (registry) => (decision === 'approve' ? registry.approve(id, flags.comment) : registry.reject(id, flags.comment)));
      out(`approval ${approval.id} ${approval.status.toLowerCase()} by ${approval.decidedBy}: ${approval.kind} ${approval.target} → ${approval.name} version ${approval.version}\n`);
    });
  }

  models
    .command('lineage')
    .description('lineage of a version: run, datasets, code version, parent models')
    .argument('<name>')
    .argument('<version>', 'a number, an alias or latest')
    .action(async (name: string, version: string, _flags: object, command: Command) => {
      const { out } = io(command);
      const graph = await withRegistry(command, {}, (registry) => registry.lineage(name, version));
      out(`${JSON.stringify(graph, null, 2)}\n`);
    });

  return models;
}
