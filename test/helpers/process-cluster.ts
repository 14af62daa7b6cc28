/**
 * The README's cluster recipe, run for real: a ZooKeeper server and `koppa broker` processes that
 * share one data directory and one config file, each on a fixed loopback port so that clients
 * keep their bootstrap list across restarts. Tests stop, kill -9, pause and restart brokers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess, freePort } from './broker-process.js';
import { waitFor } from './wait.js';
import { startZooKeeper, type ZooKeeperServer } from './zookeeper.js';

export interface ProcessClusterOptions {
  /** Default 3. */
  brokers?: number;
  /** zooKeeperSessionTimeoutMillis: how long a dead broker holds its partitions. Default 6 s. */
  sessionTimeoutMs?: number;
  /** More lines for the shared config file. */
  settings?: Record<string, string | number>;
}

export class ProcessCluster {
  /** Each broker's Kafka port, by broker id. */
  readonly ports: number[];
  /** Each broker's HTTP port (`/metrics`, `/healthz`), by broker id. */
  readonly httpPorts: number[];
  readonly sessionTimeoutMs: number;
  private readonly processes: (BrokerProcess | null)[];
  /** Every run of each broker, for its whole output. */
  private readonly runs: BrokerProcess[][];

  private constructor(
    readonly zk: ZooKeeperServer,
    private readonly dir: string,
    private readonly configFile: string,
    ports: number[],
    httpPorts: number[],
    sessionTimeoutMs: number,
  ) {
    this.ports = ports;
    this.httpPorts = httpPorts;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.processes = ports.map(() => null);
    this.runs = ports.map(() => []);
  }

  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const count = options.brokers ?? 3;
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 6000;
    const zk = await startZooKeeper();
    const dir = await mkdtemp(join(tmpdir(), 'koppa-processes-'));
    const configFile = join(dir, 'broker.conf');
    const settings: Record<string, string | number> = {
      metadataStoreUrl: `zk:${zk.connectString}/koppa`,
      dataDir: join(dir, 'data'),
      zooKeeperSessionTimeoutMillis: sessionTimeoutMs,
      ...options.settings,
    };
    await writeFile(
      configFile,
      Object.entries(settings)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    const ports: number[] = [];
    const httpPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      ports.push(await freePort());
      httpPorts.push(await freePort());
    }
    const cluster = new ProcessCluster(zk, dir, configFile, ports, httpPorts, sessionTimeoutMs);
    try {
      await Promise.all(ports.map((_, id) => cluster.startBroker(id)));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  get bootstrap(): string[] {
    return this.ports.map((port) => `127.0.0.1:${port}`);
  }

  /** Starts broker `id` and resolves once it has joined the cluster. */
  async startBroker(id: number): Promise<void> {
    const broker = new BrokerProcess([
      'broker',
      '--config',
      this.configFile,
      '--broker-id',
      String(id),
      '--listen',
      `127.0.0.1:${this.ports[id]}`,
      '--http-port',
      String(this.httpPorts[id]),
    ]);
    this.processes[id] = broker;
    this.runs[id].push(broker);
    // After a kill -9 the old session holds the id until it expires; joining waits that long.
    const timeoutMs = this.sessionTimeoutMs + 30_000;
    await broker.start(timeoutMs);
    await waitFor(
      `broker ${id} to join the cluster`,
      () => broker.output.includes('joined the cluster'),
      timeoutMs,
    );
  }

  /** Stops broker `id` with `signal` (SIGTERM: gracefully; SIGKILL: kill -9). */
  async stopBroker(id: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const broker = this.processes[id];
    this.processes[id] = null;
    if (!broker) return null;
    return broker.stop(signal);
  }

  pause(id: number): void {
    this.processes[id]?.pause();
  }

  resume(id: number): void {
    this.processes[id]?.resume();
  }

  isRunning(id: number): boolean {
    return this.processes[id] !== null;
  }

  /** Everything broker `id` printed, over all its runs. */
  output(id: number): string {
    return this.runs[id].map((run) => run.output).join('');
  }

  async close(): Promise<void> {
    for (const broker of this.processes) broker?.resume();
    await Promise.all(this.processes.map((_, id) => this.stopBroker(id, 'SIGKILL')));
    await this.zk.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
