/**
 * Kafka's classic membership protocol on a group the coordinator has found: JoinGroup, SyncGroup,
 * Heartbeat and LeaveGroup, and the rebalance they drive. Its timers, as Kafka's purgatories:
 * - the join phase's completion (DelayedJoin; InitialDelayedJoin for an empty group, KIP-134),
 * - the SyncGroup deadline once the join phase is over (DelayedSync),
 * - each member's session, or a new member's join timeout (DelayedHeartbeat),
 * - each pending member's expiry (KIP-394).
 */
import { ErrorCode } from '../protocol/index.js';
import type { CoordinatorContext } from './context.js';
import type { Group } from './group.js';
import {
  EMPTY_BYTES,
  Member,
  joinError,
  syncError,
  uniqueProtocols,
  type JoinCallback,
  type Protocol,
  type SyncCallback,
} from './member.js';
import type {
  AssignmentEvent,
  HeartbeatParams,
  JoinGroupParams,
  JoinGroupResult,
  LeaveGroupParams,
  LeaveGroupResult,
  MemberRef,
  MemberRemovedEvent,
  MemberRemovedReason,
  SyncGroupParams,
  SyncGroupResult,
} from './types.js';

/**
 * Kafka's NewMemberJoinTimeoutMs (KAFKA-7610): a new member cannot heartbeat before its JoinGroup
 * is answered, so a client that gave up on that request would linger; its join expires instead.
 */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

type LeavingMember = LeaveGroupParams['members'][number];

/** What a static member was before a restart replaced its member id, to restore on failure. */
interface ReplacedStaticMember {
  groupInstanceId: string;
  memberId: string;
  clientId: string;
  clientHost: string;
  protocols: Protocol[];
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The group's leader before: what the restarted member is told. */
  leaderId: string;
}

export class Membership {
  constructor(private readonly ctx: CoordinatorContext) {}

  // -------------------------------------------------------------------------------------------
  // JoinGroup

