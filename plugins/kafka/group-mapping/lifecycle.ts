/**
 * The coordinator's side of the mapping (`coordinator` policy): it deletes a member's entry when
 * the member is gone for good, publishes assignments, and re-creates entries its live members
 * lack. It listens to the coordinator's events and does its store work in the background, one
 * operation at a time per node, so the coordinator's state machine does no I/O.
 *
 * The guard. Every FindCoordinator write gives the entry a new token. For each (group, client)
 * with live members here, the lifecycle adopts the entry's token when it has evidence that the
 * write is theirs: right after a member joins, restarts or is restored by a load (a fresh read of
 * the node), at each of their heartbeats and commits (from the watched cache), and when it
 * publishes their assignment after a rebalance. When the last live member with that host and
 * client id leaves the group (left, expired, fenced, refused), the entry is removed only if it
 * still holds the adopted token, by a conditional write on the version read: a write made after
 * the member was last heard from (a client that timed out before the broker and rejoined, a new
 * process with the same client id) is not adopted, so a late delete never removes it (counted as
 * refused). Nothing is deleted while the broker shuts down, nor when groups are unloaded (the
 * coordinator sends no removals then).
 *
 * After each completed rebalance (and for a Stable group loaded here) each client's entry gets
 * `assigned`: the union of what its members there were assigned (consumer protocol; topics by
 * full name). An entry found missing for a live member is re-created with a new token (a repair:
 * a node deleted by hand, or removed by a delete that raced a rejoin).
 *
 * A deleted group (DeleteGroups, or expired empty) has its entries removed from every node by a
 * paced sweep, one node at a time (groups deleted meanwhile wait for the next sweep): those are
 * left by clients that asked FindCoordinator without joining (admin tools, consumers committing
 * without group management). A sweep that fails is retried with backoff; after 10 failures in a
 * row its groups are left to the reconciler's orphan removal.
 */
import type { Logger, MetadataStore } from '../../../src/api/index.js';
import { CONSUMER_PROTOCOL_TYPE, assignedPartitions } from '../coordinator/consumer-protocol.js';
import type {
  AssignmentEvent,
  GroupCoordinatorApi,
  MemberRef,
  MemberRemovedEvent,
} from '../coordinator/types.js';
import {
  EMPTY_NODE,
  newToken,
  sameAssigned,
  withEntry,
  withoutGroup,
  type MappingNode,
} from './node-codec.js';
import type { CachedNode, MappingCache } from './node-cache.js';
import { nodeName, nodePath } from './node-name.js';
import { UNCHANGED, updateNode } from './node-update.js';
import type { GroupMappingStats } from './stats.js';
import type { ClientKey } from './types.js';

export interface CoordinatorLifecycleOptions {
  store: MetadataStore;
  /** groupIdZooKeeperPath */
  root: string;
  brokerId: number;
  cache: MappingCache;
  coordinator: Pick<GroupCoordinatorApi, 'describeGroups' | 'onMemberRemoved' | 'onGroupEvents'>;
  /** The full name of a topic as a consumer assignment names it. */
  fullTopicName: (topic: string) => string;
  /** True once the broker began to shut down: no more store writes then. */
  isShuttingDown: () => boolean;
  logger: Logger;
  stats: GroupMappingStats;
}

/** The live members of one group with one host and client id, as this coordinator knows them. */
interface Tracked {
  readonly groupId: string;
  readonly client: ClientKey;
  readonly cached: CachedNode;
  /** The token of the write these members made, as far as the evidence goes. */
  adopted: string | null;
  /** Adopt at the next completed read of the node (after a join, or a contact before a read). */
  wantsAdoption: boolean;
  /** A repair of the entry is queued. */
  repairing: boolean;
}

type Assigned = Map<string, number[]>;

export type PublishOutcome = 'repaired' | 'corrected' | 'unchanged';

/** A client of a group's live members and what its entry should say (see clientsOf). */
export interface Desired {
  readonly name: string;
  readonly client: ClientKey;
  assigned: Assigned | null | undefined;
}

/** Conditional writes tried before giving up on a node that keeps changing. */
const ATTEMPTS = 3;
/** The queue of the sweeps for removed groups. */
const SWEEP = 'sweep removed groups';
/** A sweep that failed is tried again after 1 s, doubling to 1 min, 10 times in a row at most. */
const SWEEP_RETRY_MS = 1000;
const MAX_SWEEP_RETRY_MS = 60_000;
const MAX_SWEEP_FAILURES = 10;

