/**
 * A broker on a real ZooKeeper shows its metadata store on `/metrics`: how long its operations
 * take (the histogram has counts for what joining the cluster and creating a topic did), that it
 * is connected, that it is not while ZooKeeper cannot be reached (a proxy cut in front of it),
 * and the operations that failed meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BrokerService } from '../../src/host/broker-service.js';
import { scrape, type Sample } from '../helpers/prometheus-text.js';
import { RawConnection } from '../helpers/raw-client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HISTOGRAM = 'koppa_metadata_store_operation_duration_seconds';

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe('metadata store metrics on ZooKeeper', () => {
  let zk: ZooKeeperServer;
  let proxy: TcpProxy;
  let broker: BrokerService;
  let dataDir: string;

  beforeAll(async () => {
    zk = await startZooKeeper();
    proxy = new TcpProxy();
    proxy.targetPort = zk.port;
    await proxy.listen();
    dataDir = await mkdtemp(join(tmpdir(), 'koppa-zk-metrics-'));
    broker = await BrokerService.start(
      {
        brokerId: 0,
        dataDir,
        metadataStoreUrl: `zk:127.0.0.1:${proxy.port}/koppa-metadata-metrics`,
        kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
        webServicePort: 0,
        logFenceGraceMs: 0,
        // Long enough that the cut below is a disconnection, never a presumed expiry.
        zooKeeperSessionTimeoutMillis: 30_000,
        metadataStoreOperationTimeoutSeconds: 1,
      },
      { logger: pino({ level: process.env.KOPPA_TEST_LOG_LEVEL ?? 'silent' }) },
    );
  }, 60_000);
  afterAll(async () => {
    proxy.targetPort = zk.port;
    await broker?.stop();
    await proxy?.close();
    await zk?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('times its operations, and says whether it is connected', async () => {
    const conn = await RawConnection.open(broker.listeners[0].port);
    expect(await conn.createTopic('zk-metrics', 2)).toBe(0);
    conn.close();
    const port = broker.httpPort!;
    const connected = async () => value(await scrape(port), 'koppa_metadata_store_connected');

    const before = await scrape(port);
    expect(value(before, 'koppa_metadata_store_connected')).toBe(1);
    // Joining the cluster and creating the topic read and wrote ZooKeeper.
    for (const operation of ['get', 'put', 'children']) {
      const count = value(before, `${HISTOGRAM}_count`, { operation });
      expect(count, operation).toBeGreaterThan(0);
      expect(value(before, `${HISTOGRAM}_bucket`, { operation, le: '+Inf' })).toBe(count);
      expect(value(before, `${HISTOGRAM}_sum`, { operation })).toBeGreaterThan(0);
    }
    expect(value(before, 'koppa_metadata_store_operation_failures_total')).toBe(0);

    // ZooKeeper out of reach: the store is disconnected, and an operation times out (1 s).
    proxy.targetPort = 1;
    proxy.cutAll();
    await waitFor('disconnected', async () => (await connected()) === 0, 10_000);
    await expect(broker.metadataStore.get('/anything')).rejects.toThrow();
    const during = await scrape(port);
    expect(
      value(during, 'koppa_metadata_store_operation_failures_total', { operation: 'get' }),
    ).toBeGreaterThanOrEqual(1);

    proxy.targetPort = zk.port;
    await waitFor('connected again', async () => (await connected()) === 1, 20_000);
  });
});
