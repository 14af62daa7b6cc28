/**
 * One classic group, as Kafka's GroupMetadata: its state, generation, members (static ones by
 * group.instance.id), pending members, the protocol chosen by the members' votes, and its
 * committed offsets. Pure bookkeeping: timers, appends and answers are the coordinator's.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/index.js';
import { CONSUMER_PROTOCOL_TYPE, subscribedTopics } from './consumer-protocol.js';
import {
  EMPTY_BYTES,
  Member,
  joinError,
  syncError,
  type JoinCallback,
  type Protocol,
  type SyncCallback,
} from './member.js';
import { GroupOffsets, type RemovedOffset } from './offsets.js';
import type {
  GroupDescription,
  GroupRecord,
  GroupState,
  JoinGroupResult,
  OffsetRecord,
  SyncGroupResult,
  TimerHandle,
} from './types.js';

/** The states each state may be entered from (Kafka's validPreviousStates). */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

/** The join phase's delayed completion: Kafka's DelayedJoin, or InitialDelayedJoin if `initial`. */
interface PendingJoin {
  timer: TimerHandle;
  /** The initial delay of an empty group runs its course even when every member is in. */
  initial: boolean;
}

export class Group {
  state: GroupState;
  /** When the group entered its state; null for a group read from a record without it. */
  stateTimestamp: number | null;
  generationId = 0;
  /** Null until a member joins (a group that only stores offsets has none). */
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id → member id. */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, with their expiry timers. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members that have not sent SyncGroup since the join phase completed. */
  readonly pendingSyncMembers = new Set<string>();
  numAwaitingJoin = 0;
  /** How many members support each protocol (each member counts once per protocol name). */
  private readonly protocolSupport = new Map<string, number>();
  /** A new member joined during the initial delay, which may therefore be extended. */
  newMemberAdded = false;
  /** Topics the members subscribe to, for a 'consumer' group; null when unknown. */
  subscribedTopics: ReadonlySet<string> | null = null;
  readonly offsets = new GroupOffsets();
  /** Join phases completed (generation bumps) since this coordinator created or loaded it. */
  rebalances = 0;
  pendingJoin: PendingJoin | null = null;
  pendingSyncTimer: TimerHandle | null = null;

  constructor(
    readonly groupId: string,
    readonly offsetsPartition: number,
    state: 'Empty' | 'Stable',
    now: number,
  ) {
    this.state = state;
    this.stateTimestamp = now;
  }

