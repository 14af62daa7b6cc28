/**
 * The Kafka handler's teardown after an initialize that failed once the group-id mapping was
 * built: the mapping's reconciler stops at once, and stop() completes.
 */
import { describe, expect, it } from 'vitest';
import { KafkaProtocolHandler } from '../../../plugins/kafka/kafka-protocol-handler.js';
import { parseHostConfig } from '../../../src/config/host-config.js';
import { DeferredClusterView } from '../../../src/host/deferred-cluster.js';
import { createPeerClient } from '../../../src/http/peers.js';
import type { HostContext } from '../../../src/host/protocol-handler.js';
import { MemoryMetadataTree, MetadataUnavailableError } from '../../../src/metadata/index.js';
import { createHostMetrics } from '../../../src/metrics/host-metrics.js';
import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import { TopicRegistry } from '../../../src/topics/topic-registry.js';
import { FaultyStore, logger } from './helpers.js';

describe('the Kafka handler', () => {
  it('stops cleanly, reconciler included, after an initialize that failed past the mapping', async () => {
    const store = new FaultyStore(new MemoryMetadataTree().newSession());
    // The cluster id is read after the mapping is built: that read fails.
    const get = store.get.bind(store);
    store.get = (path, options) =>
      path === '/koppa/kafka/cluster-id'
        ? Promise.reject(new MetadataUnavailableError('no ZooKeeper'))
        : get(path, options);
    const topics = new TopicRegistry(store, logger);
    await topics.start();
    const rawConfig = { groupIdReconcileIntervalMs: 20, groupIdReconcileOpsPerSecond: 1000 };
    const cluster = new DeferredClusterView(1);
    const host: HostContext = {
      brokerId: 1,
      clusterName: 'test',
      rawConfig,
      hostConfig: parseHostConfig({}),
      logger,
      messageStore: new MemoryMessageStore(),
      metadataStore: store,
      topics,
      cluster,
      joined: new Promise(() => undefined),
      metrics: createHostMetrics(),
      http: { get: () => undefined, post: () => undefined },
      peers: createPeerClient(cluster),
      isShuttingDown: () => false,
    };
    const handler = new KafkaProtocolHandler();
    await expect(handler.initialize(host)).rejects.toThrow(/no ZooKeeper/);
    // No reconciler pass lists the mapping's nodes any more, stop() or not.
    store.calls.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.calls.filter((c) => c === 'children')).toEqual([]);
    await handler.stop();
    topics.stop();
  });
});
