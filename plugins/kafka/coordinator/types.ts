/**
 * Contracts of the group coordinator: what it needs from the outside (a clock, persistence in
 * __consumer_offsets) and what it tells the outside (member-removed events). The coordinator
 * itself is a state machine over these, testable without sockets or storage.
 */

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/**
 * The KIP-848 group type of every group here: this coordinator speaks only the classic protocol.
 * ListGroups v5+ reports it and filters on it.
 */
export const CLASSIC_GROUP_TYPE = 'classic';

/** Kafka's group coordinator settings, with KoP's key names. */
export interface CoordinatorConfig {
  /** Partitions of __consumer_offsets; a group lives on abs(hashCode(groupId)) % this. */
  offsetsTopicNumPartitions: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  /** Wait for more members before the first rebalance of an empty group. */
  groupInitialRebalanceDelayMs: number;
  /** Most members a group may have (Kafka's group.max.size). */
  groupMaxSize: number;
  /** An empty group's offsets expire this long after it became empty (KIP-211). */
  offsetsRetentionMs: number;
  /** How often expired offsets are looked for. */
  offsetsRetentionCheckIntervalMs: number;
  /** Largest metadata string an offset commit may carry. */
  offsetMetadataMaxSize: number;
}

/**
 * Time and timers, injected so tests can drive them. A timer callback that throws must not take
 * the process down: an implementation catches and reports it (see createSystemClock).
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  /** Opaque to the coordinator. */
  readonly id: unknown;
}

/**
 * Why a member is gone:
 * - 'left': LeaveGroup, by the member or by an admin naming its group.instance.id;
 * - 'expired': its session ended, or it did not rejoin or sync within the rebalance timeout;
 * - 'fenced': a static member restarted under a new member id, which replaces this one;
 * - 'refused': the group is at group.max.size (or, defensively, the member shares no protocol
 *   with the rest of the group) and the member was turned away with its JoinGroup.
 * Deleting a group removes no member: only Empty groups can be deleted.
 */
export type MemberRemovedReason = 'left' | 'expired' | 'fenced' | 'refused';

/**
 * A member is gone from a group for good. Never sent when a coordinator unloads a group (the
 * group moves, its members do not leave) or when the broker shuts down.
 */
export interface MemberRemovedEvent {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  reason: MemberRemovedReason;
}

/** A member as the coordinator's edges see it (the group-id mapping keys clients by host and id). */
export interface MemberRef {
  groupId: string;
  memberId: string;
  clientId: string;
  clientHost: string;
}

/**
 * A rebalance completed: the group is Stable with these assignments (the bytes the leader sent,
 * in the group's protocol). Also sent for a Stable group restored by a load.
 */
export interface AssignmentEvent {
  groupId: string;
  generationId: number;
  protocolType: string;
  members: (MemberRef & { assignment: Buffer })[];
}

/**
 * What the coordinator tells its edges besides member removals, for the group-id mapping. Every
 * method is optional and called synchronously from the state machine: a listener starts its I/O
 * in the background and returns at once. Like member removals, none of these is sent when a
 * group is unloaded or the coordinator shuts down, except `groupsReleased`.
 */
export interface GroupEventListener {
  /**
   * A member was admitted: `joined` (JoinGroup as a new member), `restarted` (a static member
   * under a new member id) or `restored` (the member of a group this coordinator just loaded).
   */
  memberAdded?(member: MemberRef, how: 'joined' | 'restarted' | 'restored'): void;
  /** A live member was heard from (heartbeat, offset commit, rejoin). Frequent: keep it cheap. */
  memberSeen?(member: MemberRef): void;
  assignmentCompleted?(event: AssignmentEvent): void;
  /** The group is gone: deleted (DeleteGroups), or expired empty without offsets. */
  groupRemoved?(groupId: string): void;
  /** The coordinator let go of these groups without anyone leaving (unload or shutdown). */
  groupsReleased?(groupIds: string[]): void;
}

/** A member as stored in GroupMetadataValue (Kafka's record format for __consumer_offsets). */
export interface MemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the group's chosen protocol. */
  subscription: Buffer;
  assignment: Buffer;
}

/** GroupMetadataValue: the group after a completed rebalance (or when it became empty). */
export interface GroupRecord {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  /** When the group entered its current state (ms); drives offset expiry of empty groups. */
  currentStateTimestamp: number;
  members: MemberRecord[];
}

/** OffsetCommitValue. */
export interface OffsetRecord {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Set only by old clients that asked for a retention time (OffsetCommit v2-4). */
  expireTimestamp: number | null;
}

/** One record of __consumer_offsets, key and value; a null value is a tombstone. */
export type StoredRecord =
  | { kind: 'group'; groupId: string; value: GroupRecord | null }
  | {
      kind: 'offset';
      groupId: string;
      topic: string;
      partition: number;
      value: OffsetRecord | null;
    };

/**
 * Where the coordinator keeps its state: the group's __consumer_offsets partition. Each call
 * appends the records in one batch and resolves once they are durable, so an answer that
 * depends on them is sent only afterwards.
 */
export interface GroupPersistence {
  append(offsetsPartition: number, records: StoredRecord[]): Promise<void>;
}

/** Errors the coordinator answers with, by Kafka error code (see protocol ErrorCode). */
export type ErrorCodeNumber = number;

// ---------------------------------------------------------------------------------------------
// The coordinator's operations, one per group API. Parameters are protocol-neutral: the API
// handlers translate each request version into them (v0 JoinGroup has no rebalance timeout,
// and so on). Every result carries the Kafka error code to answer with.

export interface JoinGroupParams {
  groupId: string;
  /** '' for a member joining without an id. */
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+: a member without an id first gets one with MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  reason: string | null;
}