  /** A group as its latest record in __consumer_offsets describes it (Kafka's loadGroup). */
  static restore(
    groupId: string,
    offsetsPartition: number,
    record: GroupRecord | null,
    offsets: Iterable<[topic: string, partition: number, record: OffsetRecord]>,
    now: number,
  ): Group {
    const group = new Group(
      groupId,
      offsetsPartition,
      record?.members.length ? 'Stable' : 'Empty',
      now,
    );
    for (const [topic, partition, offset] of offsets)
      group.offsets.restore(topic, partition, offset);
    if (record === null) return group;
    group.generationId = record.generation;
    group.protocolType = record.protocolType === '' ? null : record.protocolType;
    group.protocolName = record.protocol;
    group.leaderId = record.leader;
    group.stateTimestamp = record.currentStateTimestamp < 0 ? null : record.currentStateTimestamp;
    for (const m of record.members) {
      const protocols = [{ name: record.protocol ?? '', metadata: m.subscription }];
      const member = new Member(
        m.memberId,
        m.groupInstanceId,
        m.clientId,
        m.clientHost,
        m.rebalanceTimeoutMs,
        m.sessionTimeoutMs,
        record.protocolType,
        protocols,
      );
      member.assignment = m.assignment;
      group.add(member, null);
    }
    group.subscribedTopics = group.computeSubscribedTopics();
    return group;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  get isConsumerGroup(): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  transitionTo(state: GroupState, now: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId} cannot go from ${this.state} to ${state}`);
    }
    this.state = state;
    this.stateTimestamp = now;
  }

  /**
   * Undoes a death whose tombstones could not be written: the group is Empty again, as it was
   * before, since the log still holds it. A group that is not Dead is left alone.
   */
  revive(stateTimestamp: number | null): void {
    if (!this.is('Dead')) return;
    this.state = 'Empty';
    this.stateTimestamp = stateTimestamp;
  }

  get canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.state);
  }

  /** Kafka's member id: client id (or group.instance.id) and a random uuid. */
  newMemberId(clientId: string, groupInstanceId: string | null): string {
    return `${groupInstanceId ?? clientId}-${randomUUID()}`;
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /**
   * Kafka's validateCurrentMember: a group.instance.id must be known and mapped to this member
   * id (else the caller is a fenced duplicate), and the member id must be in the group.
   */
  memberError(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  add(member: Member, awaitingJoin: JoinCallback | null): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(
          `static member ${member.groupInstanceId} is already in group ${this.groupId}`,
        );
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countProtocols(member, 1);
    member.awaitingJoin = awaitingJoin;
    if (awaitingJoin !== null) this.numAwaitingJoin++;
  }

  /** Removes a member; its parked requests must have been answered. */
  remove(member: Member): void {
    this.members.delete(member.memberId);
    this.countProtocols(member, -1);
    if (member.awaitingJoin !== null) this.numAwaitingJoin--;
    if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    if (this.leaderId === member.memberId) {
      this.leaderId = this.members.keys().next().value ?? null;
    }
    this.pendingSyncMembers.delete(member.memberId);
  }

  /**
   * A static member restarted with a new member id: the member keeps everything but its id, and
   * requests parked under the old id are fenced (Kafka's replaceStaticMember).
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    if (member === undefined) throw new Error(`no member ${oldMemberId} in group ${this.groupId}`);
    this.answerJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  /**
   * A member rejoins, possibly with new protocols and timeouts (KAFKA-14009). A JoinGroup it had
   * already parked is answered REBALANCE_IN_PROGRESS rather than dropped, so no request hangs.
   */
  updateMember(
    member: Member,
    protocols: Protocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    awaitingJoin: JoinCallback | null,
  ): void {
    this.countProtocols(member, -1);
    member.protocols = protocols;
    this.countProtocols(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    const superseded = member.awaitingJoin;
    if (superseded === null && awaitingJoin !== null) this.numAwaitingJoin++;
    if (superseded !== null && awaitingJoin === null) this.numAwaitingJoin--;
    member.awaitingJoin = awaitingJoin;
    if (superseded !== null && awaitingJoin !== null) {
      superseded(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    }
  }

  /** Parks a SyncGroup; one parked earlier is answered REBALANCE_IN_PROGRESS, as for JoinGroup. */
  awaitSync(member: Member, callback: SyncCallback): void {
    const superseded = member.awaitingSync;
    member.awaitingSync = callback;
    superseded?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
  }

  answerJoin(member: Member, result: JoinGroupResult): void {
    const callback = member.awaitingJoin;
    if (callback === null) return;
    member.awaitingJoin = null;
    this.numAwaitingJoin--;
    callback(result);
  }

  /** Returns whether a SyncGroup was parked. */
  answerSync(member: Member, result: SyncGroupResult): boolean {
    const callback = member.awaitingSync;
    if (callback === null) return false;
    member.awaitingSync = null;
    callback(result);
    return true;
  }

  /** Every member and every pending member has joined: the join phase may complete. */
  get hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingMembers.size === 0;
  }

  /** The rebalance waits this long for members to rejoin: the largest of their timeouts. */
  get rebalanceTimeoutMs(): number {
    let timeout = 0;
    for (const m of this.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs);
    return timeout;
  }

  /**
   * Keeps the leader if it rejoined, else elects a member that did. False when the group has no
   * leader or nobody rejoined.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.members.get(this.leaderId)?.awaitingJoin) return true;
    for (const member of this.members.values()) {
      if (member.awaitingJoin !== null) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a joining member fits: an empty group takes any non-empty protocol type and list;
   * otherwise the type must match and one of its protocols must be supported by every member.
   */
  supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocols.length > 0;
    return (
      this.protocolType === protocolType &&
      protocols.some((p) => (this.protocolSupport.get(p.name) ?? 0) === this.members.size)
    );
  }

  /**
   * Each member votes for its most preferred protocol among those every member supports; the
   * most votes win. Kafka leaves a tie to hash order; here the first protocol to lead wins. Null
   * when the members share no protocol (or there are none): never thrown, since it runs from
   * timers.
   */
  selectProtocol(): string | null {
    const candidates = new Set<string>();
    for (const [name, count] of this.protocolSupport) {
      if (count === this.members.size && count > 0) candidates.add(name);
    }
    if (candidates.size === 0) return null;
    const votes = new Map<string, number>();
    let chosen: string | null = null;
    let most = 0;
    for (const member of this.members.values()) {
      const vote = member.vote(candidates);
      if (vote === null) return null;
      const count = (votes.get(vote) ?? 0) + 1;
      votes.set(vote, count);
      if (count > most) {
        chosen = vote;
        most = count;
      }
    }
    return chosen;
  }

  /**
   * The members to refuse so that the rest share a protocol: none when they already do, else
   * those without the protocol most members support. JoinGroup refuses a member that shares no
   * protocol with the group, so this is only a safety net against a wedged rebalance.
   */
  membersWithoutCommonProtocol(): Member[] {
    if (this.members.size === 0 || this.selectProtocol() !== null) return [];
    let best: string | null = null;
    let bestCount = 0;
    for (const [name, count] of this.protocolSupport) {
      if (count > bestCount) {
        best = name;
        bestCount = count;
      }
    }
    return [...this.members.values()].filter((m) => best === null || !m.supports(best));
  }

  /**
   * The join phase is over: a new generation with the members that joined, or an empty group.
   * The members must share a protocol (see membersWithoutCommonProtocol).
   */
  initNextGeneration(now: number): void {
    this.protocolName = this.members.size > 0 ? this.selectProtocol() : null;
    this.generationId++;
    this.rebalances++;
    this.subscribedTopics = this.computeSubscribedTopics();
    this.transitionTo(this.members.size > 0 ? 'CompletingRebalance' : 'Empty', now);
    this.pendingSyncMembers.clear();
  }

  /** What the leader's JoinGroup answer lists: every member with its chosen protocol's metadata. */
  currentMemberMetadata(): JoinGroupResult['members'] {
    const protocol = this.chosenProtocol();
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata(protocol),
    }));
  }

  /** Unknown subscriptions count as subscribed, to be safe (Kafka's isSubscribedToTopic). */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  /**
   * Offsets whose retention ended (KIP-211), removed and returned:
   * - an empty group's, `retentionMs` after it became empty (after the commit for records
   *   written before that time was kept);
   * - a Stable 'consumer' group's, for topics no member subscribes to, after the commit;
   * - a group that only stores offsets (no protocol type), after the commit.
   * An expire timestamp set by an old client (OffsetCommit v2-4) wins over all of these.
   */
  removeExpiredOffsets(now: number, retentionMs: number): RemovedOffset[] {
    const sinceCommit = (o: OffsetRecord) => o.commitTimestamp;
    if (this.protocolType !== null && this.is('Empty')) {
      const emptySince = this.stateTimestamp;
      return this.offsets.removeExpired(
        now,
        retentionMs,
        emptySince === null ? sinceCommit : () => emptySince,
        null,
      );
    }
    if (this.isConsumerGroup && this.subscribedTopics !== null && this.is('Stable')) {
      return this.offsets.removeExpired(now, retentionMs, sinceCommit, this.subscribedTopics);
    }
    if (this.protocolType === null) {
      return this.offsets.removeExpired(now, retentionMs, sinceCommit, null);
    }
    return [];
  }

  /** GroupMetadataValue for the current generation, with these assignments (default: current). */
  toRecord(assignments?: ReadonlyMap<string, Buffer>): GroupRecord {
    const members = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: m.metadata(this.chosenProtocol()),
      assignment: assignments?.get(m.memberId) ?? m.assignment,
    }));
    return {
      protocolType: this.protocolType ?? '',
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: this.stateTimestamp ?? -1,
      members,
    };
  }

  /** DescribeGroups: metadata and assignments only once Stable. */
  describe(): GroupDescription {
    const stable = this.is('Stable');
    return {
      groupId: this.groupId,
      errorCode: ErrorCode.NONE,
      state: this.state,
      protocolType: this.protocolType ?? '',
      protocolData: stable ? this.chosenProtocol() : '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadata(this.chosenProtocol()) : EMPTY_BYTES,
        assignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  private chosenProtocol(): string {
    if (this.protocolName === null) throw new Error(`group ${this.groupId} has no protocol yet`);
    return this.protocolName;
  }

  private countProtocols(member: Member, delta: 1 | -1): void {
    for (const name of new Set(member.protocols.map((p) => p.name))) {
      const count = (this.protocolSupport.get(name) ?? 0) + delta;
      if (count === 0) this.protocolSupport.delete(name);
      else this.protocolSupport.set(name, count);
    }
  }

  /**
   * The union of the members' subscribed topics for a 'consumer' group with a chosen protocol
   * (empty without members); null for other groups or metadata that does not parse.
   */
  private computeSubscribedTopics(): ReadonlySet<string> | null {
    if (!this.isConsumerGroup) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    try {
      for (const member of this.members.values()) {
        for (const topic of subscribedTopics(member.metadata(this.protocolName))) topics.add(topic);
      }
    } catch {
      return null;
    }
    return topics;
  }
}
