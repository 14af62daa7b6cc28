/**
 * Drives the group coordinator without sockets: a manual clock, an in-memory persistence that
 * records appends (and can fail or hang them), and client-like steps (join, sync, heartbeat).
 */
import { expect } from 'vitest';
import { GroupCoordinator } from '../../../plugins/kafka/coordinator/group-coordinator.js';
import { offsetsPartitionFor } from '../../../plugins/kafka/coordinator/placement.js';
import type {
  Clock,
  CoordinatorConfig,
  GroupPersistence,
  JoinGroupParams,
  JoinGroupResult,
  MemberRemovedEvent,
  StoredRecord,
  SyncGroupParams,
  TimerHandle,
} from '../../../plugins/kafka/coordinator/types.js';
import {
  ErrorCode,
  Writer,
  encodeConsumerProtocolSubscription,
} from '../../../plugins/kafka/protocol/index.js';

/** Lets promise continuations (and everything they chain) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise's value if it settles once pending work has run, else 'parked'. */
export async function settled<T>(promise: Promise<T>): Promise<T | 'parked'> {
  let result: T | 'parked' = 'parked';
  void promise.then((value) => (result = value));
  await flush();
  return result;
}

interface ManualTimer {
  due: number;
  callback: () => void;
}

/** Time moves only when told; due timers fire in order of due time, then of creation. */
export class ManualClock implements Clock {
  private current: number;
  private lastId = 0;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = ++this.lastId;
    this.timers.set(id, { due: this.current + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing each due timer at its own time and letting its effects run. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      let nextId = -1;
      let next: ManualTimer | undefined;
      for (const [id, timer] of this.timers) {
        if (timer.due <= target && (next === undefined || timer.due < next.due)) {
          nextId = id;
          next = timer;
        }
      }
      if (next === undefined) break;
      this.timers.delete(nextId);
      this.current = next.due;
      next.callback();
      await flush();
    }
    this.current = target;
    await flush();
  }
}

/** Records every durable append; `mode` makes the next appends fail or hang until released. */
export class MemoryPersistence implements GroupPersistence {
  readonly appends: { partition: number; records: StoredRecord[] }[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private hung: (() => void)[] = [];

  append(partition: number, records: StoredRecord[]): Promise<void> {
    if (this.mode === 'fail') return Promise.reject(new Error('disk on fire'));
    this.appends.push({ partition, records });
    if (this.mode === 'hang') return new Promise((resolve) => this.hung.push(resolve));
    return Promise.resolve();
  }

  /** Completes the hung appends and goes back to normal. */
  async release(): Promise<void> {
    this.mode = 'ok';
    const hung = this.hung;
    this.hung = [];
    for (const resolve of hung) resolve();
    await flush();
  }

  get records(): StoredRecord[] {
    return this.appends.flatMap((a) => a.records);
  }

  groupRecords(groupId: string) {
    return this.records.flatMap((r) =>
      r.kind === 'group' && r.groupId === groupId ? [r.value] : [],
    );
  }
}

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

export const CONFIG: CoordinatorConfig = {
  offsetsTopicNumPartitions: 4,
  groupMinSessionTimeoutMs: 6_000,
  groupMaxSessionTimeoutMs: 300_000,
  groupInitialRebalanceDelayMs: 0,
  groupMaxSize: 100,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxSize: 4096,
};

export const SESSION_MS = 10_000;
export const REBALANCE_MS = 30_000;

export interface Harness {
  clock: ManualClock;
  persistence: MemoryPersistence;
  coordinator: GroupCoordinator;
  config: CoordinatorConfig;
  events: MemberRemovedEvent[];
  partitionOf(groupId: string): number;
}

/** A coordinator owning every __consumer_offsets partition (unless `owned` says otherwise). */
export function harness(
  overrides: Partial<CoordinatorConfig> = {},
  owned?: (partition: number) => boolean,
): Harness {
  const config = { ...CONFIG, ...overrides };
  const clock = new ManualClock();
  const persistence = new MemoryPersistence();
  const coordinator = new GroupCoordinator(config, persistence, clock, silentLogger);
  const events: MemberRemovedEvent[] = [];
  coordinator.onMemberRemoved((e) => events.push(e));
  for (let p = 0; p < config.offsetsTopicNumPartitions; p++) {
    if (owned && !owned(p)) continue;
    coordinator.beginLoad(p);
    coordinator.completeLoad(p);
  }
  return {
    clock,
    persistence,
    coordinator,
    config,
    events,
    partitionOf: (groupId) => offsetsPartitionFor(groupId, config.offsetsTopicNumPartitions),
  };
}

/** ConsumerProtocolSubscription bytes: int16 version, then the struct. */
export function subscription(topics: string[], version = 1): Buffer {
  const w = new Writer();
  w.int16(version);
  encodeConsumerProtocolSubscription(w, version, { topics, userData: null });
  return w.toBuffer();
}

export function joinParams(overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    clientId: 'client',
    clientHost: '/10.0.0.1',
    requireKnownMemberId: true,
    reason: null,
    ...overrides,
  };
}

