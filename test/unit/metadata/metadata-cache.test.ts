import { describe, expect, it } from 'vitest';
import {
  MemoryMetadataTree,
  MetadataCache,
  parseZooKeeperUrl,
  type MetadataStore,
  type SessionEvent,
} from '../../../src/metadata/index.js';

/** Counts the reads that reach the store, and can hold one back until released. */
function counting(store: MetadataStore) {
  const reads: string[] = [];
  let hold: { path: string; release?: () => void } | undefined;
  const sessionListeners = new Set<(e: SessionEvent) => void>();
  const wrapped: MetadataStore = {
    get: async (path) => {
      reads.push(path);
      const result = await store.get(path);
      if (hold?.path === path) {
        const h = hold;
        hold = undefined;
        await new Promise<void>((resolve) => (h.release = resolve));
      }
      return result;
    },
    put: (path, value, options) => store.put(path, value, options),
    delete: (path, expectedVersion) => store.delete(path, expectedVersion),
    deleteRecursive: (path) => store.deleteRecursive(path),
    exists: (path) => store.exists(path),
    children: (path) => store.children(path),
    onNotification: (listener) => store.onNotification(listener),
    unwatch: (path) => store.unwatch(path),
    onSessionEvent: (listener) => {
      sessionListeners.add(listener);
      return () => sessionListeners.delete(listener);
    },
    close: () => store.close(),
  };
  return {
    store: wrapped,
    reads,
    holdNext(path: string) {
      const h: { path: string; release?: () => void } = { path };
      hold = h;
      return () => h.release?.();
    },
    session(event: SessionEvent) {
      for (const listener of sessionListeners) listener(event);
    },
  };
}

describe('metadata cache', () => {
  it('reads through once, and reads again after a change to the path', async () => {
    const tree = new MemoryMetadataTree();
    const writer = tree.newSession();
    const { store, reads } = counting(tree.newSession());
    const cache = new MetadataCache(store);
    await writer.put('/a', Buffer.from('1'));

    expect((await cache.get('/a'))?.value.toString()).toBe('1');
    expect((await cache.get('/a'))?.value.toString()).toBe('1');
    expect(reads).toEqual(['/a']);
    expect(cache.peek('/a')?.stat.version).toBe(0);

    await writer.put('/a', Buffer.from('2'));
    expect(cache.peek('/a')).toBeUndefined();
    expect((await cache.get('/a'))?.value.toString()).toBe('2');
    expect(reads).toEqual(['/a', '/a']);

    await writer.delete('/a');
    expect(await cache.get('/a')).toBeNull();
    expect(await cache.get('/a')).toBeNull();
    expect(reads).toEqual(['/a', '/a', '/a']);

    await writer.put('/a', Buffer.from('3'));
    expect((await cache.get('/a'))?.value.toString()).toBe('3');
    // A change to a child does not drop its parent's value.
    await writer.put('/a/child', Buffer.alloc(0));
    expect(cache.peek('/a')?.value.toString()).toBe('3');
    cache.close();
  });

  it('shares one read among concurrent callers', async () => {
    const tree = new MemoryMetadataTree();
    const { store, reads } = counting(tree.newSession());
    const cache = new MetadataCache(store);
    const results = await Promise.all([cache.get('/x'), cache.get('/x'), cache.get('/x')]);
    expect(results).toEqual([null, null, null]);
    expect(reads).toEqual(['/x']);
  });

  it('does not cache a read that raced with a change', async () => {
    const tree = new MemoryMetadataTree();
    const writer = tree.newSession();
    const counted = counting(tree.newSession());
    const cache = new MetadataCache(counted.store);
    await writer.put('/r', Buffer.from('old'));
    const release = counted.holdNext('/r');
    const pending = cache.get('/r');
    await new Promise((r) => setImmediate(r));
    await writer.put('/r', Buffer.from('new'));
    release();
    expect((await pending)?.value.toString()).toBe('old');
    expect(cache.peek('/r')).toBeUndefined();
    expect((await cache.get('/r'))?.value.toString()).toBe('new');
  });

  it('drops everything when a session comes back, and keeps at most maxEntries', async () => {
    const tree = new MemoryMetadataTree();
    const counted = counting(tree.newSession());
    const cache = new MetadataCache(counted.store, { maxEntries: 2 });
    await cache.get('/1');
    await cache.get('/2');
    await cache.get('/1');
    await cache.get('/3');
    expect(cache.size).toBe(2);
    expect(cache.peek('/2')).toBeUndefined();
    expect(cache.peek('/1')).toBeNull();
    counted.session('disconnected');
    expect(cache.size).toBe(2);
    counted.session('reconnected');
    expect(cache.size).toBe(0);
    cache.close();
  });
});

describe('ZooKeeper urls', () => {
  it('parses hosts and chroot', () => {
    expect(parseZooKeeperUrl('zk:127.0.0.1:2181')).toEqual({ hosts: '127.0.0.1:2181', chroot: '' });
    expect(parseZooKeeperUrl('zk:a:1,b:2,c/koppa/prod')).toEqual({
      hosts: 'a:1,b:2,c',
      chroot: '/koppa/prod',
    });
    expect(parseZooKeeperUrl('zk://h:2181/')).toEqual({ hosts: 'h:2181', chroot: '' });
    for (const bad of ['zk:', 'zk:h:0', 'zk:h:99999', 'zk:h:1,,h:2', 'zk:h:1/a//b', 'memory:']) {
      expect(() => parseZooKeeperUrl(bad), bad).toThrow();
    }
  });

  it('the in-memory store tells no session events', async () => {
    const store = new MemoryMetadataTree().newSession();
    const events: SessionEvent[] = [];
    const unsubscribe = store.onSessionEvent((e) => events.push(e));
    await store.put('/x', Buffer.alloc(0), { ephemeral: true });
    await store.close();
    unsubscribe();
    expect(events).toEqual([]);
  });
});
