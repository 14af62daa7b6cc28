/**
 * TCP listeners for the Kafka protocol, and the connections they accept. Listening starts before
 * requests may be served (the broker must advertise its real ports to join the cluster): sockets
 * accepted meanwhile wait unread, as on a Kafka broker still starting, and are served from then.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ListenerInfo, Logger } from '../../../src/api/index.js';
import type { Listener } from '../config.js';
import { KafkaConnection, type ConnectionOptions } from './connection.js';

export class KafkaServer {
  private readonly servers: Server[] = [];
  private readonly connections = new Set<KafkaConnection>();
  private readonly stopping = new AbortController();
  private readonly connectionOptions: ConnectionOptions;
  private nextConnectionId = 1;
  /** Sockets accepted before requests may be served, with their listener's index. */
  private waiting: Map<Socket, number> | null = new Map();

  constructor(
    options: Omit<ConnectionOptions, 'stopSignal'>,
    private readonly logger: Logger,
    /** Resolves when requests may be served (the broker joined its cluster). */
    ready: Promise<void>,
  ) {
    this.connectionOptions = { ...options, stopSignal: this.stopping.signal };
    void ready.then(() => {
      const waiting = this.waiting ?? new Map<Socket, number>();
      this.waiting = null;
      for (const [socket, listenerIndex] of waiting) {
        if (socket.destroyed) continue;
        this.serve(socket, listenerIndex);
        socket.resume();
      }
    });
  }

  async listen(listeners: Listener[]): Promise<ListenerInfo[]> {
    const bound: ListenerInfo[] = [];
    for (const [listenerIndex, listener] of listeners.entries()) {
      const server = createServer((socket) => {
        // Counted from the accept, also while it waits for the broker to join.
        const { metrics } = this.connectionOptions;
        metrics.connectionOpened();
        socket.once('close', () => metrics.connectionClosed());
        if (!this.waiting) return this.serve(socket, listenerIndex);
        socket.pause();
        socket.on('error', () => socket.destroy()); // a reset while it waits: nothing to log
        this.waiting.set(socket, listenerIndex);
        socket.once('close', () => this.waiting?.delete(socket));
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

  private serve(socket: Socket, listenerIndex: number): void {
    const connection = new KafkaConnection(
      socket,
      this.nextConnectionId++,
      listenerIndex,
      this.connectionOptions,
    );
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  /** Stops accepting, lets in-flight requests finish for up to `drainMs`, then closes every connection. */
  async stop(drainMs: number): Promise<void> {
    this.stopping.abort();
    for (const server of this.servers) server.close();
    for (const socket of this.waiting?.keys() ?? []) socket.destroy();
    this.waiting = null;
    const deadline = Date.now() + drainMs;
    while ([...this.connections].some((c) => c.inFlight > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of this.connections) connection.close('broker shutting down');
    this.connections.clear();
  }
}