export class CoordinatorLifecycle {
  /** groupId → node name → tracked. */
  private readonly byGroup = new Map<string, Map<string, Tracked>>();
  /** node name → tracked of every group. */
  private readonly byNode = new Map<string, Set<Tracked>>();
  /** Store work per node path, run in order. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Node path → publishes queued or running for it. */
  private readonly publishing = new Map<string, number>();
  /** Groups removed whose entries a sweep has yet to remove, with when they were removed. */
  private readonly removedGroups = new Map<string, number>();
  /** A sweep is queued, running, or waiting out its backoff (`sweepTimer`). */
  private sweepQueued = false;
  private sweepTimer?: NodeJS.Timeout;
  /** Sweeps in a row that could not visit every node. */
  private sweepFailures = 0;
  private readonly unsubscribers: (() => void)[];
  private stopped = false;

  constructor(private readonly options: CoordinatorLifecycleOptions) {
    const { coordinator, cache } = options;
    this.unsubscribers = [
      coordinator.onMemberRemoved((event) => this.memberRemoved(event)),
      coordinator.onGroupEvents({
        memberAdded: (member) => this.memberAdded(member),
        memberSeen: (member) => this.memberSeen(member),
        assignmentCompleted: (event) => this.assignmentCompleted(event),
        groupRemoved: (groupId) => this.groupRemoved(groupId),
        groupsReleased: (groupIds) => this.release(groupIds),
      }),
      cache.onChange((node) => this.nodeRead(node)),
    ];
  }

  /** Stops acting: nothing more is written; work already queued checks this before writing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.release([...this.byGroup.keys()]);
  }

  /** Resolves once the store work queued so far is done. */
  async drain(): Promise<void> {
    while (this.queues.size > 0) await Promise.all(this.queues.values());
  }

  // ---- events -------------------------------------------------------------------------------

  private memberAdded(member: MemberRef): void {
    if (this.halted) return;
    const tracked = this.track(member.groupId, clientOf(member));
    tracked.wantsAdoption = true;
    // A fresh read: the member's FindCoordinator was just written, maybe through another broker.
    this.options.cache.refresh(tracked.cached);
  }

  private memberSeen(member: MemberRef): void {
    if (this.halted) return;
    const cached = this.options.cache.find(clientOf(member));
    const tracked =
      cached === undefined ? undefined : this.byGroup.get(member.groupId)?.get(cached.name);
    if (tracked === undefined) {
      this.memberAdded(member);
      return;
    }
    if (tracked.cached.state.kind === 'loading') tracked.wantsAdoption = true;
    else this.adopt(tracked);
  }

  private nodeRead(node: CachedNode): void {
    const state = node.state;
    for (const tracked of this.byNode.get(node.name) ?? []) {
      if (tracked.wantsAdoption) this.adopt(tracked);
      const missing =
        state.kind === 'absent' ||
        (state.kind === 'present' && !state.node.groups.has(tracked.groupId));
      if (!missing || tracked.repairing || this.halted) continue;
      // A live member's entry is gone (deleted by hand, or never written): put it back now.
      tracked.repairing = true;
      const { groupId, client } = tracked;
      void this.publish(
        groupId,
        client,
        () => this.desiredAssigned(groupId, node.name),
        false,
      ).finally(() => {
        tracked.repairing = false;
      });
    }
  }

  private memberRemoved(event: MemberRemovedEvent): void {
    if (this.halted) return;
    const { groupId } = event;
    const client = clientOf(event);
    // Another live member of the group is this client too (one process, or several on one host
    // with one client id): the entry is still theirs.
    if (this.isLive(groupId, client)) return;
    const adopted = this.untrack(groupId, client)?.adopted ?? null;
    const path = nodePath(this.options.root, nodeName(client));
    this.enqueue(path, async () => {
      let refused: string | null = null;
      const outcome = await this.update(path, (current) => {
        refused = null;
        const entry = current?.groups.get(groupId);
        if (current === null || entry === undefined || this.isLive(groupId, client)) {
          return UNCHANGED;
        }
        if (entry.token !== adopted) {
          refused = entry.token;
          return UNCHANGED;
        }
        return withoutGroup(current, groupId);
      });
      if (refused !== null) {
        this.options.stats.deletesRefused++;
        this.options.logger.info(
          { path, groupId, memberId: event.memberId, reason: event.reason, adopted, refused },
          'group-id mapping not deleted: it holds a write the removed member did not make',
        );
      } else if (outcome !== 'unchanged') {
        this.options.stats.deletes++;
      }
    });
  }

