/**
 * The `kop` policy (`groupIdLifecyclePolicy=kop`): the mapping's lifecycle as KoP had it, for
 * comparison and for deployments that depend on it. Writes are the same as the `coordinator`
 * policy's (same node, same format, FindCoordinator's bounded write); what differs:
 *
 * - Delete: when the connection that sent a FindCoordinator closes (for any reason: the client
 *   left, an idle close, this broker shutting down), the entries it wrote are removed from the
 *   node, whatever they hold by then (no guard), and the node when none is left. The group's
 *   coordinator deletes nothing and publishes no assignments.
 * - Read: the fetch path's first answer for a client on a connection, including "no group", is
 *   kept for the life of that connection. For a node with several groups, the most recently
 *   written (KoP kept one group per node: the last writer's).
 */
import type { Logger, MetadataStore } from '../../../src/api/index.js';
import { withoutGroup } from './node-codec.js';
import type { MappingCache } from './node-cache.js';
import { nodeName, nodePath } from './node-name.js';
import { UNCHANGED, updateNode } from './node-update.js';
import { latest } from './resolver.js';
import type { GroupMappingStats } from './stats.js';
import type { ClientKey, GroupResolver } from './types.js';

export interface KopPolicyOptions {
  store: MetadataStore;
  /** groupIdZooKeeperPath */
  root: string;
  cache: MappingCache;
  /** groupIdWriteTimeoutMs, also the bound of a delete. */
  timeoutMs: number;
  logger: Logger;
  stats: GroupMappingStats;
}

/** What one connection's FindCoordinators wrote into one node. */
interface Written {
  readonly client: ClientKey;
  readonly groupIds: Set<string>;
  /** The writes, settled before the delete starts. */
  settled: Promise<unknown>;
}

/**
 * A connection's close is remembered this long (longer than the fetch path keeps counts waiting
 * for an answer, 5 minutes, and asks again with the connection they came on), at most
 * MAX_CLOSED of them: a question about a closed connection is answered, and nothing is kept for
 * it.
 */
const CLOSED_MEMORY_MS = 10 * 60_000;
const MAX_CLOSED = 100_000;

export class KopPolicy implements GroupResolver {
  /** Connection id → client host → client id → the answer kept for the connection's life. */
  private readonly answers = new Map<number, Map<string, Map<string, string | null>>>();
  /** Connection id → node path → what its FindCoordinators wrote there. */
  private readonly written = new Map<number, Map<string, Written>>();
  /** Connections closed recently → when, oldest first. */
  private readonly closed = new Map<number, number>();
  /** Node path → its deletes, run one after the other. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly deletes = new Set<Promise<void>>();

  constructor(private readonly options: KopPolicyOptions) {}

  groupOf(client: ClientKey, connectionId: number): string | null | undefined {
    const ofConnection = this.answers.get(connectionId);
    const kept = ofConnection?.get(client.clientHost)?.get(client.clientId);
    if (kept !== undefined) return kept;
    const state = this.options.cache.get(client).state;
    if (state.kind === 'loading') return undefined;
    const answer =
      state.kind === 'absent' ? null : latest([...state.node.groups.keys()], state.node.groups);
    // A closed connection (the fetch path asking again for counts it kept) keeps nothing.
    if (this.closed.has(connectionId)) return answer;
    let byHost = ofConnection;
    if (byHost === undefined) this.answers.set(connectionId, (byHost = new Map()));
    let byId = byHost.get(client.clientHost);
    if (byId === undefined) byHost.set(client.clientHost, (byId = new Map()));
    byId.set(client.clientId, answer);
    return answer;
  }

  onChange(listener: (client: ClientKey) => void): () => void {
    return this.options.cache.onChange((node) => listener(node.client));
  }

  /** A FindCoordinator on this connection wrote (or is writing) these groups for the client. */
  recorded(
    connectionId: number,
    client: ClientKey,
    groupIds: readonly string[],
    write: Promise<unknown>,
  ) {
    const path = nodePath(this.options.root, nodeName(client));
    if (this.closed.has(connectionId)) {
      // Answered after its connection closed: deleted as the close would have.
      this.scheduleRemove(path, { client, groupIds: new Set(groupIds), settled: write });
      return;
    }
    let byPath = this.written.get(connectionId);
    if (byPath === undefined) this.written.set(connectionId, (byPath = new Map()));
    const written = byPath.get(path);
    if (written === undefined) {
      byPath.set(path, { client, groupIds: new Set(groupIds), settled: write });
      return;
    }
    for (const groupId of groupIds) written.groupIds.add(groupId);
    // Settled to nothing: a long-lived connection's chain of writes holds no values.
    written.settled = Promise.allSettled([written.settled, write]).then(() => undefined);
  }

  connectionClosed(_client: ClientKey, connectionId: number): void {
    this.answers.delete(connectionId);
    this.rememberClosed(connectionId);
    const byPath = this.written.get(connectionId);
    if (byPath === undefined) return;
    this.written.delete(connectionId);
    for (const [path, written] of byPath) this.scheduleRemove(path, written);
  }

  /** Resolves once the deletes started so far are done. */
  async drain(): Promise<void> {
    while (this.deletes.size > 0) await Promise.all(this.deletes);
  }

  /** One delete per node and close, after its writes settled, behind the node's earlier deletes. */
  private scheduleRemove(path: string, written: Written): void {
    const previous = this.queues.get(path) ?? Promise.resolve();
    const done: Promise<void> = previous
      .then(() => written.settled)
      .then(() => this.remove(path, written.groupIds))
      .finally(() => {
        this.deletes.delete(done);
        if (this.queues.get(path) === done) this.queues.delete(path);
      });
    this.queues.set(path, done);
    this.deletes.add(done);
  }

  private rememberClosed(connectionId: number): void {
    const now = Date.now();
    this.closed.delete(connectionId);
    this.closed.set(connectionId, now);
    for (const [id, at] of this.closed) {
      if (this.closed.size <= MAX_CLOSED && now - at < CLOSED_MEMORY_MS) break;
      this.closed.delete(id);
    }
  }

  private async remove(path: string, groupIds: ReadonlySet<string>): Promise<void> {
    const { store, timeoutMs, stats, logger } = this.options;
    let removed = 0;
    try {
      await updateNode(
        store,
        path,
        (current) => {
          removed = 0;
          if (current === null) return UNCHANGED;
          let next = current;
          for (const groupId of groupIds) {
            if (!next.groups.has(groupId)) continue;
            next = withoutGroup(next, groupId);
            removed++;
          }
          return removed > 0 ? next : UNCHANGED;
        },
        { attempts: 3, deadline: Date.now() + timeoutMs },
      );
      stats.deletes += removed;
    } catch (err) {
      logger.warn(
        { err, path, groupIds: [...groupIds] },
        'could not delete a group-id mapping on connection close',
      );
    }
  }
}
