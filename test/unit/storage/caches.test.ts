import { describe, expect, it } from 'vitest';
import { GroupSync } from '../../../src/storage/group-sync.js';
import { MemoryBudget } from '../../../src/storage/memory-budget.js';
import { TailCache } from '../../../src/storage/tail-cache.js';
import { decodeBatches, makeBatch, makeBatches } from '../../helpers/record-batches.js';

/** `n` one-record batches at offsets from `base`, as one append buffer. */
function appended(base: number, n: number): Buffer {
  const buf = makeBatches(Array.from({ length: n }, () => ({})));
  for (let i = 0; i < n; i++) buf.writeBigInt64BE(BigInt(base + i), i * makeBatch().length);
  return buf;
}

const SIZE = makeBatch().length;

describe('MemoryBudget', () => {
  it('evicts the least recently used first', () => {
    const budget = new MemoryBudget(100);
    const evicted: string[] = [];
    const item = (name: string) => ({ evict: () => evicted.push(name) });
    const [a, b, c] = [item('a'), item('b'), item('c')];
    budget.charge(a, 40);
    budget.charge(b, 40);
    budget.touch(a);
    budget.charge(c, 40);
    expect(evicted).toEqual(['b']);
    expect(budget.usedBytes).toBe(80);
    budget.release(a);
    expect(budget.usedBytes).toBe(40);
  });
});

describe('TailCache', () => {
  it('serves whole batches from the recent appends', () => {
    const cache = new TailCache(new MemoryBudget(1 << 20), 1 << 20);
    cache.add(appended(0, 3), 0, 3);
    cache.add(appended(3, 2), 3, 5);
    expect(cache.read(5, 1e6, true)).toBeNull();
    expect(decodeBatches(cache.read(1, 1e6, true)!).map((b) => b.baseOffset)).toEqual([1, 2, 3, 4]);
    expect(decodeBatches(cache.read(2, 2 * SIZE, false)!).map((b) => b.baseOffset)).toEqual([2, 3]);
    expect(cache.read(2, SIZE - 1, false)!.length).toBe(0);
    expect(decodeBatches(cache.read(2, 1, true)!).map((b) => b.baseOffset)).toEqual([2]);
  });

  it('stays contiguous: a gap or an oversized append empties it', () => {
    const cache = new TailCache(new MemoryBudget(1 << 20), 4 * SIZE);
    cache.add(appended(0, 2), 0, 2);
    cache.add(appended(5, 1), 5, 6);
    expect(cache.read(0, 1e6, true)).toBeNull();
    expect(cache.read(5, 1e6, true)).not.toBeNull();
    cache.add(appended(6, 5), 6, 11);
    expect(cache.read(5, 1e6, true)).toBeNull();
    expect(cache.cachedBytes).toBe(0);
  });

  it('keeps within its own bound and the shared budget, oldest appends first', () => {
    const budget = new MemoryBudget(5 * SIZE);
    const one = new TailCache(budget, 3 * SIZE);
    const two = new TailCache(budget, 3 * SIZE);
    for (let i = 0; i < 5; i++) one.add(appended(i, 1), i, i + 1);
    expect(one.cachedBytes).toBe(3 * SIZE);
    expect(one.read(1, 1e6, true)).toBeNull();
    two.add(appended(0, 1), 0, 1);
    two.add(appended(1, 1), 1, 2);
    two.add(appended(2, 1), 2, 3);
    expect(budget.usedBytes).toBeLessThanOrEqual(5 * SIZE);
    expect(one.cachedBytes).toBe(2 * SIZE); // lost its oldest to the budget
    expect(decodeBatches(one.read(3, 1e6, true)!).map((b) => b.baseOffset)).toEqual([3, 4]);
    one.clear();
    expect(budget.usedBytes).toBe(3 * SIZE);
  });

  it('copies only batches that would pin a much larger buffer', () => {
    const cache = new TailCache(new MemoryBudget(1 << 20), 1 << 20);
    const socketChunk = Buffer.alloc(64 * 1024);
    appended(0, 1).copy(socketChunk, 100);
    const view = socketChunk.subarray(100, 100 + SIZE);
    cache.add(view, 0, 1);
    const exact = Buffer.allocUnsafeSlow(SIZE);
    appended(1, 1).copy(exact);
    cache.add(exact, 1, 2);
    const first = cache.read(0, 1, true)!;
    expect(first.buffer).not.toBe(socketChunk.buffer);
    expect(cache.read(1, 1, true)!.buffer).toBe(exact.buffer);
  });
});

describe('GroupSync', () => {
  it('shares fsyncs between concurrent callers', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const group = new GroupSync(
      () =>
        new Promise<void>((resolve) => {
          calls++;
          release = resolve;
        }),
    );
    const first = group.sync();
    const waiting = [group.sync(), group.sync(), group.sync()];
    expect(calls).toBe(1);
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2); // one more for everyone who asked while the first ran
    release();
    await Promise.all(waiting);
    expect(calls).toBe(2);
  });

  it('reports a failed fsync to the callers that shared it', async () => {
    const group = new GroupSync(() => Promise.reject(new Error('EIO')));
    await expect(Promise.all([group.sync(), group.sync()])).rejects.toThrow('EIO');
    await expect(group.sync()).rejects.toThrow('EIO');
  });
});
