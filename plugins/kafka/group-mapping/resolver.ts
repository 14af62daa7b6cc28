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
 *   partition. When none does, undefined for up to `assignmentWaitMs` from when this resolver
 *   first saw the partition fetched unclaimed (the coordinator publishes right after a rebalance;
 *   the wait is not restarted by changes to the node, which other groups' writes may make often,
 *   but is after a guess and a gap of that long in the partition's fetches). Then a guess, counted
 *   (`ambiguousAnswers`), among: the groups whose assignment holds the topic (another of its
 *   partitions); else the groups whose entry is not published and was written at most
 *   `assignmentWaitMs` before the wait began (a member whose publish failed; an older unpublished
 *   entry is an admin tool's or a lookup's, such as kafkajs's admin fetchOffsets with the same
 *   client id); else the groups with a published assignment; else all of them.
 * - Several groups claim the partition (two groups consuming it from one host with one client id
 *   cannot be told apart by the node), or a guess: among the candidates, a group FindCoordinator
 *   named on this very connection, else the most recently written entry, else the smallest group
 *   id; counted (`ambiguousAnswers`) unless FindCoordinator on the connection settled a claim.
 *
 * Per node, an index of the claims by topic and partition is built lazily for the node's current
 * value (topics named as the fetch path names them, resolved to full names once), so a fetch of a
 * shared client id makes two map lookups and allocates nothing.
 */
import type { GroupEntry, MappingNode } from './node-codec.js';
import type { CachedNode, MappingCache, NodeState } from './node-cache.js';
import type { GroupMappingStats } from './stats.js';
import type { ClientKey, GroupResolver } from './types.js';

type PresentState = Extract<NodeState, { kind: 'present' }>;

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
/** Topics indexed, and unclaimed partitions remembered, per node; past that, started afresh. */
const MAX_PER_NODE = 1024;

/** The groups of a node's current value that claim a topic's partitions. */
interface TopicClaims {
  /** Partition → the groups whose published assignment holds it. */
  readonly byPartition: Map<number, string[]>;
  /** The groups whose published assignment holds some partition of the topic. */
  readonly holders: string[];
}

/** A partition fetched while no group claimed it. */
interface Unclaimed {
  /** Local time (ms) first seen so: the wait runs from here. */
  since: number;
  /** Local time (ms) last seen so. */
  seen: number;
  /** Answered by a guess once its wait was over. */
  guessed: boolean;
  /** The guess's candidates, for `candidatesOf` (the node's value they were made from). */
  candidatesOf: NodeState | null;
  candidates: string[];
}

/** What the resolver keeps per cached node of a shared client id. */
class NodeClaims {
  /** The node's value `topics` indexes. */
  indexed: NodeState | null = null;
  /** Topic as the fetch path names it → its claims in `indexed`. */
  readonly topics = new Map<string, TopicClaims>();
  /** Topic → partition → unclaimed since; kept across changes of the node, forgotten once claimed. */
  readonly unclaimed = new Map<string, Map<number, Unclaimed>>();
  unclaimedCount = 0;
}

export class MappingResolver implements GroupResolver {
  private readonly cache: MappingCache;
  private readonly pendingLimitMs: number;
  private readonly absentGraceMs: number;
  private readonly assignmentWaitMs: number;
  /** Connection id → groups a FindCoordinator on it named (this broker's connections). */
  private readonly hints = new Map<number, Set<string>>();
  private readonly claims = new WeakMap<CachedNode, NodeClaims>();

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
    return this.choose(cached, state, connectionId, topic, partition);
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
    state: PresentState,
    connectionId: number,
    topic: string,
    partition: number,
  ): string | undefined {
    const groups = state.node.groups;
    let claims = this.claims.get(cached);
    if (claims === undefined) this.claims.set(cached, (claims = new NodeClaims()));
    const ofTopic = this.topicClaims(claims, state, topic);
    const claiming = ofTopic.byPartition.get(partition);
    if (claiming !== undefined) {
      if (claims.unclaimedCount > 0) forgetUnclaimed(claims, topic, partition);
      if (claiming.length === 1) return claiming[0];
      const hinted = this.hinted(claiming, connectionId);
      if (hinted.length === 1) return hinted[0];
      this.options.stats.ambiguousAnswers++;
      return latest(hinted.length > 0 ? hinted : claiming, groups);
    }
    const unclaimed = this.unclaimed(claims, topic, partition);
    if (this.pendingUntil(cached, unclaimed.since + this.assignmentWaitMs)) return undefined;
    if (unclaimed.candidatesOf !== state) {
      unclaimed.candidatesOf = state;
      unclaimed.candidates =
        ofTopic.holders.length > 0 ? ofTopic.holders : this.fallback(state.node, unclaimed.since);
    }
    const candidates = unclaimed.candidates;
    unclaimed.guessed = true;
    this.options.stats.ambiguousAnswers++;
    const hinted = this.hinted(candidates, connectionId);
    if (hinted.length === 1) return hinted[0];
    return latest(hinted.length > 0 ? hinted : candidates, groups);
  }

  /** The claims on `topic` in the node's current value, indexed on first use. */
  private topicClaims(claims: NodeClaims, state: PresentState, topic: string): TopicClaims {
    if (claims.indexed !== state) {
      claims.indexed = state;
      claims.topics.clear();
    }
    let ofTopic = claims.topics.get(topic);
    if (ofTopic !== undefined) return ofTopic;
    const full = this.options.fullTopicName(topic);
    ofTopic = { byPartition: new Map(), holders: [] };
    for (const [groupId, entry] of state.node.groups) {
      const partitions = entry.assigned?.get(full);
      if (partitions === undefined || partitions.length === 0) continue;
      ofTopic.holders.push(groupId);
      for (const p of partitions) {
        const list = ofTopic.byPartition.get(p);
        if (list === undefined) ofTopic.byPartition.set(p, [groupId]);
        else list.push(groupId);
      }
    }
    if (claims.topics.size >= MAX_PER_NODE) claims.topics.clear();
    claims.topics.set(topic, ofTopic);
    return ofTopic;
  }

  /** The partition's unclaimed record, seen now; a new wait if it was not fetched for a while. */
  private unclaimed(claims: NodeClaims, topic: string, partition: number): Unclaimed {
    const now = Date.now();
    let ofTopic = claims.unclaimed.get(topic);
    let record = ofTopic?.get(partition);
    if (record !== undefined) {
      // Guessed, then not fetched for a while (the partition went elsewhere and came back, maybe
      // after a rebalance whose publish is coming): wait again.
      if (record.guessed && now - record.seen > this.assignmentWaitMs) {
        record.since = now;
        record.guessed = false;
        record.candidatesOf = null;
      }
      record.seen = now;
      return record;
    }
    if (claims.unclaimedCount >= MAX_PER_NODE) {
      claims.unclaimed.clear();
      claims.unclaimedCount = 0;
      ofTopic = undefined;
    }
    if (ofTopic === undefined) claims.unclaimed.set(topic, (ofTopic = new Map()));
    record = { since: now, seen: now, guessed: false, candidatesOf: null, candidates: [] };
    ofTopic.set(partition, record);
    claims.unclaimedCount++;
    return record;
  }

  /**
   * Candidates when no group's assignment holds the topic: unpublished entries written at most
   * assignmentWaitMs before the wait began, else the groups with a published assignment, else all.
   */
  private fallback(node: MappingNode, since: number): string[] {
    const recent: string[] = [];
    const published: string[] = [];
    for (const [groupId, entry] of node.groups) {
      if (entry.assigned !== null) published.push(groupId);
      else if (entry.at >= since - this.assignmentWaitMs) recent.push(groupId);
    }
    if (recent.length > 0) return recent;
    if (published.length > 0) return published;
    return [...node.groups.keys()];
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

function forgetUnclaimed(claims: NodeClaims, topic: string, partition: number): void {
  const ofTopic = claims.unclaimed.get(topic);
  if (ofTopic === undefined || !ofTopic.delete(partition)) return;
  claims.unclaimedCount--;
  if (ofTopic.size === 0) claims.unclaimed.delete(topic);
}

/** The most recently written entry among `groupIds`; the smallest group id on a tie. */
export function latest(
  groupIds: readonly string[],
  groups: ReadonlyMap<string, GroupEntry>,
): string {
  let best = groupIds[0];
  let bestAt = groups.get(best)!.at;
  for (let i = 1; i < groupIds.length; i++) {
    const groupId = groupIds[i];
    const at = groups.get(groupId)!.at;
    if (at > bestAt || (at === bestAt && groupId < best)) {
      best = groupId;
      bestAt = at;
    }
  }
  return best;
}
