/**
 * Kafka's classic group coordinator (GroupCoordinator with GroupMetadataManager, Kafka 3.x) for
 * the __consumer_offsets partitions this broker owns. It finds and validates each request's
 * group, leaves membership to Membership, keeps committed offsets and expires them (KIP-211),
 * deletes groups and offsets, and loads and unloads partitions. Its effects are at
 * the edges: timers through the Clock, records through GroupPersistence, member removals and the
 * other group events (for the group-id mapping) through listeners.
 */
import { ErrorCode } from '../protocol/index.js';
import type { CoordinatorContext, CoordinatorLogger } from './context.js';
import { Group } from './group.js';
import { joinError, syncError } from './member.js';
import { Membership } from './membership.js';
import type { OffsetCommit, RemovedOffset, TopicPartition } from './offsets.js';
import { PartitionReplay } from './partition-replay.js';
import { offsetsPartitionFor } from './placement.js';
import type {
  Clock,
  CommitOffsetsParams,
  CommitOffsetsResult,
  CoordinatorConfig,
  DeleteOffsetsResult,
  ErrorCodeNumber,
  FetchOffsetsParams,
  FetchOffsetsResult,
  GroupCoordinatorApi,
  GroupDescription,
  GroupDetail,
  GroupEventListener,
  GroupPersistence,
  GroupRecord,
  HeartbeatParams,
  JoinGroupParams,
  JoinGroupResult,
  LeaveGroupParams,
  LeaveGroupResult,
  ListedGroup,
  MemberRemovedEvent,
  OffsetRecord,
  StoredRecord,
  SyncGroupParams,
  SyncGroupResult,
  TimerHandle,
} from './types.js';

/**
 * Most group ids whose __consumer_offsets partition is remembered: routing every heartbeat
 * would otherwise hash its group id again. Past this, the oldest are forgotten first.
 */
const PARTITION_CACHE_SIZE = 10_000;

interface OwnedPartition {
  readonly partition: number;
  /** Set while the partition's log is replayed: its groups answer COORDINATOR_LOAD_IN_PROGRESS. */
  replay: PartitionReplay | null;
  /** The load this state belongs to (the ownership epoch): records of another are stale. */
  readonly loadToken: number;
  readonly groups: Map<string, Group>;
}

export class GroupCoordinator implements GroupCoordinatorApi {
  private readonly partitions = new Map<number, OwnedPartition>();
  private readonly listeners = new Set<(event: MemberRemovedEvent) => void>();
  private readonly groupListeners = new Set<GroupEventListener>();
  private readonly membership: Membership;
  private active = true;
  private expiryTimer: TimerHandle | null = null;
  /**
   * Appends in flight, each by the function that gives up on it: shutdown calls them all, so
   * that appends that never complete stop holding their requests. Each leaves when it settles.
   */
  private readonly inFlight = new Set<() => void>();
  private readonly partitionCache = new Map<string, number>();

  constructor(
    private readonly config: CoordinatorConfig,
    private readonly persistence: GroupPersistence,
    private readonly clock: Clock,
    private readonly logger: CoordinatorLogger,
  ) {
    const context: CoordinatorContext = {
      config,
      clock,
      logger,
      storeGroup: (group, record) => this.storeGroup(group, record),
      memberRemoved: (event) => this.emit(event),
      events: {
        memberAdded: (member, how) => this.tell((l) => l.memberAdded?.(member, how)),
        memberSeen: (member) => this.tell((l) => l.memberSeen?.(member)),
        assignmentCompleted: (event) => this.tell((l) => l.assignmentCompleted?.(event)),
        groupRemoved: (groupId) => this.tell((l) => l.groupRemoved?.(groupId)),
        groupsReleased: (groupIds) => this.tell((l) => l.groupsReleased?.(groupIds)),
      },
    };
    this.membership = new Membership(context);
    this.scheduleOffsetExpiry();
  }

  // -------------------------------------------------------------------------------------------
  // Membership APIs

