/**
 * Explanations over HTTP. `POST /v2/models/{name}[/versions/{v}]/explain` takes the body of
 * `/infer` and answers in the V2 shape (errors as `{"error": ...}`): the attributions tensor,
 * the feature names, the base values and the model's own outputs. modelport's own API holds a
 * version's global importance (computed on a dataset version, stored), its HTML report, and the
 * explanation of a logged prediction by request id.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { invalidArgument } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { checkMethod, type DatasetRef, type ExplainOptions, type Explanation } from '../explain/index.js';
import { decodeV2, encodeV2, type V2Request } from '../serving/index.js';
import { InferRequest } from './v2.js';
import { parseVersion } from './serving-http.js';

const ModelPath = Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) });
const VersionPath = Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1 }) });
const ErrorBody = Type.Object({ error: Type.String() });
const Parameters = Type.Record(Type.String(), Type.Unknown());
const TAGS = ['explanations'];

/**
 * The explain request's `parameters`: method (tree | kernel | lime), output (the model output
 * kernel and LIME explain; tree explains the margin), budget (KernelSHAP coalitions per row),
 * seed, interactions (TreeSHAP interaction values), samples and top_k (LIME), background
 * ("dataset[@version]", else the version's stored background). Values may be strings, as some
 * V2 clients send every parameter as one.
 */
type ExplainParams = Record<string, unknown>;

/** "name" or "name@3" as a dataset reference. */
export function parseDatasetRef(text: string, field: string): DatasetRef {
  const m = /^([^@]+)(?:@(\d+))?$/.exec(text);
  if (!m) throw invalidArgument(`${field}: "${text}" is not a dataset reference (name or name@version)`);
  return { name: m[1], version: m[2] === undefined ? undefined : Number(m[2]) };
}

function num(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw invalidArgument(`parameters.${field}: ${JSON.stringify(v)} must be a whole number`);
  return n;
}

/** V2 `parameters` (values may be strings, as some clients send them) as explainer options. */
export function explainOptions(parameters: Record<string, unknown> | undefined): ExplainOptions & { background?: DatasetRef } {
  const p: ExplainParams = parameters ?? {};
  if (p.output !== undefined && typeof p.output !== 'string') throw invalidArgument('parameters.output: must be the name of a model output');
  if (p.background !== undefined && typeof p.background !== 'string') throw invalidArgument('parameters.background: must be "dataset" or "dataset@version"');
  const interactions = p.interactions === undefined ? undefined : p.interactions === true || p.interactions === 'true';
  if (p.method !== undefined && typeof p.method !== 'string') throw invalidArgument('parameters.method: must be tree, kernel or lime');
  return {
    method: checkMethod(p.method),
    output: p.output,
    budget: num(p.budget, 'budget'),
    seed: num(p.seed, 'seed'),
    interactions,
    samples: num(p.samples, 'samples'),
    topK: num(p.top_k, 'top_k'),
    background: p.background === undefined ? undefined : parseDatasetRef(p.background, 'parameters.background'),
  };
}

/** `[rows, features]`, or `[rows, groups, features]` for a multi-output model. */
function shapeOf(rows: number, groups: number, ...rest: number[]): number[] {
  return groups > 1 ? [rows, groups, ...rest] : [rows, ...rest];
}

/** The explanation part of the response: feature names, base values and the attribution tensors. */
export function explanationBody(e: Explanation): {
  method: string;
  explained_output: string;
  feature_names: string[];
  base_values: number[] | number[][];
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
} {
  const { rows, groups, features, values, base } = e.attributions;
  const baseValues = groups > 1 ? Array.from({ length: rows }, (_, r) => Array.from(base.subarray(r * groups, (r + 1) * groups))) : Array.from(base);
  const outputs = [{ name: 'attributions', datatype: 'FP64', shape: shapeOf(rows, groups, features), data: Array.from(values) }];
  if (e.interactions) outputs.push({ name: 'interactions', datatype: 'FP64', shape: shapeOf(rows, groups, features, features), data: Array.from(e.interactions) });
  if (e.limeWeights) outputs.push({ name: 'lime_weights', datatype: 'FP64', shape: shapeOf(rows, groups, features), data: Array.from(e.limeWeights) });
  return { method: e.method, explained_output: e.output, feature_names: e.featureNames, base_values: baseValues, outputs };
}

