/** The partition manager opening many partitions at once, as a broker taking over does. */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PartitionManager } from '../../../plugins/kafka/partitions/partition-manager.js';
import type { ClusterView } from '../../../src/cluster/types.js';
import { MemoryMetadataTree } from '../../../src/metadata/index.js';
import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import type { TopicPartition } from '../../../src/storage/types.js';
import { TopicRegistry } from '../../../src/topics/topic-registry.js';

const TOPIC = 'persistent://public/default/takeover';
const PARTITIONS = 20;
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('PartitionManager', () => {
  let registry: TopicRegistry | undefined;
  afterEach(() => registry?.stop());

  it('replays the producer state of a bounded number of partitions at once', async () => {
    registry = new TopicRegistry(new MemoryMetadataTree().newSession(), pino({ level: 'silent' }));
    await registry.start();
    await registry.create(TOPIC, PARTITIONS);
    // The last step of an open: each waits until the test lets it finish.
    const recording: { tp: TopicPartition; done: () => void }[] = [];
    const cluster = {
      brokerId: 1,
      ownerOf: () => ({ brokerId: 1, epoch: 3 }),
      ownsNow: () => true,
      recordEpochStart: (tp: TopicPartition) =>
        new Promise<void>((resolve) => recording.push({ tp, done: resolve })),
    } as unknown as ClusterView;
    const partitions = new PartitionManager(
      new MemoryMessageStore(),
      registry,
      cluster,
      pino({ level: 'silent' }),
      { replayConcurrency: 3 },
    );

    for (let p = 0; p < PARTITIONS; p++) partitions.gained(TOPIC, p, 3);
    let finished = 0;
    while (finished < PARTITIONS) {
      await flush();
      const waiting = recording.length - finished;
      expect(waiting).toBe(Math.min(3, PARTITIONS - finished));
      recording[finished++].done();
    }
    const opened = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, p) => partitions.get(TOPIC, p)),
    );
    expect(opened.map((o) => o!.epoch)).toEqual(opened.map(() => 3));
  });
});
