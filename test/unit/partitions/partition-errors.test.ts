/**
 * ownedPartition while the metadata session is disconnected: the broker may have been replaced
 * without knowing, so the log's claim is consulted (and only then).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ownedPartition } from '../../../plugins/kafka/partitions/partition-errors.js';
import {
  PartitionManager,
  type Partition,
} from '../../../plugins/kafka/partitions/partition-manager.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import type { ClusterView } from '../../../src/cluster/types.js';
import { MemoryMetadataTree } from '../../../src/metadata/index.js';
import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import { TopicRegistry } from '../../../src/topics/topic-registry.js';

const TOPIC = 'persistent://public/default/cut-off';

describe('ownedPartition', () => {
  let registry: TopicRegistry | undefined;
  afterEach(() => registry?.stop());

  const setUp = async () => {
    registry = new TopicRegistry(new MemoryMetadataTree().newSession(), pino({ level: 'silent' }));
    await registry.start();
    await registry.create(TOPIC, 1);
    const session = { connected: true };
    const cluster = {
      brokerId: 1,
      ownerOf: () => ({ brokerId: 1, epoch: 3 }),
      ownsNow: () => true,
      connected: () => session.connected,
      recordEpochStart: async () => undefined,
    } as unknown as ClusterView;
    const store = new MemoryMessageStore();
    const partitions = new PartitionManager(store, registry, cluster, pino({ level: 'silent' }));
    const owned = () =>
      ownedPartition(partitions, cluster, TOPIC, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    return { session, store, owned };
  };

  it('answers NOT_LEADER_OR_FOLLOWER when, cut off, it finds its claim taken', async () => {
    const { session, owned } = await setUp();
    const partition = (await owned()) as Partition;
    expect(partition.epoch).toBe(3);
    const stillClaimed = vi.spyOn(partition.log, 'stillClaimed');

    // Connected: the store is not asked (no stat on the request path).
    expect(await owned()).toBe(partition);
    expect(stillClaimed).not.toHaveBeenCalled();

    session.connected = false;
    expect(await owned()).toBe(partition);
    expect(stillClaimed).toHaveBeenCalledTimes(1);
    stillClaimed.mockReturnValue(false);
    expect(await owned()).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('answers NOT_LEADER_OR_FOLLOWER for a log another owner claimed', async () => {
    const { store, owned } = await setUp();
    const partition = (await owned()) as Partition;
    await store.openLog({ topic: TOPIC, partition: 0 }, undefined, { epoch: 4 });
    expect(partition.log.isFenced()).toBe(true);
    expect(await owned()).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});
