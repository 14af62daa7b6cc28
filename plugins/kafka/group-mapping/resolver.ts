/**
 * The fetch path's GroupResolver for the `coordinator` policy, over the broker-wide watched cache.
 *
 * - Node not read yet: undefined (the read runs in the background; `onChange` says when it ends).
 * - Node absent, never seen present here: undefined until `absentGraceMs` after its first read
 *   completed, since the FindCoordinator write it raced may still land (a fetch can reach this
 *   broker before the write another broker is making, bounded by groupIdWriteTimeoutMs, is
 *   stored and notified); the watch on the node brings the write in. Past that, null (a consumer
 *   using assign(), or a client whose write failed), final until the node appears.
 * - Node absent after this broker saw a group in it (deleted by hand, or between a delete and its
 *   re-creation): undefined for up to `pendingLimitMs`, so that what the client fetches meanwhile
 *   is attributed when the node comes back; past that, null.
 * - Node with one group: that group.
 * - Node with several groups (one host and client id in several groups, as with kafkajs's and
 *   librdkafka's default client ids): the group whose published assignment holds the fetched
 *   partition. When none does yet, the one group whose assignment is not published yet; else
 *   undefined for up to `assignmentWaitMs` after the node last changed (the coordinator publishes
 *   right after the rebalance). When still none, or several, claim it (two groups consuming the
 *   same partition from one host with one client id cannot be told apart by the node): among
 *   those, a group FindCoordinator named on this very connection, else the most recently written
 *   entry, else the smallest group id; each such answer is counted (`ambiguousAnswers`).
 */
import { holds, type GroupEntry, type MappingNode } from './node-codec.js';
import type { CachedNode, MappingCache } from './node-cache.js';
import type { GroupMappingStats } from './stats.js';
import type { ClientKey, GroupResolver } from './types.js';

export interface MappingResolverOptions {
  cache: MappingCache;
  stats: GroupMappingStats;
  /** The full name (`persistent://...`) of a topic as the fetch path names it (Kafka or full). */
  fullTopicName: (topic: string) => string;
  /** Default 2 minutes. */
  pendingLimitMs?: number;
  /**
   * How long a node never seen present is awaited after its first read found it absent. Default
   * 5 seconds; GroupMapping gives groupIdWriteTimeoutMs + 5 s (see there).
   */
  absentGraceMs?: number;
  /** Default 30 seconds. */
  assignmentWaitMs?: number;
}

/** Groups FindCoordinator named on one connection, remembered at most this many. */
const MAX_HINTS_PER_CONNECTION = 64;

export class MappingResolver implements GroupResolver {
  private readonly cache: MappingCache;
  private readonly pendingLimitMs: number;
  private readonly absentGraceMs: number;
  private readonly assignmentWaitMs: number;
  /** Connection id → groups a FindCoordinator on it named (this broker's connections). */
  private readonly hints = new Map<number, Set<string>>();

  constructor(private readonly options: MappingResolverOptions) {
    this.cache = options.cache;
    this.pendingLimitMs = options.pendingLimitMs ?? 120_000;
    this.absentGraceMs = options.absentGraceMs ?? 5_000;
    this.assignmentWaitMs = options.assignmentWaitMs ?? 30_000;
  }

  groupOf(
    client: ClientKey,
    connectionId: number,
    topic: string,
    partition: number,
  ): string | null | undefined {
    const cached = this.cache.get(client);
    const state = cached.state;
    if (state.kind === 'loading') return undefined;
    if (state.kind === 'absent') {
      const until =
        cached.sawGroup && cached.absentSince >= 0
          ? cached.absentSince + this.pendingLimitMs
          : cached.firstReadAt + this.absentGraceMs;
      return this.pendingUntil(cached, until) ? undefined : null;
    }
    const groups = state.node.groups;
    if (groups.size === 1) return groups.keys().next().value!;
    return this.choose(cached, state.node, connectionId, topic, partition);
  }

  onChange(listener: (client: ClientKey) => void): () => void {
    return this.cache.onChange((node) => listener(node.client));
  }

  connectionClosed(_client: ClientKey, connectionId: number): void {
    this.hints.delete(connectionId);
  }

  /** FindCoordinator on this broker named these groups on this connection. */
  noteFindCoordinator(connectionId: number, groupIds: readonly string[]): void {
    let groups = this.hints.get(connectionId);
    if (groups === undefined) this.hints.set(connectionId, (groups = new Set()));
    for (const groupId of groupIds) {
      if (groups.size >= MAX_HINTS_PER_CONNECTION) break;
      groups.add(groupId);
    }
  }

  private choose(
    cached: CachedNode,
    node: MappingNode,
    connectionId: number,
    topic: string,
    partition: number,
  ): string | undefined {
    const full = this.options.fullTopicName(topic);
    const claiming: string[] = [];
    const unpublished: string[] = [];
    for (const [groupId, entry] of node.groups) {
      if (entry.assigned === null) unpublished.push(groupId);
      else if (holds(entry.assigned, full, partition)) claiming.push(groupId);
    }
    if (claiming.length === 1) return claiming[0];
    if (claiming.length === 0) {
      if (unpublished.length === 1) return unpublished[0];
      if (this.pendingUntil(cached, cached.changedAt + this.assignmentWaitMs)) return undefined;
    }
    const candidates =
      claiming.length > 1
        ? claiming
        : unpublished.length > 1
          ? unpublished
          : [...node.groups.keys()];
    const hinted = this.hinted(candidates, connectionId);
    if (hinted.length === 1) return hinted[0];
    this.options.stats.ambiguousAnswers++;
    return latest(hinted.length > 0 ? hinted : candidates, node.groups);
  }

  private hinted(candidates: string[], connectionId: number): string[] {
    const groups = this.hints.get(connectionId);
    return groups === undefined ? [] : candidates.filter((g) => groups.has(g));
  }

  /** True while `until` is ahead; the listeners then hear about the client again at `until`. */
  private pendingUntil(cached: CachedNode, until: number): boolean {
    if (Date.now() >= until) return false;
    this.cache.wakeAt(cached, until);
    return true;
  }
}

/** The most recently written entry among `groupIds`; the smallest group id on a tie. */
export function latest(groupIds: string[], groups: ReadonlyMap<string, GroupEntry>): string {
  let best = groupIds[0];
  for (const groupId of groupIds.slice(1)) {
    const at = groups.get(groupId)!.at;
    const bestAt = groups.get(best)!.at;
    if (at > bestAt || (at === bestAt && groupId < best)) best = groupId;
  }
  return best;
}