  joinGroup(params: JoinGroupParams): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      const owned = this.route(params.groupId, false);
      if (typeof owned === 'number') return resolve(joinError(params.memberId, owned));
      const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.config;
      if (params.sessionTimeoutMs < min || params.sessionTimeoutMs > max) {
        return resolve(joinError(params.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
      }
      let group = owned.groups.get(params.groupId);
      if (group === undefined) {
        // Only a member without an id creates a group; a member id for an unknown group is stale.
        if (params.memberId !== '') {
          return resolve(joinError(params.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        }
        group = this.createGroup(owned, params.groupId);
      }
      this.membership.join(group, params, resolve);
    });
  }

  syncGroup(params: SyncGroupParams): Promise<SyncGroupResult> {
    return new Promise((resolve) => {
      const owned = this.route(params.groupId, false);
      if (typeof owned === 'number') {
        // A loading coordinator has lost the rebalance: REBALANCE_IN_PROGRESS sends the member
        // back to JoinGroup, which old clients understand where they do not understand LOAD.
        const loading = owned === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        return resolve(syncError(loading ? ErrorCode.REBALANCE_IN_PROGRESS : owned));
      }
      const group = owned.groups.get(params.groupId);
      if (group === undefined) return resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      this.membership.sync(group, params, resolve);
    });
  }

  async heartbeat(params: HeartbeatParams): Promise<ErrorCodeNumber> {
    const owned = this.route(params.groupId, false);
    if (typeof owned === 'number') {
      // A loading coordinator answers heartbeats blindly, as Kafka does.
      return owned === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.NONE : owned;
    }
    const group = owned.groups.get(params.groupId);
    return group === undefined
      ? ErrorCode.UNKNOWN_MEMBER_ID
      : this.membership.heartbeat(group, params);
  }

  async leaveGroup(params: LeaveGroupParams): Promise<LeaveGroupResult> {
    const owned = this.route(params.groupId, false);
    if (typeof owned === 'number') return { errorCode: owned, members: [] };
    const group = owned.groups.get(params.groupId);
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: params.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
        })),
      };
    }
    return this.membership.leave(group, params.members);
  }

  // -------------------------------------------------------------------------------------------
  // Offsets

  async commitOffsets(params: CommitOffsetsParams): Promise<CommitOffsetsResult> {
    const owned = this.route(params.groupId, true);
    if (typeof owned === 'number') return everyPartition(params, owned);
    let group = owned.groups.get(params.groupId);
    if (group === undefined) {
      // A commit outside group management creates the group; a generation means a stale member.
      if (params.generationId >= 0) return everyPartition(params, ErrorCode.ILLEGAL_GENERATION);
      group = this.createGroup(owned, params.groupId);
    }
    const error = commitValidationError(group, params);
    if (error !== ErrorCode.NONE) return everyPartition(params, error);
    // The member has its new generation from JoinGroup but not its assignment yet. During
    // PreparingRebalance, commits of the previous generation are still allowed (Kafka 3.x).
    if (group.is('CompletingRebalance')) {
      return everyPartition(params, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.membership.touch(group, params.memberId);
    return this.storeOffsets(group, params);
  }

  /** Commits are durable before they are answered or visible to OffsetFetch. */
  private async storeOffsets(
    group: Group,
    params: CommitOffsetsParams,
  ): Promise<CommitOffsetsResult> {
    const now = this.clock.now();
    const tooLarge = (metadata: string | null) =>
      metadata !== null && metadata.length > this.config.offsetMetadataMaxSize;
    const commits: OffsetCommit[] = params.offsets
      .filter((o) => !tooLarge(o.metadata))
      .map((o) => ({
        topic: o.topic,
        partition: o.partition,
        record: {
          offset: o.offset,
          leaderEpoch: o.leaderEpoch,
          metadata: o.metadata ?? '',
          commitTimestamp: now,
          // OffsetCommit v2-4 may ask for its own retention; -1 is the broker's.
          expireTimestamp: params.retentionTimeMs === -1 ? null : now + params.retentionTimeMs,
        },
      }));
    if (commits.length === 0) return everyPartition(params, ErrorCode.OFFSET_METADATA_TOO_LARGE);

    const commitId = group.offsets.beginCommit(commits);
    const error = await this.append(
      group.offsetsPartition,
      commits.map((c) => offsetRecord(group.groupId, c.topic, c.partition, c.record)),
    );
    if (!group.is('Dead')) {
      if (error === ErrorCode.NONE) group.offsets.completeCommit(commitId, commits);
      else group.offsets.failCommit(commitId, commits);
    }
    return {
      partitions: params.offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        errorCode: tooLarge(o.metadata) ? ErrorCode.OFFSET_METADATA_TOO_LARGE : error,
      })),
    };
  }

  async fetchOffsets({ groupId, partitions }: FetchOffsetsParams): Promise<FetchOffsetsResult> {
    const owned = this.route(groupId, true);
    if (typeof owned === 'number') return { errorCode: owned, partitions: [] };
    // Whatever the group's state: a group may use the coordinator only to store offsets.
    const group = owned.groups.get(groupId);
    const offsets = group === undefined || group.is('Dead') ? null : group.offsets;
    if (partitions === null) {
      const all = offsets === null ? [] : [...offsets.all()];
      return { errorCode: ErrorCode.NONE, partitions: all.map((c) => fetched(c, c.record)) };
    }
    return {
      errorCode: ErrorCode.NONE,
      partitions: partitions.map((tp) => fetched(tp, offsets?.get(tp.topic, tp.partition))),
    };
  }

  async deleteOffsets(groupId: string, partitions: TopicPartition[]): Promise<DeleteOffsetsResult> {
    const owned = this.route(groupId, false);
    if (typeof owned === 'number') return { errorCode: owned, partitions: [] };
    const group = owned.groups.get(groupId);
    if (group === undefined || group.is('Dead')) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
    }
    const empty = group.is('Empty');
    if (!empty && !group.isConsumerGroup) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
    }
    // KIP-496: the offsets of topics a live consumer group consumes stay.
    const results = partitions.map((tp) => ({
      topic: tp.topic,
      partition: tp.partition,
      errorCode:
        !empty && group.isSubscribedToTopic(tp.topic)
          ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
          : ErrorCode.NONE,
    }));
    const eligible = results.filter((r) => r.errorCode === ErrorCode.NONE);
    if (eligible.length > 0) {
      const error = await this.cleanUp(owned, group, group.offsets.remove(eligible));
      // Nothing was deleted: the offsets stay, in memory as in the log.
      if (error !== ErrorCode.NONE) return { errorCode: error, partitions: [] };
    }
    return { errorCode: ErrorCode.NONE, partitions: results };
  }

  private scheduleOffsetExpiry(): void {
    this.expiryTimer = this.clock.setTimeout(() => {
      this.expireOffsets();
      this.scheduleOffsetExpiry();
    }, this.config.offsetsRetentionCheckIntervalMs);
  }

  /** Kafka's periodic cleanupGroupMetadata over every group this coordinator holds. */
  private expireOffsets(): void {
    const now = this.clock.now();
    let expired = 0;
    for (const owned of this.partitions.values()) {
      if (owned.replay !== null) continue;
      for (const group of owned.groups.values()) {
        if (group.is('Dead')) continue;
        const removed = group.removeExpiredOffsets(now, this.config.offsetsRetentionMs);
        expired += removed.length;
        void this.cleanUp(owned, group, removed);
      }
    }
    if (expired > 0) this.logger.info({ expired }, 'expired committed offsets');
  }

  /**
   * After offsets were removed: an Empty group left without offsets dies, as does a group being
   * deleted. Tombstones are written for the removed offsets and for a dead group's metadata,
   * unless it never had any (generation 0: it only stored offsets). A dead group leaves the
   * index once they are written; until then it answers as Kafka's Dead group does.
   *
   * If the tombstones cannot be written, the removal is undone (the log still holds what they
   * would have deleted, and a restart would bring it back): the offsets return and a dead group
   * is Empty again. Resolves to the error to answer with; expiry only logs it and retries at its
   * next run.
   */
  private async cleanUp(
    owned: OwnedPartition,
    group: Group,
    removed: RemovedOffset[],
    deleting = false,
  ): Promise<ErrorCodeNumber> {
    const stateTimestamp = group.stateTimestamp;
    const dies = deleting || (group.is('Empty') && group.offsets.isEmpty);
    if (dies) group.transitionTo('Dead', this.clock.now());
    const tombstones: StoredRecord[] = removed.map((tp) =>
      offsetRecord(group.groupId, tp.topic, tp.partition, null),
    );
    if (dies && group.generationId > 0) {
      tombstones.push({ kind: 'group', groupId: group.groupId, value: null });
    }
    const error =
      tombstones.length > 0 ? await this.append(owned.partition, tombstones) : ErrorCode.NONE;
    // Unloaded or shut down meanwhile: the group is no longer this coordinator's to change.
    const held =
      this.partitions.get(owned.partition) === owned && owned.groups.get(group.groupId) === group;
    if (error !== ErrorCode.NONE) {
      if (held) {
        if (dies) group.revive(stateTimestamp);
        group.offsets.reinstate(removed);
        this.logger.warn(
          { groupId: group.groupId, offsets: removed.length, errorCode: error },
          'could not write tombstones; the offsets (and group) stay until a retry succeeds',
        );
      }
      return error;
    }
    if (dies && held) {
      owned.groups.delete(group.groupId);
      this.logger.info({ groupId: group.groupId }, 'group removed');
      this.tell((l) => l.groupRemoved?.(group.groupId));
    }
    return ErrorCode.NONE;
  }

  // -------------------------------------------------------------------------------------------
  // Administration

  describeGroups(groupIds: string[]): GroupDescription[] {
    return groupIds.map((groupId) => {
      const owned = this.route(groupId, true);
      if (typeof owned === 'number') return undescribed(groupId, owned);
      return owned.groups.get(groupId)?.describe() ?? undescribed(groupId, ErrorCode.NONE);
    });
  }

  listGroups(statesFilter: string[]): { errorCode: ErrorCodeNumber; groups: ListedGroup[] } {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    let loading = false;
    const groups: ListedGroup[] = [];
    for (const owned of this.partitions.values()) {
      // Groups of a partition still loading are not known yet; the answer says so.
      if (owned.replay !== null) loading = true;
      for (const group of owned.groups.values()) {
        const listed = states.size === 0 || states.has(group.state.toLowerCase());
        if (!listed || group.is('Dead')) continue;
        groups.push({
          groupId: group.groupId,
          protocolType: group.protocolType ?? '',
          state: group.state,
        });
      }
    }
    return { errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  inspectGroup(groupId: string): { errorCode: ErrorCodeNumber; group: GroupDetail | null } {
    const owned = this.route(groupId, true);
    if (typeof owned === 'number') return { errorCode: owned, group: null };
    const group = owned.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return { errorCode: ErrorCode.NONE, group: null };
    return {
      errorCode: ErrorCode.NONE,
      group: {
        groupId,
        state: group.state,
        protocolType: group.protocolType,
        protocol: group.protocolName,
        generationId: group.generationId,
        leaderId: group.leaderId,
        stateTimestamp: group.stateTimestamp,
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          sessionTimeoutMs: m.sessionTimeoutMs,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          assignment: m.assignment,
        })),
        offsets: [...group.offsets.all()].map((c) => ({
          topic: c.topic,
          partition: c.partition,
          ...c.record,
        })),
      },
    };
  }

  loadingPartitions(): number[] {
    const loading: number[] = [];
    for (const owned of this.partitions.values()) {
      if (owned.replay !== null) loading.push(owned.partition);
    }
    return loading.sort((a, b) => a - b);
  }

  /**
   * Only Empty groups can be deleted; their offsets go with them. A group whose tombstones
   * cannot be written stays, and is answered with the error (COORDINATOR_NOT_AVAILABLE).
   */
  async deleteGroups(
    groupIds: string[],
  ): Promise<{ groupId: string; errorCode: ErrorCodeNumber }[]> {
    // Each group is checked and marked Dead at once, in request order; only the appends wait.
    const results = groupIds.map(async (groupId) => {
      const owned = this.route(groupId, true);
      if (typeof owned === 'number') return { groupId, errorCode: owned };
      const group = owned.groups.get(groupId);
      if (group === undefined || group.is('Dead')) {
        return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      }
      if (!group.is('Empty')) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP };
      const errorCode = await this.cleanUp(owned, group, group.offsets.removeAll(), true);
      return { groupId, errorCode };
    });
    return Promise.all(results);
  }

  // -------------------------------------------------------------------------------------------
  // Ownership of __consumer_offsets partitions

  beginLoad(offsetsPartition: number, token = 0): void {
    if (!this.active) return;
    if (this.partitions.has(offsetsPartition)) {
      this.logger.warn({ offsetsPartition }, 'partition loaded again; dropping its current state');
      this.unload(offsetsPartition);
    }
    this.partitions.set(offsetsPartition, {
      partition: offsetsPartition,
      replay: new PartitionReplay(),
      loadToken: token,
      groups: new Map(),
    });
  }

  /**
   * Records of a partition no longer loading (unloaded meanwhile), or of an older load of it (a
   * replay begun before the partition was lost and gained again), are ignored.
   */
  loadRecords(offsetsPartition: number, records: Iterable<StoredRecord>, token = 0): void {
    const owned = this.partitions.get(offsetsPartition);
    if (owned?.replay == null || owned.loadToken !== token) return;
    for (const record of records) owned.replay.add(record);
  }

  completeLoad(offsetsPartition: number, token = 0): void {
    const owned = this.partitions.get(offsetsPartition);
    // A stale load must not mark a newer one loaded: that one has not read the log yet.
    if (owned === undefined || owned.replay === null || owned.loadToken !== token) return;
    for (const group of owned.replay.groups(offsetsPartition, this.clock.now())) {
      owned.groups.set(group.groupId, group);
      this.membership.restored(group);
    }
    owned.replay = null;
    this.logger.info({ offsetsPartition, groups: owned.groups.size }, 'offsets partition loaded');
  }

  /** The groups move to another coordinator: parked requests are redirected, nobody left. */
  unload(offsetsPartition: number): void {
    const owned = this.partitions.get(offsetsPartition);
    if (owned === undefined) return;
    this.partitions.delete(offsetsPartition);
    for (const group of owned.groups.values())
      this.membership.close(group, ErrorCode.NOT_COORDINATOR);
    this.tell((l) => l.groupsReleased?.([...owned.groups.keys()]));
    this.logger.info({ offsetsPartition, groups: owned.groups.size }, 'offsets partition unloaded');
  }

  onMemberRemoved(listener: (event: MemberRemovedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onGroupEvents(listener: GroupEventListener): () => void {
    this.groupListeners.add(listener);
    return () => this.groupListeners.delete(listener);
  }

  shutdown(): void {
    if (!this.active) return;
    this.active = false;
    if (this.expiryTimer !== null) this.clock.clearTimeout(this.expiryTimer);
    const released: string[] = [];
    for (const owned of this.partitions.values()) {
      for (const group of owned.groups.values()) {
        this.membership.close(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        released.push(group.groupId);
      }
    }
    this.partitions.clear();
    this.tell((l) => l.groupsReleased?.(released));
    for (const giveUp of this.inFlight) giveUp();
  }

  /** Appends not settled yet (each holds a request or a rebalance until it is). */
  get pendingAppends(): number {
    return this.inFlight.size;
  }

  /**
   * The groups this coordinator serves now (their partitions loaded), Dead ones aside: what its
   * consumer-group metrics and lag samples cover. For reading only.
   */
  *heldGroups(): IterableIterator<Group> {
    if (!this.active) return;
    for (const owned of this.partitions.values()) {
      if (owned.replay !== null) continue;
      for (const group of owned.groups.values()) if (!group.is('Dead')) yield group;
    }
  }

  /** The group if this coordinator serves it now (see heldGroups). For reading only. */
  heldGroup(groupId: string): Group | undefined {
    const owned = this.route(groupId, true);
    const group = typeof owned === 'number' ? undefined : owned.groups.get(groupId);
    return group?.is('Dead') ? undefined : group;
  }

  // -------------------------------------------------------------------------------------------
  // Edges

  /**
   * Kafka's validateGroupStatus: a valid group id (only the offset APIs, DescribeGroups and
   * DeleteGroups accept '', for old clients), a running coordinator, and the group's partition
   * owned and loaded here.
   */
  private route(groupId: string, emptyIdAllowed: boolean): OwnedPartition | ErrorCodeNumber {
    if (groupId === '' && !emptyIdAllowed) return ErrorCode.INVALID_GROUP_ID;
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const owned = this.partitions.get(this.partitionOf(groupId));
    if (owned === undefined) return ErrorCode.NOT_COORDINATOR;
    if (owned.replay !== null) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return owned;
  }

  /** offsetsPartitionFor, remembered for the most recently seen group ids. */
  private partitionOf(groupId: string): number {
    let partition = this.partitionCache.get(groupId);
    if (partition === undefined) {
      partition = offsetsPartitionFor(groupId, this.config.offsetsTopicNumPartitions);
      if (this.partitionCache.size >= PARTITION_CACHE_SIZE) {
        this.partitionCache.delete(this.partitionCache.keys().next().value!);
      }
      this.partitionCache.set(groupId, partition);
    }
    return partition;
  }

  private createGroup(owned: OwnedPartition, groupId: string): Group {
    const group = new Group(groupId, owned.partition, 'Empty', this.clock.now());
    owned.groups.set(groupId, group);
    return group;
  }

  private storeGroup(group: Group, record: GroupRecord): Promise<ErrorCodeNumber> {
    return this.append(group.offsetsPartition, [
      { kind: 'group', groupId: group.groupId, value: record },
    ]);
  }

  /**
   * Appends and waits until durable; resolves to the error to answer with. A failed append is
   * COORDINATOR_NOT_AVAILABLE (retry here), or NOT_COORDINATOR once the partition has moved. An
   * append still in flight at shutdown, or asked for after it, is COORDINATOR_NOT_AVAILABLE.
   */
  private async append(
    offsetsPartition: number,
    records: StoredRecord[],
  ): Promise<ErrorCodeNumber> {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // A promise of this append's own, so nothing outlives it (a shared one that settles only at
    // shutdown would keep a reaction for every append ever raced against it).
    let giveUp: () => void = () => {};
    const abandoned = new Promise<'stopped'>((resolve) => {
      giveUp = () => resolve('stopped');
    });
    this.inFlight.add(giveUp);
    try {
      const outcome = await Promise.race([
        this.persistence.append(offsetsPartition, records),
        abandoned,
      ]);
      return outcome === 'stopped' ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NONE;
    } catch (err) {
      this.logger.error({ err, offsetsPartition }, 'could not append to __consumer_offsets');
      return this.partitions.has(offsetsPartition)
        ? ErrorCode.COORDINATOR_NOT_AVAILABLE
        : ErrorCode.NOT_COORDINATOR;
    } finally {
      this.inFlight.delete(giveUp);
    }
  }

  /** Tells every group-event listener; one that throws is logged and does not stop the others. */
  private tell(call: (listener: GroupEventListener) => void): void {
    for (const listener of this.groupListeners) {
      try {
        call(listener);
      } catch (err) {
        this.logger.error({ err }, 'group event listener failed');
      }
    }
  }

  private emit(event: MemberRemovedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event }, 'member-removed listener failed');
      }
    }
  }
}

