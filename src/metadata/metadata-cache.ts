/**
 * A read-through cache of node values over any MetadataStore, invalidated by the store's
 * notifications (Pulsar's MetadataCache in spirit, values only).
 *
 * `get` answers from the cache or reads the store and caches the answer, absence included;
 * a `created`, `modified` or `deleted` notification for a path drops its entry, so the next `get`
 * reads again. Reading a path through the store is what makes a ZooKeeper store watch it, so
 * every cached path is watched. A read that was in flight when its path changed is not cached.
 * After a session comes back (`reconnected`) everything is dropped, since changes made while no
 * session existed may not have been seen. Cached buffers are shared: do not modify them.
 */
import type { GetResult, MetadataStore } from './types.js';

export interface MetadataCacheOptions {
  /** Most entries kept; the least recently used go first. Default 10 000. */
  maxEntries?: number;
}

interface Loading {
  promise: Promise<GetResult | null>;
  /** Set when the path changed while the read was in flight: its answer is not cached. */
  stale: boolean;
}

export class MetadataCache {
  private readonly entries = new Map<string, GetResult | null>();
  private readonly loading = new Map<string, Loading>();
  private readonly maxEntries: number;
  private readonly unsubscribers: (() => void)[];

  constructor(
    private readonly store: MetadataStore,
    options: MetadataCacheOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.unsubscribers = [
      store.onNotification((n) => {
        if (n.type !== 'children-changed') this.invalidate(n.path);
      }),
      store.onSessionEvent((event) => {
        if (event === 'reconnected') this.clear();
      }),
    ];
  }

  /** The node's value and stat, or null if it does not exist; from the cache when possible. */
  get(path: string): Promise<GetResult | null> {
    const cached = this.entries.get(path);
    if (cached !== undefined) {
      // Most recently used goes last.
      this.entries.delete(path);
      this.entries.set(path, cached);
      return Promise.resolve(cached);
    }
    const inFlight = this.loading.get(path);
    if (inFlight) return inFlight.promise;
    const loading: Loading = { promise: Promise.resolve(null), stale: false };
    loading.promise = this.load(path, loading);
    this.loading.set(path, loading);
    const settled = (): void => {
      if (this.loading.get(path) === loading) this.loading.delete(path);
    };
    loading.promise.then(settled, settled);
    return loading.promise;
  }

  /** The cached answer without reading: undefined when the path is not cached. */
  peek(path: string): GetResult | null | undefined {
    return this.entries.get(path);
  }

  invalidate(path: string): void {
    this.entries.delete(path);
    const inFlight = this.loading.get(path);
    if (inFlight) {
      inFlight.stale = true;
      this.loading.delete(path);
    }
  }

  clear(): void {
    this.entries.clear();
    for (const inFlight of this.loading.values()) inFlight.stale = true;
    this.loading.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Stops following the store's notifications and drops everything. */
  close(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.clear();
  }

  private async load(path: string, loading: Loading): Promise<GetResult | null> {
    const result = await this.store.get(path);
    if (!loading.stale) {
      this.entries.set(path, result);
      while (this.entries.size > this.maxEntries) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
      }
    }
    return result;
  }
}
