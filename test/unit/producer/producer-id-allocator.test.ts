import { describe, expect, it } from 'vitest';
import { BadVersionError, type MetadataStore } from '../../../src/metadata/types.js';
import { MemoryMetadataTree } from '../../../src/metadata/memory-store.js';
import {
  PRODUCER_ID_BLOCK_PATH,
  ProducerIdAllocator,
} from '../../../plugins/kafka/producer/producer-id-allocator.js';

/** Counts the compare-and-set conflicts a store reports, and can fail puts on demand. */
function instrumented(store: MetadataStore, failPut?: (attempt: number) => Error | undefined) {
  const counts = { puts: 0, conflicts: 0 };
  const wrapped: MetadataStore = {
    get: (path) => store.get(path),
    put: async (path, value, options) => {
      counts.puts++;
      const injected = failPut?.(counts.puts);
      if (injected) throw injected;
      try {
        return await store.put(path, value, options);
      } catch (err) {
        if (err instanceof BadVersionError) counts.conflicts++;
        throw err;
      }
    },
    delete: (path, expectedVersion) => store.delete(path, expectedVersion),
    deleteRecursive: (path) => store.deleteRecursive(path),
    exists: (path) => store.exists(path),
    children: (path) => store.children(path),
    onNotification: (listener) => store.onNotification(listener),
    unwatch: (path) => store.unwatch(path),
    onSessionEvent: (listener) => store.onSessionEvent(listener),
    close: () => store.close(),
  };
  return { store: wrapped, counts };
}

async function blockNode(store: MetadataStore): Promise<unknown> {
  const node = await store.get(PRODUCER_ID_BLOCK_PATH);
  return node && JSON.parse(node.value.toString());
}

async function take(allocator: ProducerIdAllocator, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(await allocator.nextProducerId());
  return ids;
}

describe('ProducerIdAllocator', () => {
  it('hands out consecutive ids from a reserved block of 1000', async () => {
    const store = new MemoryMetadataTree().newSession();
    const allocator = new ProducerIdAllocator(store);
    expect(await take(allocator, 3)).toEqual([0, 1, 2]);
    expect(await blockNode(store)).toEqual({ next: 1000 });
  });

  it('reserves the next block when one runs out', async () => {
    const store = new MemoryMetadataTree().newSession();
    const allocator = new ProducerIdAllocator(store, { blockSize: 3 });
    expect(await take(allocator, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await blockNode(store)).toEqual({ next: 9 });
  });

  it('never reuses an id after a restart: the rest of the old block is abandoned', async () => {
    const tree = new MemoryMetadataTree();
    const before = new ProducerIdAllocator(tree.newSession());
    expect(await take(before, 2)).toEqual([0, 1]);
    const after = new ProducerIdAllocator(tree.newSession());
    expect(await after.nextProducerId()).toBe(1000);
  });

  it('gives two brokers sharing a store disjoint ids, retrying on compare-and-set conflicts', async () => {
    const tree = new MemoryMetadataTree();
    const a = instrumented(tree.newSession());
    const b = instrumented(tree.newSession());
    const brokerA = new ProducerIdAllocator(a.store, { blockSize: 5 });
    const brokerB = new ProducerIdAllocator(b.store, { blockSize: 5 });

    const calls: Promise<number>[] = [];
    for (let i = 0; i < 100; i++) {
      calls.push(brokerA.nextProducerId(), brokerB.nextProducerId());
    }
    const ids = await Promise.all(calls);

    expect(new Set(ids).size).toBe(200);
    expect(Math.min(...ids)).toBe(0);
    expect(a.counts.conflicts + b.counts.conflicts).toBeGreaterThan(0);
    // Every block reserved was either used or is the current one of a broker: nothing skipped.
    expect(await blockNode(tree.newSession())).toEqual({ next: 200 });
  });

  it('shares one reservation between concurrent callers', async () => {
    const { store, counts } = instrumented(new MemoryMetadataTree().newSession());
    const allocator = new ProducerIdAllocator(store);
    const ids = await Promise.all(Array.from({ length: 50 }, () => allocator.nextProducerId()));
    expect(ids.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(counts.puts).toBe(1);
  });

  it('gives up after maxAttempts conflicts', async () => {
    const { store } = instrumented(
      new MemoryMetadataTree().newSession(),
      () => new BadVersionError(PRODUCER_ID_BLOCK_PATH),
    );
    const allocator = new ProducerIdAllocator(store, { maxAttempts: 3 });
    await expect(allocator.nextProducerId()).rejects.toBeInstanceOf(BadVersionError);
  });

  it('passes other store errors to the caller, and the next call tries again', async () => {
    const { store } = instrumented(new MemoryMetadataTree().newSession(), (attempt) =>
      attempt === 1 ? new Error('connection loss') : undefined,
    );
    const allocator = new ProducerIdAllocator(store);
    await expect(allocator.nextProducerId()).rejects.toThrow('connection loss');
    expect(await allocator.nextProducerId()).toBe(0);
  });

  it('refuses a malformed block node rather than guessing', async () => {
    const store = new MemoryMetadataTree().newSession();
    await store.put(PRODUCER_ID_BLOCK_PATH, Buffer.from('{"next":-4}'));
    await expect(new ProducerIdAllocator(store).nextProducerId()).rejects.toThrow(/malformed/);
    await store.put(PRODUCER_ID_BLOCK_PATH, Buffer.from('not json'));
    await expect(new ProducerIdAllocator(store).nextProducerId()).rejects.toThrow(/malformed/);
  });
});
