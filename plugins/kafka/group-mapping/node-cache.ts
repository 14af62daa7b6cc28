/**
 * The broker-wide cache of mapping nodes, kept current by the metadata store's notifications, so
 * that the fetch path learns a client's groups without ever waiting on the store.
 *
 * - `get` answers at once from the cache; a client not cached yet is read in the background
 *   (which, on ZooKeeper, also watches its node) and answers `loading` until then. A node that
 *   leaves the cache is unwatched: a broker watches the nodes of the clients it serves, and the
 *   mapping's other reads (writes, the reconciler's scan, the sweep) watch nothing.
 * - A read that fails is retried with backoff (200 ms doubling to 5 s); meanwhile the last answer
 *   stands (or `loading` for a node never read).
 * - A change to a cached node (created, modified, deleted) reads it again; a new session after an
 *   expiry reads every node again, since changes made meanwhile may not have been notified.
 * - Listeners hear of every completed read (`onChange`); an answer that depends on time asks
 *   for a call at that time with `wakeAt`.
 * - Bounded: at most `maxEntries` nodes (the least recently used go first) and none idle for
 *   longer than `idleMs`, except those pinned (the coordinator's live members).
 */
import type { Logger, MetadataStore, Notification } from '../../../src/api/index.js';
import { decodeNode, type MappingNode } from './node-codec.js';
import { nodeName, nodePath } from './node-name.js';
import type { GroupMappingStats } from './stats.js';
import type { ClientKey } from './types.js';

export type NodeState =
  | { readonly kind: 'loading' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'present'; readonly node: MappingNode; readonly version: number };

const LOADING: NodeState = { kind: 'loading' };
const ABSENT: NodeState = { kind: 'absent' };

const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5000;
/** An entry used again after this long moves to the back of the eviction order. */
const TOUCH_EVERY_MS = 1000;

export class CachedNode {
  /** What the last completed read found. */
  state: NodeState = LOADING;
  /** Local time (ms) the state last changed. */
  changedAt = 0;
  /** The node was seen holding a group at some point while cached here. */
  sawGroup = false;
  /** Local time (ms) the node was found absent after having been present; -1 otherwise. */
  absentSince = -1;
  /** Local time (ms) the first read of the node completed; -1 before. */
  firstReadAt = -1;
  lastUsed: number;
  pins = 0;
  reading = false;
  /** A change was notified while a read was in flight: read again once it completes. */
  again = false;
  retryMs = 0;
  retryTimer?: NodeJS.Timeout;
  wakeTimer?: NodeJS.Timeout;
  wakeDue = 0;

  constructor(
    readonly name: string,
    readonly path: string,
    readonly client: ClientKey,
    now: number,
  ) {
    this.lastUsed = now;
  }
}

export interface MappingCacheOptions {
  store: MetadataStore;
  /** groupIdZooKeeperPath */
  root: string;
  logger: Logger;
  stats: GroupMappingStats;
  /** Default 100 000. */
  maxEntries?: number;
  /** Default 10 minutes. */
  idleMs?: number;
}

export class MappingCache {
  private readonly byName = new Map<string, CachedNode>();
  /** host → client id → node: the fetch path's lookup allocates nothing. */
  private readonly byHost = new Map<string, Map<string, CachedNode>>();
  private readonly listeners = new Set<(node: CachedNode) => void>();
  private readonly unsubscribers: (() => void)[];
  private readonly sweeper: NodeJS.Timeout;
  private readonly maxEntries: number;
  private readonly idleMs: number;
  private readonly prefix: string;
  private closed = false;
  private lastFailureLog = 0;