export interface JoinGroupResult {
  errorCode: ErrorCodeNumber;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Filled for the leader only: every member with its metadata for the chosen protocol. */
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+; null when the client did not send them. */
  protocolType: string | null;
  protocolName: string | null;
  /** From the leader only. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  errorCode: ErrorCodeNumber;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface HeartbeatParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupParams {
  groupId: string;
  members: { memberId: string; groupInstanceId: string | null; reason: string | null }[];
}

export interface LeaveGroupResult {
  /** Group-level error; when not NONE, the member results are empty. */
  errorCode: ErrorCodeNumber;
  members: { memberId: string; groupInstanceId: string | null; errorCode: ErrorCodeNumber }[];
}

export interface CommitOffsetsParams {
  groupId: string;
  /** -1 with memberId '' for a consumer that commits without being a member (assign()). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-4: -1 means the broker's retention. */
  retentionTimeMs: number;
  offsets: {
    topic: string;
    partition: number;
    offset: number;
    leaderEpoch: number;
    metadata: string | null;
  }[];
}

export interface CommitOffsetsResult {
  /** Per partition, in request order. */
  partitions: { topic: string; partition: number; errorCode: ErrorCodeNumber }[];
}

export interface FetchOffsetsParams {
  groupId: string;
  /** Null: every partition the group has offsets for. */
  partitions: { topic: string; partition: number }[] | null;
}

export interface FetchOffsetsResult {
  errorCode: ErrorCodeNumber;
  /** offset -1 and empty metadata for a partition without a committed offset. */
  partitions: {
    topic: string;
    partition: number;
    offset: number;
    leaderEpoch: number;
    metadata: string;
    errorCode: ErrorCodeNumber;
  }[];
}

export interface GroupDescription {
  groupId: string;
  errorCode: ErrorCodeNumber;
  /** 'Dead' for a group that does not exist (with errorCode NONE, as Kafka answers). */
  state: GroupState;
  protocolType: string;
  /** The chosen protocol when Stable, else ''. */
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    /** The member's metadata for the chosen protocol (Stable), else empty. */
    metadata: Buffer;
    /** The member's assignment when Stable, else empty. */
    assignment: Buffer;
  }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

/** A member in full, as the coordinator holds it (for the admin API). */
export interface MemberDetail {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The member's assignment, in the group's protocol; empty until it has one. */
  assignment: Buffer;
}

/** A group in full, as the coordinator holds it (for the admin API; no Kafka API answers this). */
export interface GroupDetail {
  groupId: string;
  state: GroupState;
  /** Null until a member joins (a group that only stores offsets has none). */
  protocolType: string | null;
  /** The protocol chosen at the last rebalance; null before the first. */
  protocol: string | null;
  generationId: number;
  leaderId: string | null;
  /** When the group entered its state (ms); null when its record did not say. */
  stateTimestamp: number | null;
  members: MemberDetail[];
  /** Committed offsets, topics as the clients named them. */
  offsets: ({ topic: string; partition: number } & OffsetRecord)[];
}

export interface DeleteOffsetsResult {
  errorCode: ErrorCodeNumber;
  partitions: { topic: string; partition: number; errorCode: ErrorCodeNumber }[];
}

export interface GroupCoordinatorApi {
  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult>;
  syncGroup(params: SyncGroupParams): Promise<SyncGroupResult>;
  heartbeat(params: HeartbeatParams): Promise<ErrorCodeNumber>;
  leaveGroup(params: LeaveGroupParams): Promise<LeaveGroupResult>;
  commitOffsets(params: CommitOffsetsParams): Promise<CommitOffsetsResult>;
  fetchOffsets(params: FetchOffsetsParams): Promise<FetchOffsetsResult>;
  describeGroups(groupIds: string[]): GroupDescription[];
  /**
   * An empty filter matches every state; state names compare case-insensitively, as Kafka does.
   * Every group is of CLASSIC_GROUP_TYPE: the caller applies ListGroups' type filter.
   */
  listGroups(statesFilter: string[]): { errorCode: ErrorCodeNumber; groups: ListedGroup[] };
  deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: ErrorCodeNumber }[]>;
  deleteOffsets(
    groupId: string,
    partitions: { topic: string; partition: number }[],
  ): Promise<DeleteOffsetsResult>;
  /**
   * The group in full, for the admin API: errorCode NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS
   * or COORDINATOR_NOT_AVAILABLE as for any request, else NONE with the group (null when it
   * does not exist or is Dead).
   */
  inspectGroup(groupId: string): { errorCode: ErrorCodeNumber; group: GroupDetail | null };
  /** The __consumer_offsets partitions this coordinator is still replaying (not serving yet). */
  loadingPartitions(): number[];

  /**
   * Ownership of __consumer_offsets partitions: loading replays records, unloading forgets. A
   * load is named by a token (the ownership epoch it was gained under): records and completion
   * with any other token than the current load's are ignored, so a replay that outlived its
   * ownership cannot fill or complete a newer load.
   */
  beginLoad(offsetsPartition: number, token?: number): void;
  loadRecords(offsetsPartition: number, records: Iterable<StoredRecord>, token?: number): void;
  completeLoad(offsetsPartition: number, token?: number): void;
  /** Drops the partition's groups without member-removed events (the group moves, nobody left). */
  unload(offsetsPartition: number): void;

  onMemberRemoved(listener: (event: MemberRemovedEvent) => void): () => void;
  /** Registers for the other group events (see GroupEventListener); returns an unsubscribe. */
  onGroupEvents(listener: GroupEventListener): () => void;
  /**
   * Stops timers; pending requests (appends in flight included) are answered with
   * COORDINATOR_NOT_AVAILABLE, and so is every later request, as Kafka's inactive coordinator.
   */
  shutdown(): void;
}