/**
 * Kafka's validateOffsetCommit: a commit naming a member (a generation, member id or instance
 * id) must come from the current generation; one naming none is accepted only by an empty group.
 */
function commitValidationError(group: Group, params: CommitOffsetsParams): ErrorCodeNumber {
  if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  if (params.generationId >= 0 || params.memberId !== '' || params.groupInstanceId !== null) {
    const memberError = group.memberError(params.memberId, params.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    return params.generationId === group.generationId
      ? ErrorCode.NONE
      : ErrorCode.ILLEGAL_GENERATION;
  }
  return group.is('Empty') ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
}

function everyPartition(
  params: CommitOffsetsParams,
  errorCode: ErrorCodeNumber,
): CommitOffsetsResult {
  return {
    partitions: params.offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode })),
  };
}

function fetched(
  tp: TopicPartition,
  record: OffsetRecord | undefined,
): FetchOffsetsResult['partitions'][number] {
  return {
    topic: tp.topic,
    partition: tp.partition,
    offset: record?.offset ?? -1,
    leaderEpoch: record?.leaderEpoch ?? -1,
    metadata: record?.metadata ?? '',
    errorCode: ErrorCode.NONE,
  };
}

function offsetRecord(
  groupId: string,
  topic: string,
  partition: number,
  value: OffsetRecord | null,
): StoredRecord {
  return { kind: 'offset', groupId, topic, partition, value };
}

/**
 * A group that cannot be described: Kafka answers Dead (with NONE) for a group it does not
 * know. For an error Kafka leaves the state blank; the contract has no blank state, so Dead.
 */
function undescribed(groupId: string, errorCode: ErrorCodeNumber): GroupDescription {
  return { groupId, errorCode, state: 'Dead', protocolType: '', protocolData: '', members: [] };
}
