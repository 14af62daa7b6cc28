/**
 * Each broker's HTTP port (fastify): `/healthz` (the process is alive), `/readyz` (it serves what
 * it owns), `/metrics` in the Prometheus text format, and the JSON routes protocol handlers add
 * (the admin API). Routes are added before the port listens: the server is created before the
 * handlers initialize and listens after they start.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Readable } from 'node:stream';
import type { BrokerMetrics } from '../metrics/index.js';
import type { ReadinessAnswer } from './readiness.js';
import { HttpError, type HttpRequest, type HttpRoutes, type JsonHandler } from './routes.js';

export interface HttpServer {
  readonly app: FastifyInstance;
  /** Where handlers add their routes; only before `listen`. */
  readonly routes: HttpRoutes;
  /** Binds the port; resolves to the port bound (the configured one, or the OS's choice for 0). */
  listen(): Promise<number>;
  /** The port bound, null before `listen`. */
  readonly port: number | null;
  close(): Promise<void>;
}

export function createHttpServer(options: {
  host: string;
  port: number;
  logger: Logger;
  /** The broker's metrics, served with the process's at `/metrics`. */
  metrics: BrokerMetrics;
  /** What `/readyz` answers: 200 when ready, 503 with the reasons otherwise (no route without). */
  readiness?: () => Promise<ReadinessAnswer>;
}): HttpServer {
  // Fastify's own request logging stays off: the broker logs what matters through pino.
  const app = Fastify({ logger: false });
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof HttpError) return reply.status(err.status).send({ error: err.message });
    // Fastify's own client errors (a body that is not JSON, say) carry their status.
    const { statusCode, message } = err as { statusCode?: number; message?: string };
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return reply.status(statusCode).send({ error: message });
    }
    options.logger.error({ err }, 'HTTP request failed');
    return reply.status(500).send({ error: 'internal error' });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  const { readiness } = options;
  if (readiness) {
    app.get('/readyz', async (_request, reply) => {
      const answer = await readiness();
      return reply.status(answer.status === 'ready' ? 200 : 503).send(answer);
    });
  }
  app.get('/metrics', (_request, reply) =>
    reply.type(options.metrics.contentType).send(metricsBody()),
  );
  const route =
    (method: 'GET' | 'POST') =>
    (path: string, handler: JsonHandler): void => {
      app.route({
        method,
        url: path,
        handler: (request) =>
          handler({
            params: request.params as HttpRequest['params'],
            query: lastValues(request.query as Record<string, string | string[] | undefined>),
            body: request.body,
          }),
      });
    };
  /**
   * `/metrics` is streamed as it is rendered, with a turn of the event loop between pieces: a
   * body of 100,000 series (about 47 MB) built whole, then sent, held the loop for most of a
   * second (bench/scrape.ts). A failure midway aborts the response, which Prometheus counts as
   * a failed scrape.
   */
  function metricsBody(): Readable {
    const body = Readable.from(options.metrics.expositionChunks(), { objectMode: false });
    body.on('error', (err) => options.logger.error({ err }, 'rendering /metrics failed'));
    return body;
  }
  let port: number | null = null;
  return {
    app,
    routes: { get: route('GET'), post: route('POST') },
    get port() {
      return port;
    },
    async listen() {
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      port = typeof address === 'object' && address ? address.port : options.port;
      return port;
    },
    close: () => app.close(),
  };
}

function lastValues(
  query: Record<string, string | string[] | undefined>,
): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(query).map(([key, value]) => [key, Array.isArray(value) ? value.at(-1) : value]),
  );
}
