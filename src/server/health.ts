/** Liveness (the process answers) and readiness (every store it depends on answers). */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Platform } from '../platform.js';

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) });

export const healthRoutes: FastifyPluginAsync<{ platform: Platform }> = async (app, { platform }) => {
  app.get(
    '/health',
    {
      config: { permission: 'public' },
      schema: { summary: 'Liveness', tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { permission: 'public' },
      schema: {
        summary: 'Readiness: metadata, artifact and online stores answer, and every deployment serves a version',
        tags: ['health'],
        response: {
          200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Check) }),
          503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Check) }),
        },
      },
    },
    async (_request, reply) => {
      const stores = { metadata: platform.metadata, artifacts: platform.blobs, online: platform.online };
      const checks: Record<string, { ok: boolean; error?: string }> = {};
      await Promise.all(
        Object.entries(stores).map(async ([name, store]) => {
          try {
            await withTimeout(store.ping(), 2000);
            checks[name] = { ok: true };
          } catch (err) {
            checks[name] = { ok: false, error: (err as Error).message };
          }
        }),
      );
      // A replica takes traffic only once it can answer for every deployment (a `--workers` worker, a pod behind a Service).
      const notServing = platform.services.serving.notServing();
      checks.serving = notServing.length === 0 ? { ok: true } : { ok: false, error: notServing.join('; ') };
      const ready = Object.values(checks).every((c) => c.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
