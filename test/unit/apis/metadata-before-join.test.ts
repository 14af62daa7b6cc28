/**
 * Metadata while the broker listens but has not joined the cluster yet: it names itself (so
 * clients have a broker to retry against) and no partition has a leader (LEADER_NOT_AVAILABLE,
 * retriable); once joined, the cluster's view takes over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { metadataHandler } from '../../../plugins/kafka/apis/metadata.js';
import type { RequestContext } from '../../../plugins/kafka/apis/api-handler.js';
import type { KafkaBrokerContext } from '../../../plugins/kafka/broker-context.js';
import { ApiKey, ErrorCode, type MetadataResponse } from '../../../plugins/kafka/protocol/index.js';
import { TopicNamer } from '../../../plugins/kafka/topics/topic-names.js';
import type { BrokerInfo, ClusterView } from '../../../src/cluster/types.js';
import { DeferredClusterView } from '../../../src/host/deferred-cluster.js';
import { MemoryMetadataTree } from '../../../src/metadata/index.js';
import { TopicRegistry } from '../../../src/topics/topic-registry.js';
import { pino } from 'pino';

const SELF: BrokerInfo = {
  brokerId: 7,
  rack: 'r1',
  protocols: { kafka: 'PLAINTEXT://127.0.0.1:19092' },
  httpPort: null,
};

describe('Metadata before the broker joined the cluster', () => {
  let registry: TopicRegistry | undefined;
  afterEach(() => registry?.stop());

  const ask = async (view: ClusterView) => {
    const store = new MemoryMetadataTree().newSession();
    registry = new TopicRegistry(store, pino({ level: 'silent' }));
    await registry.start();
    await registry.create('persistent://public/default/early', 2);
    const broker = {
      host: { cluster: view },
      namer: new TopicNamer('public', 'default', 'public', '__kafka'),
      topics: registry,
      clusterId: 'cluster',
    } as unknown as KafkaBrokerContext;
    const context = { apiKey: ApiKey.Metadata, apiVersion: 12, listenerIndex: 0 } as RequestContext;
    return (await metadataHandler(broker).handle(
      { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
      context,
    )) as MetadataResponse;
  };

  it('names this broker and no leader while the view is not bound', async () => {
    const view = new DeferredClusterView(7);
    view.showSelf(SELF);
    const response = await ask(view);
    expect(response.brokers).toEqual([{ nodeId: 7, host: '127.0.0.1', port: 19092, rack: 'r1' }]);
    expect(response.controllerId).toBe(7);
    expect(response.topics).toHaveLength(1);
    expect(response.topics[0]).toMatchObject({ name: 'early', errorCode: ErrorCode.NONE });
    for (const p of response.topics[0].partitions) {
      expect(p).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1 });
    }
  });

  it("answers with the cluster's brokers once bound", async () => {
    const view = new DeferredClusterView(7);
    view.showSelf(SELF);
    const other: BrokerInfo = { ...SELF, brokerId: 3, protocols: { kafka: 'PLAINTEXT://h:1' } };
    view.bind({
      brokerId: 7,
      liveBrokers: () => [other],
      broker: (id: number) => (id === 3 ? other : undefined),
      ownerOf: () => ({ brokerId: 3, epoch: 2 }),
    } as unknown as ClusterView);
    const response = await ask(view);
    expect(response.brokers).toEqual([{ nodeId: 3, host: 'h', port: 1, rack: 'r1' }]);
    expect(response.topics[0].partitions[0]).toMatchObject({ leaderId: 3, leaderEpoch: 2 });
  });
});