  private assignmentCompleted(event: AssignmentEvent): void {
    if (this.halted) return;
    for (const { client, assigned } of this.clientsOf(event.members, event.protocolType, true)) {
      this.track(event.groupId, client);
      void this.publish(event.groupId, client, assigned, true);
    }
  }

  /**
   * Each client (host and client id) among the members, with what the assignment gives it: the
   * union over its members for a consumer group, null for another protocol, undefined when the
   * group is not Stable (no current assignment).
   */
  private clientsOf(
    members: readonly { clientHost: string; clientId: string; assignment: Buffer }[],
    protocolType: string,
    stable: boolean,
  ): Desired[] {
    const byClient = new Map<string, Desired>();
    const consumer = protocolType === CONSUMER_PROTOCOL_TYPE;
    for (const member of members) {
      const client = clientOf(member);
      const name = nodeName(client);
      let mine = byClient.get(name);
      if (mine === undefined) {
        mine = { name, client, assigned: !stable ? undefined : consumer ? new Map() : null };
        byClient.set(name, mine);
      }
      if (mine.assigned) mine.assigned = this.merge(mine.assigned, member.assignment);
    }
    return [...byClient.values()];
  }

  // ---- for the reconciler -------------------------------------------------------------------

  /** What the entries of the group's live members should be, from the coordinator's state. */
  desiredClients(groupId: string): Desired[] {
    const [group] = this.options.coordinator.describeGroups([groupId]);
    if (group.errorCode !== 0) return [];
    return this.clientsOf(group.members, group.protocolType, group.state === 'Stable');
  }

  /**
   * Re-creates or corrects one client's entry (a live member's) of the group, to what the
   * coordinator's state says at the time of the write (`desired` may be older: the reconciler
   * computed it before waiting for its budget, and a rebalance may have completed since). Left
   * alone while another publish for the node is queued: that one writes what is current.
   */
  reconcile(desired: Desired, groupId: string): Promise<PublishOutcome> {
    if (this.halted) return Promise.resolve('unchanged');
    const path = nodePath(this.options.root, desired.name);
    if (this.publishing.has(path)) return Promise.resolve('unchanged');
    const name = desired.name;
    return this.publish(groupId, desired.client, () => this.desiredAssigned(groupId, name), false);
  }

  /** What the client's entry of the group should say now (undefined: leave it as it is). */
  private desiredAssigned(groupId: string, name: string): Assigned | null | undefined {
    return this.desiredClients(groupId).find((d) => d.name === name)?.assigned;
  }

  /**
   * Removes the group's entry from the node if it still holds `token` and no live member of the
   * group is this client. Resolves to whether it did.
   */
  removeOrphan(client: ClientKey, groupId: string, token: string): Promise<boolean> {
    const path = nodePath(this.options.root, nodeName(client));
    let removed = false;
    return this.enqueue(path, async () => {
      const outcome = await this.update(path, (current) => {
        const entry = current?.groups.get(groupId);
        if (entry?.token !== token || this.isLive(groupId, client)) return UNCHANGED;
        return withoutGroup(current!, groupId);
      });
      removed = outcome !== 'unchanged';
      if (removed) this.options.stats.orphansRemoved++;
    }).then(() => removed);
  }

  private groupRemoved(groupId: string): void {
    if (this.halted) return;
    this.release([groupId]);
    this.removedGroups.set(groupId, Date.now());
    this.queueSweep();
  }

  /** Queues a sweep unless one is queued, running, or waiting out its backoff. */
  private queueSweep(): void {
    if (this.sweepQueued || this.halted) return;
    this.sweepQueued = true;
    void this.enqueue(SWEEP, async () => {
      let complete = false;
      try {
        complete = await this.sweepRemovedGroups();
      } finally {
        this.sweepDone(complete);
      }
    });
  }