export const explainRoutes: FastifyPluginAsync<{ platform: Platform }> = async (root, { platform }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const { serving, explain } = platform.services;

  const explainSchema = {
    summary: 'Explain a prediction: the body of /infer; answers attributions (SHAP or LIME), base values and the model outputs',
    tags: TAGS,
    params: ModelPath,
    body: InferRequest,
    response: { 200: Type.Unknown({ description: 'model_name, model_version, id, method, feature_names, base_values, outputs' }), 400: ErrorBody, 404: ErrorBody, 412: ErrorBody, 503: ErrorBody },
  };
  const explainV2 = async (name: string, versionText: string | undefined, body: V2Request, requestId: string) => {
    const options = explainOptions(body.parameters);
    const target = await serving.target(name, parseVersion(name, versionText));
    const loaded = target.version;
    const { batch, outputs } = decodeV2(body, loaded.signature);
    const [explanation, predicted] = await Promise.all([explain.explain(loaded.model, loaded.version, loaded.predictor, batch, options), loaded.predict(batch)]);
    const own = encodeV2(outputs.length > 0 ? predicted.select(outputs) : predicted, name, loaded.version, body.id ?? requestId);
    const { outputs: attributions, ...part } = explanationBody(explanation);
    return { model_name: own.model_name, model_version: own.model_version, id: own.id, ...part, outputs: [...attributions, ...own.outputs] };
  };
  app.post('/v2/models/:name/explain', { config: { permission: 'read' }, schema: explainSchema }, async (request) =>
    explainV2(request.params.name, undefined, request.body as V2Request, request.id),
  );
  app.post('/v2/models/:name/versions/:version/explain', { config: { permission: 'read' }, schema: explainSchema }, async (request) =>
    explainV2(request.params.name, request.params.version, request.body as V2Request, request.id),
  );

  app.post('/api/v1/explain/predictions/:requestId', {
    config: { permission: 'read' },
    schema: {
      summary: 'Explain a logged prediction by its request id, against the model version that answered it',
      tags: TAGS,
      params: Type.Object({ requestId: Type.String({ minLength: 1, maxLength: 1024 }) }),
      body: Type.Optional(Type.Object({ parameters: Type.Optional(Parameters) })),
    },
  }, async (request) => {
    const { deployment, model, version, explanation, loggedAtMs } = await explain.explainLogged(request.params.requestId, explainOptions(request.body?.parameters));
    const logged = loggedAtMs === undefined ? {} : { logged_at_ms: loggedAtMs };
    return { request_id: request.params.requestId, deployment, model_name: model, model_version: String(version), ...logged, ...explanationBody(explanation) };
  });

  app.get('/api/v1/explain/logging', {
    config: { permission: 'read' },
    schema: {
      summary: 'Explanation-logging rates per deployment and the counters of this replica',
      tags: TAGS,
      response: {
        200: Type.Object({
          deployments: Type.Record(Type.String(), Type.Number()),
          stats: Type.Object({ sampled: Type.Integer(), written: Type.Integer(), dropped: Type.Integer(), failed: Type.Integer(), queued: Type.Integer() }),
        }),
      },
    },
  }, async () => ({ deployments: explain.sampled.sampleRates(), stats: explain.sampled.stats() }));

  app.put('/api/v1/explain/logging/:deployment', {
    config: { permission: 'manage' },
    schema: {
      summary: "Sets the share (0..1) of a deployment's requests explained as they are served and stored by request id",
      tags: TAGS,
      params: Type.Object({ deployment: Type.String({ minLength: 1, maxLength: 128 }) }),
      body: Type.Object({ rate: Type.Number({ minimum: 0, maximum: 1 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ deployment: Type.String(), rate: Type.Number() }) },
    },
  }, async (request) => {
    await explain.sampled.setRate(request.params.deployment, request.body.rate);
    return { deployment: request.params.deployment, rate: request.body.rate };
  });

  app.get('/api/v1/explain/models/:name/versions/:version/importance', {
    config: { permission: 'read' },
    schema: { summary: "A model version's stored global importance (mean |SHAP|, permutation)", tags: TAGS, params: VersionPath },
  }, async (request) => {
    const { shap, permutation, ...rest } = await explain.importance(request.params.name, request.params.version);
    return { ...rest, shap: shap && { ...shap, sample: undefined }, permutation };
  });

  app.post('/api/v1/explain/models/:name/versions/:version/importance', {
    config: { permission: 'edit' },
    schema: {
      summary: "Computes and stores a version's global importance on a dataset version (and its background for kernel and LIME explanations)",
      tags: TAGS,
      params: VersionPath,
      body: Type.Object({
        dataset: Type.String({ minLength: 1, description: 'dataset[@version]' }),
        label: Type.Optional(Type.String({ minLength: 1, description: 'label column: permutation importance as well' })),
        rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
        background_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
        repeats: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        seed: Type.Optional(Type.Integer()),
        parameters: Type.Optional(Parameters),
      }),
    },
  }, async (request) => {
    const b = request.body;
    const result = await explain.computeImportance(request.params.name, request.params.version, {
      dataset: parseDatasetRef(b.dataset, 'dataset'),
      label: b.label,
      rows: b.rows,
      backgroundSize: b.background_size,
      repeats: b.repeats,
      seed: b.seed,
      explain: explainOptions(b.parameters),
    });
    return { ...result, shap: result.shap && { ...result.shap, sample: undefined } };
  });

  app.get('/api/v1/explain/models/:name/versions/:version/report', {
    config: { permission: 'read' },
    schema: {
      summary: "A model version's self-contained HTML explanation report (mean |SHAP|, beeswarm, dependence plots, one row's waterfall)",
      tags: TAGS,
      params: VersionPath,
      querystring: Type.Object({ row: Type.Optional(Type.Integer({ minimum: 0 })), class: Type.Optional(Type.Integer({ minimum: 0 })) }),
      produces: ['text/html'],
    },
  }, async (request, reply) => {
    const html = await explain.report(request.params.name, request.params.version, { row: request.query.row, group: request.query.class });
    return reply.type('text/html; charset=utf-8').send(html);
  });
};