  join(group: Group, request: JoinGroupParams, respond: JoinCallback): void {
    // Kafka keys a JoinGroup's protocols by name: a name given twice counts once.
    const params = { ...request, protocols: uniqueProtocols(request.protocols) };
    const { memberId } = params;
    if (group.is('Dead')) {
      // The group is being deleted: the member finds its coordinator again and retries.
      respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } else if (!this.acceptsJoiningMember(group, memberId)) {
      this.shed(group, memberId);
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (!group.supportsProtocols(params.protocolType, params.protocols)) {
      respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    } else if (memberId === '') {
      this.joinNewMember(group, params, respond);
    } else {
      this.joinKnownMember(group, params, respond);
    }
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  /**
   * group.max.size. While preparing a rebalance, members that rejoined stay and others fit while
   * fewer than the maximum have rejoined, so a lowered maximum sheds the last to rejoin; after
   * the join phase, known members stay and new ones fit below the maximum.
   */
  private acceptsJoiningMember(group: Group, memberId: string): boolean {
    const max = this.ctx.config.groupMaxSize;
    switch (group.state) {
      case 'PreparingRebalance': {
        const member = group.members.get(memberId);
        return (
          (member !== undefined && member.awaitingJoin !== null) || group.numAwaitingJoin < max
        );
      }
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.size < max;
      default:
        return true;
    }
  }

  /** A member refused for the group's size is dropped (the client treats the error as fatal). */
  private shed(group: Group, memberId: string): void {
    this.forgetPendingMember(group, memberId);
    const member = group.members.get(memberId);
    if (member !== undefined) this.dropMember(group, member, 'refused');
  }

  private joinNewMember(group: Group, params: JoinGroupParams, respond: JoinCallback): void {
    const newMemberId = group.newMemberId(params.clientId, params.groupInstanceId);
    const { groupInstanceId } = params;
    if (groupInstanceId !== null) {
      const oldMemberId = group.staticMemberId(groupInstanceId);
      if (oldMemberId === undefined) {
        this.addMemberAndRebalance(group, newMemberId, params, respond);
      } else {
        this.replaceStaticMember(group, groupInstanceId, oldMemberId, newMemberId, params, respond);
      }
    } else if (params.requireKnownMemberId) {
      // KIP-394: hand out an id and wait for the member to rejoin with it.
      this.addPendingMember(group, newMemberId, params.sessionTimeoutMs);
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(group, newMemberId, params, respond);
    }
  }

  private joinKnownMember(group: Group, params: JoinGroupParams, respond: JoinCallback): void {
    const { memberId } = params;
    if (group.pendingMembers.has(memberId)) {
      // Only dynamic members are ever pending: Kafka fails this as an internal error.
      if (params.groupInstanceId !== null) {
        respond(joinError(memberId, ErrorCode.UNKNOWN_SERVER_ERROR));
      } else {
        this.addMemberAndRebalance(group, memberId, params, respond);
      }
      return;
    }
    const error = group.memberError(memberId, params.groupInstanceId);
    if (error !== ErrorCode.NONE) {
      respond(joinError(memberId, error));
      return;
    }
    // A member exists only in PreparingRebalance, CompletingRebalance and Stable.
    const member = group.members.get(memberId)!;
    this.ctx.events.memberSeen(memberRef(group, member));
    if (group.is('PreparingRebalance')) {
      this.updateMemberAndRebalance(group, member, params, respond, 'rejoined');
    } else if (!member.matches(params.protocols)) {
      this.updateMemberAndRebalance(group, member, params, respond, 'changed its metadata');
    } else if (group.is('Stable') && group.isLeader(memberId)) {
      // The leader rejoins to reassign on changes the metadata does not show (new partitions).
      this.updateMemberAndRebalance(group, member, params, respond, 'is the leader and rejoined');
    } else {
      // Unchanged: it missed its answer for this generation and gets it again.
      respond(this.joinAnswer(group, member));
    }
  }

  private addMemberAndRebalance(
    group: Group,
    memberId: string,
    params: JoinGroupParams,
    respond: JoinCallback,
  ): void {
    this.forgetPendingMember(group, memberId);
    const member = new Member(
      memberId,
      params.groupInstanceId,
      params.clientId,
      params.clientHost,
      params.rebalanceTimeoutMs,
      params.sessionTimeoutMs,
      params.protocolType,
      params.protocols,
    );
    member.isNew = true;
    // Kafka extends the initial delay for new members only during a group's first rebalance.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    this.scheduleSessionExpiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.ctx.events.memberAdded(memberRef(group, member), 'joined');
    this.maybePrepareRebalance(group, `member ${memberId} joined`, params.reason);
  }

  private updateMemberAndRebalance(
    group: Group,
    member: Member,
    params: JoinGroupParams,
    respond: JoinCallback,
    what: string,
  ): void {
    group.updateMember(
      member,
      params.protocols,
      params.rebalanceTimeoutMs,
      params.sessionTimeoutMs,
      respond,
    );
    this.maybePrepareRebalance(group, `member ${member.memberId} ${what}`, params.reason);
  }

  /**
   * KIP-345: a static member restarting (no member id, known group.instance.id) takes a new
   * member id and fences the old one. In a Stable group whose protocol would not change, this
   * needs no rebalance, only the new id made durable. Unlike Kafka, which keeps the old
   * instance's client id and host, the member takes the restarted instance's.
   */
  private replaceStaticMember(
    group: Group,
    groupInstanceId: string,
    oldMemberId: string,
    newMemberId: string,
    params: JoinGroupParams,
    respond: JoinCallback,
  ): void {
    const old = group.members.get(oldMemberId)!;
    const fenced = removedEvent(group, old, 'fenced');
    const before: ReplacedStaticMember = {
      groupInstanceId,
      memberId: oldMemberId,
      clientId: old.clientId,
      clientHost: old.clientHost,
      protocols: old.protocols,
      rebalanceTimeoutMs: old.rebalanceTimeoutMs,
      sessionTimeoutMs: old.sessionTimeoutMs,
      leaderId: group.leaderId ?? '',
    };
    const member = group.replaceStaticMember(groupInstanceId, oldMemberId, newMemberId);
    member.clientId = params.clientId;
    member.clientHost = params.clientHost;
    this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
    this.ctx.events.memberAdded(memberRef(group, member), 'restarted');
    group.updateMember(
      member,
      params.protocols,
      params.rebalanceTimeoutMs,
      params.sessionTimeoutMs,
      respond,
    );
    if (group.is('Stable') && group.selectProtocol() === group.protocolName) {
      void this.ctx
        .storeGroup(group, group.toRecord())
        .then((error) => this.onStaticMemberStored(group, member, before, fenced, respond, error));
      return;
    }
    this.ctx.memberRemoved(fenced);
    // A changed protocol needs a new assignment; so does a group completing its rebalance, whose
    // leader may be assigning to the old member id. In PreparingRebalance the member just joins.
    this.maybePrepareRebalance(
      group,
      `static member ${groupInstanceId} restarted as ${newMemberId}`,
      params.reason,
    );
  }

  private onStaticMemberStored(
    group: Group,
    member: Member,
    before: ReplacedStaticMember,
    fenced: MemberRemovedEvent,
    respond: JoinCallback,
    error: number,
  ): void {
    // Unloaded or shut down meanwhile: its requests were answered, and nobody left.
    if (group.is('Dead')) return;
    if (member.awaitingJoin !== respond) {
      // A rebalance (or a removal) answered the join meanwhile: the new member id stands.
      this.ctx.memberRemoved(fenced);
      return;
    }
    if (error !== ErrorCode.NONE) {
      // As Kafka: the old member id, still durable, is restored and the restart fails.
      this.ctx.logger.warn(
        { groupId: group.groupId, memberId: member.memberId, errorCode: error },
        'could not store a static member restart; restoring its old member id',
      );
      group.updateMember(
        member,
        before.protocols,
        before.rebalanceTimeoutMs,
        before.sessionTimeoutMs,
        null,
      );
      group.replaceStaticMember(before.groupInstanceId, member.memberId, before.memberId);
      member.clientId = before.clientId;
      member.clientHost = before.clientHost;
      this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
      this.ctx.events.memberAdded(memberRef(group, member), 'restarted');
      respond({ ...this.generationAnswer(group, '', before.leaderId), errorCode: error });
      return;
    }
    this.ctx.memberRemoved(fenced);
    // The leader from before the restart, so that a restarted leader does not assign: a Stable
    // group would not pass that assignment on (JoinGroup v9's SkipAssignment is not offered).
    group.answerJoin(member, this.generationAnswer(group, member.memberId, before.leaderId));
    this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
    // The assignment stands, but its holder may now be another client (host, client id).
    this.ctx.events.assignmentCompleted(assignmentEvent(group));
  }

  // -------------------------------------------------------------------------------------------
  // The rebalance: PreparingRebalance → CompletingRebalance (or Empty) → Stable

  private maybePrepareRebalance(
    group: Group,
    why: string,
    clientReason: string | null = null,
  ): void {
    if (group.canRebalance) this.prepareRebalance(group, why, clientReason);
  }

  private prepareRebalance(group: Group, why: string, clientReason: string | null = null): void {
    // Members waiting for the leader's assignment rejoin instead.
    if (group.is('CompletingRebalance')) {
      this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.cancelPendingSync(group);
    const fromEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.ctx.clock.now());
    this.ctx.logger.info(
      {
        groupId: group.groupId,
        generationId: group.generationId,
        reason: clientReason ?? undefined,
      },
      `preparing to rebalance: ${why}`,
    );
    if (fromEmpty) {
      // KIP-134: give more members the chance to join before the first assignment; new members
      // extend the wait, up to the rebalance timeout.
      const delayMs = this.ctx.config.groupInitialRebalanceDelayMs;
      this.scheduleJoinCompletion(
        group,
        true,
        delayMs,
        Math.max(group.rebalanceTimeoutMs - delayMs, 0),
      );
    } else {
      this.scheduleJoinCompletion(group, false, group.rebalanceTimeoutMs, 0);
      this.tryCompleteJoin(group);
    }
  }

  private scheduleJoinCompletion(
    group: Group,
    initial: boolean,
    delayMs: number,
    remainingMs: number,
  ): void {
    const timer = this.ctx.clock.setTimeout(
      () => this.onJoinTimeout(group, initial, delayMs, remainingMs),
      delayMs,
    );
    group.pendingJoin = { timer, initial };
  }

  private onJoinTimeout(
    group: Group,
    initial: boolean,
    delayMs: number,
    remainingMs: number,
  ): void {
    group.pendingJoin = null;
    if (initial && group.newMemberAdded && remainingMs > 0) {
      group.newMemberAdded = false;
      const nextDelayMs = Math.min(this.ctx.config.groupInitialRebalanceDelayMs, remainingMs);
      this.scheduleJoinCompletion(group, true, nextDelayMs, Math.max(remainingMs - delayMs, 0));
    } else {
      this.completeJoin(group);
    }
  }

  /** A regular join phase ends as soon as every member, pending ones included, has joined. */
  private tryCompleteJoin(group: Group): void {
    const pending = group.pendingJoin;
    if (pending === null || pending.initial || !group.hasAllMembersJoined) return;
    this.ctx.clock.clearTimeout(pending.timer);
    group.pendingJoin = null;
    this.completeJoin(group);
  }

  /** Kafka's onCompleteJoin: the join phase is over, by completion or by timeout. */
  private completeJoin(group: Group): void {
    // Dynamic members that did not rejoin are gone; static ones stay until their session ends.
    const laggards = [...group.members.values()].filter(
      (m) => m.awaitingJoin === null && m.groupInstanceId === null,
    );
    for (const member of laggards) this.dropMember(group, member, 'expired');
    // JoinGroup lets in only members sharing a protocol with the group; should members without
    // one be here anyway, they are refused rather than leaving the rebalance unable to complete.
    for (const member of group.membersWithoutCommonProtocol()) {
      group.answerJoin(member, joinError(member.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      this.dropMember(group, member, 'refused');
    }

    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only static members that did not rejoin are left: wait for them (or their sessions).
      this.ctx.logger.error(
        { groupId: group.groupId },
        'could not complete rebalance: no member rejoined',
      );
      this.scheduleJoinCompletion(group, false, group.rebalanceTimeoutMs, 0);
      return;
    }

    group.initNextGeneration(this.ctx.clock.now());
    if (group.is('Empty')) {
      this.ctx.logger.info(
        { groupId: group.groupId, generationId: group.generationId },
        'group is now empty',
      );
      void this.ctx.storeGroup(group, group.toRecord()).then((error) => {
        // No member depends on it: if lost, the previous generation is simply reloaded.
        if (error !== ErrorCode.NONE) {
          this.ctx.logger.warn(
            { groupId: group.groupId, errorCode: error },
            'could not store empty group',
          );
        }
      });
      return;
    }

    this.ctx.logger.info(
      { groupId: group.groupId, generationId: group.generationId, members: group.size },
      'join phase complete, awaiting the leader assignment',
    );
    for (const member of group.members.values()) {
      group.answerJoin(member, this.joinAnswer(group, member));
      this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
    }
    this.schedulePendingSync(group);
  }

  private joinAnswer(group: Group, member: Member): JoinGroupResult {
    return {
      ...this.generationAnswer(group, member.memberId, group.leaderId ?? ''),
      members: group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    };
  }

  private generationAnswer(group: Group, memberId: string, leader: string): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader,
      memberId,
      members: [],
    };
  }

  /** Members that do not send SyncGroup within the rebalance timeout are removed. */
  private schedulePendingSync(group: Group): void {
    group.pendingSyncTimer = this.ctx.clock.setTimeout(
      () => this.onPendingSyncTimeout(group),
      group.rebalanceTimeoutMs,
    );
  }

  private onPendingSyncTimeout(group: Group): void {
    group.pendingSyncTimer = null;
    if (group.pendingSyncMembers.size === 0) return;
    const laggards = [...group.pendingSyncMembers];
    for (const memberId of laggards)
      this.dropMember(group, group.members.get(memberId)!, 'expired');
    this.prepareRebalance(group, `members ${laggards.join(', ')} did not send SyncGroup in time`);
  }

  private syncReceived(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.cancelPendingSync(group);
  }

  private cancelPendingSync(group: Group): void {
    group.pendingSyncMembers.clear();
    if (group.pendingSyncTimer !== null) {
      this.ctx.clock.clearTimeout(group.pendingSyncTimer);
      group.pendingSyncTimer = null;
    }
  }

  // -------------------------------------------------------------------------------------------
  // SyncGroup

  sync(group: Group, params: SyncGroupParams, respond: SyncCallback): void {
    const error = this.syncValidationError(group, params);
    if (error !== ErrorCode.NONE) {
      respond(syncError(error));
      return;
    }
    if (group.is('PreparingRebalance')) {
      respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      return;
    }
    const member = group.members.get(params.memberId)!;
    this.syncReceived(group, member.memberId);
    if (group.is('Stable')) {
      respond(this.assignmentAnswer(group, member));
      this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
      return;
    }
    // CompletingRebalance: everyone waits for the leader's assignment.
    group.awaitSync(member, respond);
    if (group.isLeader(member.memberId)) this.storeAssignment(group, params.assignments);
  }

  private syncValidationError(group: Group, params: SyncGroupParams): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = group.memberError(params.memberId, params.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (params.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // KIP-559: SyncGroup v5 names the protocol type and name it expects.
    const typeDiffers = params.protocolType !== null && params.protocolType !== group.protocolType;
    const nameDiffers = params.protocolName !== null && params.protocolName !== group.protocolName;
    return typeDiffers || nameDiffers ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : ErrorCode.NONE;
  }

  /**
   * The leader's assignment is made durable with the group before anyone gets it and the group
   * becomes Stable; if that fails, everyone gets the error and the group rebalances.
   */
  private storeAssignment(group: Group, assignments: SyncGroupParams['assignments']): void {
    const generationId = group.generationId;
    const assignment = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const memberId of group.members.keys()) {
      if (!assignment.has(memberId)) {
        this.ctx.logger.warn(
          { groupId: group.groupId, memberId, generationId },
          'empty assignment',
        );
        assignment.set(memberId, EMPTY_BYTES);
      }
    }
    void this.ctx.storeGroup(group, group.toRecord(assignment)).then((error) => {
      // A member may have joined or left meanwhile, starting another rebalance.
      if (!group.is('CompletingRebalance') || group.generationId !== generationId) return;
      if (error !== ErrorCode.NONE) {
        this.resetAndPropagateAssignmentError(group, error);
        this.maybePrepareRebalance(group, 'the assignment could not be stored');
        return;
      }
      for (const member of group.members.values()) {
        member.assignment = assignment.get(member.memberId) ?? EMPTY_BYTES;
      }
      this.propagateAssignment(group, ErrorCode.NONE);
      group.transitionTo('Stable', this.ctx.clock.now());
      this.ctx.logger.info(
        { groupId: group.groupId, generationId, members: group.size },
        'group is stable',
      );
      this.ctx.events.assignmentCompleted(assignmentEvent(group));
    });
  }

  private resetAndPropagateAssignmentError(group: Group, error: number): void {
    for (const member of group.members.values()) member.assignment = EMPTY_BYTES;
    this.propagateAssignment(group, error);
  }

  private propagateAssignment(group: Group, error: number): void {
    for (const member of group.members.values()) {
      const answer =
        error === ErrorCode.NONE ? this.assignmentAnswer(group, member) : syncError(error);
      // A session that ended while the member waited was not expired: it starts again now.
      if (group.answerSync(member, answer)) {
        this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
      }
    }
  }

  private assignmentAnswer(group: Group, member: Member): SyncGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment: member.assignment,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat, offset commits as heartbeats, LeaveGroup

  heartbeat(group: Group, params: HeartbeatParams): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = group.memberError(params.memberId, params.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (params.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.members.get(params.memberId)!;
    this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
    this.ctx.events.memberSeen(memberRef(group, member));
    // Members learn of a rebalance from their heartbeats. After the join phase they heartbeat
    // normally while waiting for their assignment.
    return group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** An offset commit from a member counts as a heartbeat. */
  touch(group: Group, memberId: string): void {
    const member = group.members.get(memberId);
    if (member === undefined) return;
    this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
    this.ctx.events.memberSeen(memberRef(group, member));
  }

  leave(group: Group, members: LeavingMember[]): LeaveGroupResult {
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    return {
      errorCode: ErrorCode.NONE,
      members: members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode: this.leaveOne(group, m),
      })),
    };
  }

