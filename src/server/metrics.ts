/** `GET /metrics`: Prometheus text exposition of serving (and process) metrics. */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Platform } from '../platform.js';

export const metricsRoutes: FastifyPluginAsync<{ platform: Platform }> = async (app, { platform }) => {
  const metrics = platform.services.serving.metrics;
  app.get('/metrics', {
    config: { permission: 'public' },
    schema: { summary: 'Prometheus metrics', tags: ['operations'], response: { 200: Type.String() } },
  }, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
};
