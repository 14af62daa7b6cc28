/**
 * Each broker's HTTP port (fastify): `/healthz`, and `/metrics` in the Prometheus text format;
 * the admin API builds on it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { exposition } from '../metrics/index.js';

export interface HttpServer {
  readonly app: FastifyInstance;
  /** The port bound (the configured one, or the OS's choice for 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(options: {
  host: string;
  port: number;
  logger: Logger;
  /** The broker's metrics, served with the process's at `/metrics`. */
  metrics: Registry;
}): Promise<HttpServer> {
  // Fastify's own request logging stays off: the broker logs what matters through pino.
  const app = Fastify({ logger: false });
  app.setErrorHandler((err, _request, reply) => {
    options.logger.error({ err }, 'HTTP request failed');
    void reply.status(500).send({ error: 'internal error' });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.contentType).send(await exposition(options.metrics)),
  );
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, port, close: () => app.close() };
}