  private leaveOne(group: Group, { memberId, groupInstanceId, reason }: LeavingMember): number {
    if (memberId === '') {
      // KIP-345: static members are removed by group.instance.id alone (by an admin).
      const current = groupInstanceId === null ? undefined : group.staticMemberId(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(group, group.members.get(current)!, 'left', reason);
      return ErrorCode.NONE;
    }
    if (group.pendingMembers.has(memberId)) {
      this.removePendingMember(group, memberId);
      return ErrorCode.NONE;
    }
    const error = group.memberError(memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    this.removeMemberAndUpdateGroup(group, group.members.get(memberId)!, 'left', reason);
    return ErrorCode.NONE;
  }

  private removeMemberAndUpdateGroup(
    group: Group,
    member: Member,
    reason: MemberRemovedReason,
    clientReason: string | null = null,
  ): void {
    this.dropMember(group, member, reason);
    if (group.is('PreparingRebalance')) {
      this.tryCompleteJoin(group);
    } else if (group.is('CompletingRebalance') || group.is('Stable')) {
      this.prepareRebalance(group, `member ${member.memberId} ${reason}`, clientReason);
    }
  }

  /** Removes a member for good: parked requests learn it is gone, listeners are told. */
  private dropMember(group: Group, member: Member, reason: MemberRemovedReason): void {
    // A client still alive retries its JoinGroup from scratch.
    group.answerJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    group.answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.cancelSession(member);
    group.remove(member);
    this.ctx.logger.info(
      { groupId: group.groupId, memberId: member.memberId, reason },
      'member removed from group',
    );
    this.ctx.memberRemoved(removedEvent(group, member, reason));
  }

  // -------------------------------------------------------------------------------------------
  // Sessions and pending members

  /**
   * The member's session now ends `timeoutMs` from now. Heartbeats only move the deadline: the
   * timer re-arms itself when it fires early, so a heartbeat touches no timer.
   */
  private scheduleSessionExpiry(group: Group, member: Member, timeoutMs: number): void {
    const now = this.ctx.clock.now();
    member.sessionDeadline = now + timeoutMs;
    if (member.sessionTimer !== null) {
      if (member.sessionTimerDue <= member.sessionDeadline) return;
      this.ctx.clock.clearTimeout(member.sessionTimer);
    }
    this.armSession(group, member, now, timeoutMs);
  }

  private armSession(group: Group, member: Member, now: number, delayMs: number): void {
    member.sessionTimerDue = now + delayMs;
    member.sessionTimer = this.ctx.clock.setTimeout(
      () => this.onSessionTimer(group, member),
      delayMs,
    );
  }

  private onSessionTimer(group: Group, member: Member): void {
    member.sessionTimer = null;
    const now = this.ctx.clock.now();
    if (member.sessionDeadline > now) {
      this.armSession(group, member, now, member.sessionDeadline - now);
    } else if (!member.waitsOnRebalance) {
      // A member waiting on the rebalance gets a new session once it is answered.
      this.removeMemberAndUpdateGroup(group, member, 'expired');
    }
  }

  private cancelSession(member: Member): void {
    if (member.sessionTimer === null) return;
    this.ctx.clock.clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
  }

  /** A pending member id lasts one session timeout unless the member rejoins with it. */
  private addPendingMember(group: Group, memberId: string, timeoutMs: number): void {
    const timer = this.ctx.clock.setTimeout(() => {
      this.ctx.logger.info({ groupId: group.groupId, memberId }, 'pending member expired');
      this.removePendingMember(group, memberId);
    }, timeoutMs);
    group.pendingMembers.set(memberId, timer);
  }

  private removePendingMember(group: Group, memberId: string): void {
    this.forgetPendingMember(group, memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
  }

  private forgetPendingMember(group: Group, memberId: string): void {
    const timer = group.pendingMembers.get(memberId);
    if (timer === undefined) return;
    this.ctx.clock.clearTimeout(timer);
    group.pendingMembers.delete(memberId);
  }

  // -------------------------------------------------------------------------------------------
  // Ownership

  /**
   * A group restored from the log: its members' sessions start now, so those that died with the
   * previous coordinator expire. A group over the maximum size rebalances (Kafka's
   * onGroupLoaded), letting members commit before the last to rejoin are shed.
   */
  restored(group: Group): void {
    if (group.size > this.ctx.config.groupMaxSize) {
      this.prepareRebalance(group, 'restored group is over the maximum size');
    }
    for (const member of group.members.values()) {
      this.scheduleSessionExpiry(group, member, member.sessionTimeoutMs);
      this.ctx.events.memberAdded(memberRef(group, member), 'restored');
    }
    if (group.is('Stable')) this.ctx.events.assignmentCompleted(assignmentEvent(group));
  }

  /**
   * The coordinator lets go of the group (unload or shutdown): parked requests are answered with
   * `errorCode`, timers stop, and nobody is removed.
   */
  close(group: Group, errorCode: number): void {
    for (const member of group.members.values()) {
      group.answerJoin(member, joinError(member.memberId, errorCode));
      group.answerSync(member, syncError(errorCode));
      this.cancelSession(member);
    }
    for (const memberId of [...group.pendingMembers.keys()])
      this.forgetPendingMember(group, memberId);
    if (group.pendingJoin !== null) {
      this.ctx.clock.clearTimeout(group.pendingJoin.timer);
      group.pendingJoin = null;
    }
    this.cancelPendingSync(group);
    group.transitionTo('Dead', this.ctx.clock.now());
  }
}

function memberRef(group: Group, member: Member): MemberRef {
  return {
    groupId: group.groupId,
    memberId: member.memberId,
    clientId: member.clientId,
    clientHost: member.clientHost,
  };
}

/** The group's members with their assignments, once Stable. */
export function assignmentEvent(group: Group): AssignmentEvent {
  return {
    groupId: group.groupId,
    generationId: group.generationId,
    protocolType: group.protocolType ?? '',
    members: [...group.members.values()].map((m) => ({
      ...memberRef(group, m),
      assignment: m.assignment,
    })),
  };
}

function removedEvent(
  group: Group,
  member: Member,
  reason: MemberRemovedReason,
): MemberRemovedEvent {
  return { ...memberRef(group, member), groupInstanceId: member.groupInstanceId, reason };
}
