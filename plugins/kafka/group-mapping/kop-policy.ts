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

interface Written {
  client: ClientKey;
  groupIds: readonly string[];
  /** The write, settled before its delete starts. */
  write: Promise<unknown>;
}

export class KopPolicy implements GroupResolver {
  /** Connection id → `host\nclientId` → the answer kept for the connection's life. */
  private readonly answers = new Map<number, Map<string, string | null>>();
  /** Connection id → what its FindCoordinators wrote. */
  private readonly written = new Map<number, Written[]>();
  private readonly deletes = new Set<Promise<void>>();

  constructor(private readonly options: KopPolicyOptions) {}

  groupOf(client: ClientKey, connectionId: number): string | null | undefined {
    const key = `${client.clientHost}\n${client.clientId}`;
    const kept = this.answers.get(connectionId)?.get(key);
    if (kept !== undefined) return kept;
    const state = this.options.cache.get(client).state;
    if (state.kind === 'loading') return undefined;
    const answer =
      state.kind === 'absent' ? null : latest([...state.node.groups.keys()], state.node.groups);
    let answers = this.answers.get(connectionId);
    if (answers === undefined) this.answers.set(connectionId, (answers = new Map()));
    answers.set(key, answer);
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
    let list = this.written.get(connectionId);
    if (list === undefined) this.written.set(connectionId, (list = []));
    list.push({ client, groupIds, write });
  }

  connectionClosed(_client: ClientKey, connectionId: number): void {
    this.answers.delete(connectionId);
    const written = this.written.get(connectionId);
    if (written === undefined) return;
    this.written.delete(connectionId);
    for (const w of written) {
      const done = w.write
        .then(() => this.remove(w.client, w.groupIds))
        .finally(() => this.deletes.delete(done));
      this.deletes.add(done);
    }
  }

  /** Resolves once the deletes started so far are done. */
  async drain(): Promise<void> {
    while (this.deletes.size > 0) await Promise.all(this.deletes);
  }

  private async remove(client: ClientKey, groupIds: readonly string[]): Promise<void> {
    const { store, root, timeoutMs, stats, logger } = this.options;
    const path = nodePath(root, nodeName(client));
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
        { err, path, groupIds },
        'could not delete a group-id mapping on connection close',
      );
    }
  }
}
