/** Topics created through one broker appear on another through ZooKeeper notifications. */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../src/metadata/index.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { TopicRegistry } from '../../src/topics/topic-registry.js';
import { startZooKeeper } from '../helpers/zookeeper.js';
import { waitFor } from '../helpers/wait.js';

describe('topic registry over ZooKeeper', () => {
  let zk: Awaited<ReturnType<typeof startZooKeeper>>;
  const stores: MetadataStore[] = [];

  beforeAll(async () => {
    zk = await startZooKeeper();
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await zk.stop();
  });

  it('follows topics created, grown and deleted by another broker', async () => {
    const logger = pino({ level: 'silent' });
    const registries: TopicRegistry[] = [];
    for (let i = 0; i < 2; i++) {
      const store = await openMetadataStore(`zk:${zk.connectString}/koppa-topics-test`);
      stores.push(store);
      const registry = new TopicRegistry(store, logger);
      await registry.start();
      registries.push(registry);
    }
    const [a, b] = registries;
    await a.create('persistent://public/default/first', 2);
    await a.create('persistent://acme/orders/second', 1);
    await waitFor('b to see both topics', () => b.list().length === 2);
    expect(b.get('persistent://acme/orders/second')?.partitions).toBe(1);
    await a.setPartitionCount('persistent://public/default/first', 5);
    await waitFor(
      'b to see the new partition count',
      () => b.get('persistent://public/default/first')?.partitions === 5,
    );
    await a.delete('persistent://acme/orders/second');
    await waitFor(
      'b to forget the deleted topic',
      () => b.get('persistent://acme/orders/second') === undefined,
    );
    for (const r of registries) r.stop();
  });
});