  /** After a sweep: another at once for groups removed meanwhile, or after a backoff on failure. */
  private sweepDone(complete: boolean): void {
    if (complete) this.sweepFailures = 0;
    if (this.halted || this.removedGroups.size === 0) {
      this.sweepQueued = false;
      return;
    }
    if (complete) {
      this.sweepQueued = false;
      this.queueSweep();
      return;
    }
    this.sweepFailures++;
    if (this.sweepFailures >= MAX_SWEEP_FAILURES) {
      this.options.logger.warn(
        { groupIds: [...this.removedGroups.keys()], attempts: this.sweepFailures },
        'removing the entries of deleted groups keeps failing; left to the reconciler',
      );
      this.removedGroups.clear();
      this.sweepFailures = 0;
      this.sweepQueued = false;
      return;
    }
    const delay = Math.min(SWEEP_RETRY_MS * 2 ** (this.sweepFailures - 1), MAX_SWEEP_RETRY_MS);
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweepQueued = false;
      this.queueSweep();
    }, delay);
    this.sweepTimer.unref();
  }

  /**
   * Visits every node, one after the other (a bounded load on the store), removing the entries
   * of the groups removed so far; groups removed meanwhile wait for the next pass. Resolves to
   * whether every node was done: the groups swept are forgotten only then. Throws when the nodes
   * cannot be listed.
   */
  private async sweepRemovedGroups(): Promise<boolean> {
    if (this.removedGroups.size === 0) return true;
    const removed = new Map(this.removedGroups);
    const names = await this.options.store.children(this.options.root, { watch: false });
    let failed = 0;
    for (const name of names) {
      if (this.halted) return false;
      const path = nodePath(this.options.root, name);
      await this.enqueue(path, async () => {
        let count = 0;
        const outcome = await this.update(path, (current) => {
          count = 0;
          if (current === null) return UNCHANGED;
          let next = current;
          for (const [groupId, entry] of current.groups) {
            const removedAt = removed.get(groupId);
            // An entry written after the group was deleted belongs to a group of that name anew.
            if (removedAt === undefined || entry.at > removedAt) continue;
            next = withoutGroup(next, groupId);
            count++;
          }
          return count > 0 ? next : UNCHANGED;
        }).catch((err: unknown) => {
          failed++;
          throw err;
        });
        if (outcome !== 'unchanged') this.options.stats.orphansRemoved += count;
      });
      // The store fails: the next sweep, after a backoff, starts over.
      if (failed > 0) return false;
    }
    for (const [groupId, removedAt] of removed) {
      if (this.removedGroups.get(groupId) === removedAt) this.removedGroups.delete(groupId);
    }
    return true;
  }

  // ---- store work -----------------------------------------------------------------------------

  /**
   * Makes the client's entry for the group say `assigned` (undefined: leave it as it is; a
   * function: what it returns at each attempt, right before the write), and re-creates the entry
   * if it is missing, as long as the group has a live member that is this client. `adopt`: the
   * members have just been heard from, so the token found is theirs.
   */
  private publish(
    groupId: string,
    client: ClientKey,
    wanted: Assigned | null | undefined | (() => Assigned | null | undefined),
    adopt: boolean,
  ): Promise<PublishOutcome> {
    const name = nodeName(client);
    const path = nodePath(this.options.root, name);
    const trackedAtStart = this.byGroup.get(groupId)?.get(name);
    let result: PublishOutcome = 'unchanged';
    this.publishing.set(path, (this.publishing.get(path) ?? 0) + 1);
    const done = () => {
      const left = this.publishing.get(path)! - 1;
      if (left > 0) this.publishing.set(path, left);
      else this.publishing.delete(path);
    };
    return this.enqueue(path, async () => {
      let repaired: string | null = null;
      let seen: string | null = null;
      const outcome = await this.update(path, (current) => {
        repaired = null;
        seen = null;
        // Gone meanwhile: a removal is queued behind this, or already done.
        if (!this.isLive(groupId, client)) return UNCHANGED;
        const assigned = typeof wanted === 'function' ? wanted() : wanted;
        const entry = current?.groups.get(groupId);
        if (entry === undefined) {
          repaired = newToken();
          const { brokerId: broker } = this.options;
          return withEntry(current ?? EMPTY_NODE, groupId, {
            token: repaired,
            broker,
            at: Date.now(),
            assigned: assigned ?? null,
          });
        }
        seen = entry.token;
        if (assigned === undefined || sameAssigned(entry.assigned, assigned)) return UNCHANGED;
        return withEntry(current!, groupId, { ...entry, assigned });
      });
      // Only the members this publish was for: if they left meanwhile and the client came back
      // as new members (tracked anew), what this publish saw may predate their write.
      const tracked =
        this.byGroup.get(groupId)?.get(name) === trackedAtStart ? trackedAtStart : null;
      if (outcome === 'written' && repaired !== null) {
        result = 'repaired';
        this.options.stats.repairs++;
        this.options.logger.info(
          { path, groupId },
          'group-id mapping re-created for a live member',
        );
        if (tracked) tracked.adopted = repaired;
      } else {
        if (outcome === 'written') result = 'corrected';
        if (adopt && seen !== null && tracked) tracked.adopted = seen;
      }
    })
      .finally(done)
      .then(() => result);
  }

  private update(
    path: string,
    change: (current: MappingNode | null) => MappingNode | typeof UNCHANGED,
  ) {
    return updateNode(
      this.options.store,
      path,
      // Checked at every attempt, right before the write it decides.
      (current) => (this.halted ? UNCHANGED : change(current)),
      { attempts: ATTEMPTS },
    );
  }

  private enqueue(key: string, job: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(job).catch((err: unknown) => {
      this.options.stats.coordinatorFailures++;
      this.options.logger.warn({ err, key }, 'group-id mapping update by the coordinator failed');
    });
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  // ---- bookkeeping ----------------------------------------------------------------------------

  private get halted(): boolean {
    return this.stopped || this.options.isShuttingDown();
  }

  private isLive(groupId: string, client: ClientKey): boolean {
    const [group] = this.options.coordinator.describeGroups([groupId]);
    return group.members.some((m) => {
      const other = clientOf(m);
      return other.clientHost === client.clientHost && other.clientId === client.clientId;
    });
  }

  private adopt(tracked: Tracked): void {
    tracked.wantsAdoption = false;
    const state = tracked.cached.state;
    if (state.kind !== 'present') return;
    const entry = state.node.groups.get(tracked.groupId);
    if (entry !== undefined) tracked.adopted = entry.token;
  }

  private track(groupId: string, client: ClientKey): Tracked {
    const cached = this.options.cache.get(client);
    let clients = this.byGroup.get(groupId);
    let tracked = clients?.get(cached.name);
    if (tracked !== undefined) return tracked;
    this.options.cache.pin(client);
    tracked = { groupId, client, cached, adopted: null, wantsAdoption: false, repairing: false };
    if (clients === undefined) this.byGroup.set(groupId, (clients = new Map()));
    clients.set(cached.name, tracked);
    let all = this.byNode.get(cached.name);
    if (all === undefined) this.byNode.set(cached.name, (all = new Set()));
    all.add(tracked);
    return tracked;
  }

  private untrack(groupId: string, client: ClientKey): Tracked | undefined {
    const clients = this.byGroup.get(groupId);
    const name = nodeName(client);
    const tracked = clients?.get(name);
    if (tracked === undefined) return undefined;
    clients!.delete(name);
    if (clients!.size === 0) this.byGroup.delete(groupId);
    this.forget(tracked);
    return tracked;
  }

  private release(groupIds: string[]): void {
    for (const groupId of groupIds) {
      for (const tracked of this.byGroup.get(groupId)?.values() ?? []) this.forget(tracked);
      this.byGroup.delete(groupId);
    }
  }

  private forget(tracked: Tracked): void {
    const all = this.byNode.get(tracked.cached.name);
    all?.delete(tracked);
    if (all?.size === 0) this.byNode.delete(tracked.cached.name);
    this.options.cache.unpin(tracked.cached);
  }

  /** Adds a member's consumer assignment; a malformed one makes the client's unknown (null). */
  private merge(into: Assigned, assignment: Buffer): Assigned | null {
    try {
      for (const { topic, partitions } of assignedPartitions(assignment)) {
        const full = this.options.fullTopicName(topic);
        const merged = new Set([...(into.get(full) ?? []), ...partitions]);
        into.set(
          full,
          [...merged].sort((a, b) => a - b),
        );
      }
      return into;
    } catch {
      return null;
    }
  }
}

/**
 * The client of a member: the coordinator keeps Kafka's member host (`/10.0.0.1`, as Java's
 * InetAddress prints it); FindCoordinator writes the bare address.
 */
export function clientOf(member: { clientHost: string; clientId: string }): ClientKey {
  const { clientHost, clientId } = member;
  return { clientHost: clientHost.startsWith('/') ? clientHost.slice(1) : clientHost, clientId };
}
