/** TCP listeners for the Kafka protocol, and the connections they accept. */
import { createServer, type Server } from 'node:net';
import type { ListenerInfo, Logger } from '../../../src/api/index.js';
import type { Listener } from '../config.js';
import { KafkaConnection, type ConnectionOptions } from './connection.js';

export class KafkaServer {
  private readonly servers: Server[] = [];
  private readonly connections = new Set<KafkaConnection>();
  private readonly stopping = new AbortController();
  private readonly connectionOptions: ConnectionOptions;
  private nextConnectionId = 1;

  constructor(
    options: Omit<ConnectionOptions, 'stopSignal'>,
    private readonly logger: Logger,
  ) {
    this.connectionOptions = { ...options, stopSignal: this.stopping.signal };
  }

  async listen(listeners: Listener[]): Promise<ListenerInfo[]> {
    const bound: ListenerInfo[] = [];
    for (const [listenerIndex, listener] of listeners.entries()) {
      const server = createServer((socket) => {
        const connection = new KafkaConnection(
          socket,
          this.nextConnectionId++,
          listenerIndex,
          this.connectionOptions,
        );
        this.connections.add(connection);
        socket.once('close', () => this.connections.delete(connection));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: listener.host || undefined, port: listener.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.logger.error({ err }, 'listener error'));
      this.servers.push(server);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : listener.port;
      bound.push({ name: listener.name, host: listener.host, port });
    }
    return bound;
  }

  /** Stops accepting, lets in-flight requests finish for up to `drainMs`, then closes every connection. */
  async stop(drainMs: number): Promise<void> {
    this.stopping.abort();
    for (const server of this.servers) server.close();
    const deadline = Date.now() + drainMs;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of this.connections) connection.close('broker shutting down');
    this.connections.clear();
  }
}
