/**
 * ownedPartition while the metadata session is disconnected: the broker may have been replaced
 * without knowing, so the log's claim is consulted (and only then). And the errors a client
 * gets when the store fails a request.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ownedPartition,
  storageErrorCode,
} from '../../../plugins/kafka/partitions/partition-errors.js';
import {
  PartitionManager,
  type Partition,
} from '../../../plugins/kafka/partitions/partition-manager.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import type { ClusterView } from '../../../src/cluster/types.js';
import { MemoryMetadataTree } from '../../../src/metadata/index.js';
import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import { FencedError, LogClosedError } from '../../../src/storage/types.js';
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

describe('storageErrorCode', () => {
  it('tells a log closed with its deleted topic from one handed to another broker', () => {
    const closed = new LogClosedError({ topic: TOPIC, partition: 0 });
    expect(storageErrorCode(closed, false)).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(storageErrorCode(closed, true)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(storageErrorCode(new FencedError({ topic: TOPIC, partition: 0 }, 3, 4), true)).toBe(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    expect(storageErrorCode(new Error('EIO'), true)).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  });
});
