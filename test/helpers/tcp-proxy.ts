/**
 * A loopback TCP proxy in front of a broker that can cut every connection through it, to
 * break client connections mid-stream. Clients find it because the broker advertises it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  targetPort = 0;
  port = 0;
  /** Client-to-broker bytes forwarded so far. */
  forwardedBytes = 0;
  cuts = 0;

  /** Listens on `port` (0: any free port); resolves with the port. */
  async listen(port = 0): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.on('data', (d: Buffer) => {
        this.forwardedBytes += d.length;
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => client.write(d));
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /** Destroys every open connection through the proxy. */
  cutAll(): number {
    let n = 0;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
      n++;
    }
    this.pairs.clear();
    this.cuts++;
    return n;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