/** SyncGroup of a member (as its JoinGroup answered) without protocol checks or assignments. */
export function syncParams(
  member: { generationId: number; memberId: string },
  overrides: Partial<SyncGroupParams> = {},
): SyncGroupParams {
  return {
    groupId: 'g',
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [],
    ...overrides,
  };
}

/**
 * A member's first JoinGroup as a modern client sends it: a static member joins at once; a
 * dynamic one gets MEMBER_ID_REQUIRED and rejoins with its id. Resolves once that JoinGroup is
 * parked in the group, with its answer still to come.
 */
export async function startJoin(
  h: Harness,
  params: Partial<JoinGroupParams>,
): Promise<{ answer: Promise<JoinGroupResult> }> {
  const p = joinParams(params);
  if (p.groupInstanceId !== null || !p.requireKnownMemberId) {
    return { answer: h.coordinator.joinGroup(p) };
  }
  const first = await h.coordinator.joinGroup(p);
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  return { answer: h.coordinator.joinGroup({ ...p, memberId: first.memberId }) };
}

export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
}

/**
 * Members join together (in order: the first is the leader) and sync; the leader assigns
 * `assignment-<memberId>` to each. Resolves once the group is Stable.
 */
export async function stableGroup(
  h: Harness,
  members: Partial<JoinGroupParams>[],
  groupId = 'g',
): Promise<JoinedMember[]> {
  const parked: Promise<JoinGroupResult>[] = [];
  for (const m of members) parked.push((await startJoin(h, { groupId, ...m })).answer);
  await h.clock.advance(h.config.groupInitialRebalanceDelayMs * 2);
  const joins = await Promise.all(parked);
  for (const j of joins) expect(j.errorCode).toBe(ErrorCode.NONE);
  const leader = joins.find((j) => j.leader === j.memberId);
  expect(leader).toBeDefined();
  const syncs = joins.map((j, i) =>
    h.coordinator.syncGroup(
      syncParams(j, {
        groupId,
        groupInstanceId: members[i].groupInstanceId ?? null,
        assignments:
          j === leader
            ? joins.map((m) => ({
                memberId: m.memberId,
                assignment: Buffer.from(`assignment-${m.memberId}`),
              }))
            : [],
      }),
    ),
  );
  for (const s of await Promise.all(syncs)) expect(s.errorCode).toBe(ErrorCode.NONE);
  return joins.map((j, i) => ({
    memberId: j.memberId,
    groupInstanceId: members[i].groupInstanceId ?? null,
    generationId: j.generationId,
  }));
}

export function state(h: Harness, groupId = 'g'): string {
  return h.coordinator.describeGroups([groupId])[0].state;
}