  constructor(private readonly options: MappingCacheOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.prefix = options.root === '/' ? '/' : `${options.root}/`;
    this.unsubscribers = [
      options.store.onNotification((n) => this.onNotification(n)),
      options.store.onSessionEvent((event) => {
        if (event === 'reconnected') for (const node of this.byName.values()) this.read(node);
      }),
    ];
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, this.idleMs / 2));
    this.sweeper.unref();
  }

  /** The client's node, read in the background first if it is not cached. */
  get(client: ClientKey): CachedNode {
    const node = this.byHost.get(client.clientHost)?.get(client.clientId);
    if (node !== undefined) {
      this.touch(node);
      return node;
    }
    return this.add(client);
  }

  /** The client's node if cached, without reading or touching it. */
  find(client: ClientKey): CachedNode | undefined {
    return this.byHost.get(client.clientHost)?.get(client.clientId);
  }

  /** Reads the node again now (after a write this broker did not see notified yet). */
  refresh(node: CachedNode): void {
    this.read(node);
  }

  /** Keeps the node cached (and watched) until unpinned. */
  pin(client: ClientKey): CachedNode {
    const node = this.get(client);
    node.pins++;
    return node;
  }

  unpin(node: CachedNode): void {
    if (node.pins > 0) node.pins--;
  }

  onChange(listener: (node: CachedNode) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the listeners about the node again at `at` (Date.now() ms), when an answer expires. */
  wakeAt(node: CachedNode, at: number): void {
    if (node.wakeTimer !== undefined && node.wakeDue <= at) return;
    clearTimeout(node.wakeTimer);
    node.wakeDue = at;
    node.wakeTimer = setTimeout(
      () => {
        node.wakeTimer = undefined;
        if (this.byName.get(node.name) === node) this.emit(node);
      },
      Math.max(0, at - Date.now()),
    );
    node.wakeTimer.unref();
  }

  get size(): number {
    return this.byName.size;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    for (const node of [...this.byName.values()]) this.remove(node);
    this.listeners.clear();
  }

  private add(client: ClientKey): CachedNode {
    const name = nodeName(client);
    const node = new CachedNode(name, nodePath(this.options.root, name), client, Date.now());
    this.byName.set(name, node);
    let ids = this.byHost.get(client.clientHost);
    if (ids === undefined) this.byHost.set(client.clientHost, (ids = new Map()));
    ids.set(client.clientId, node);
    this.read(node);
    if (this.byName.size > this.maxEntries) this.evict(this.byName.size - this.maxEntries);
    return node;
  }

  private touch(node: CachedNode): void {
    const now = Date.now();
    if (now - node.lastUsed > TOUCH_EVERY_MS) {
      this.byName.delete(node.name);
      this.byName.set(node.name, node);
    }
    node.lastUsed = now;
  }

  private onNotification(n: Notification): void {
    if (n.type === 'children-changed' || !n.path.startsWith(this.prefix)) return;
    const node = this.byName.get(n.path.slice(this.prefix.length));
    if (node !== undefined) this.read(node);
  }

  private read(node: CachedNode): void {
    if (this.closed) return;
    if (node.reading) {
      node.again = true;
      return;
    }
    node.reading = true;
    node.again = false;
    clearTimeout(node.retryTimer);
    node.retryTimer = undefined;
    const cached = () => !this.closed && this.byName.get(node.name) === node;
    this.options.store.get(node.path).then(
      (result) => {
        node.reading = false;
        if (!cached()) return;
        node.retryMs = 0;
        this.apply(node, result === null ? null : { node: decodeNode(result.value), ...result });
        if (node.again) this.read(node);
      },
      (err: unknown) => {
        node.reading = false;
        if (!cached()) return;
        this.options.stats.lookupFailures++;
        const now = Date.now();
        if (now - this.lastFailureLog > 10_000) {
          this.lastFailureLog = now;
          this.options.logger.warn({ err, path: node.path }, 'reading a group-id mapping failed');
        }
        if (node.again) {
          this.read(node);
          return;
        }
        node.retryMs = Math.min(Math.max(FIRST_RETRY_MS, node.retryMs * 2), MAX_RETRY_MS);
        node.retryTimer = setTimeout(() => this.read(node), node.retryMs);
        node.retryTimer.unref();
      },
    );
  }

  private apply(
    cached: CachedNode,
    read: { node: MappingNode; stat: { version: number } } | null,
  ): void {
    const now = Date.now();
    if (cached.firstReadAt < 0) cached.firstReadAt = now;
    const before = cached.state;
    const next: NodeState =
      read === null || read.node.groups.size === 0
        ? ABSENT
        : { kind: 'present', node: read.node, version: read.stat.version };
    if (next.kind === 'present') {
      cached.sawGroup = true;
      cached.absentSince = -1;
    } else if (before.kind === 'present') {
      cached.absentSince = now;
    }
    const changed =
      before.kind !== next.kind ||
      (before.kind === 'present' && next.kind === 'present' && before.version !== next.version);
    if (changed) cached.changedAt = now;
    cached.state = next;
    this.emit(cached);
  }

  private emit(node: CachedNode): void {
    for (const listener of this.listeners) {
      try {
        listener(node);
      } catch (err) {
        this.options.logger.error({ err }, 'group-id mapping listener failed');
      }
    }
  }

  private evict(count: number): void {
    let left = count;
    for (const node of this.byName.values()) {
      if (left <= 0) break;
      if (node.pins > 0) continue;
      this.remove(node);
      left--;
    }
  }

  private sweep(): void {
    const idleSince = Date.now() - this.idleMs;
    for (const node of [...this.byName.values()]) {
      if (node.pins === 0 && node.lastUsed < idleSince) this.remove(node);
    }
  }

  private remove(node: CachedNode): void {
    this.byName.delete(node.name);
    const ids = this.byHost.get(node.client.clientHost);
    ids?.delete(node.client.clientId);
    if (ids?.size === 0) this.byHost.delete(node.client.clientHost);
    clearTimeout(node.retryTimer);
    clearTimeout(node.wakeTimer);
    // Not cached, not watched: a broker watches only the nodes of the clients it serves.
    this.options.store.unwatch(node.path);
  }
}
