/**
 * A consumer-group member played at the protocol level with the raw client, so that a test
 * decides the order of what a real client does on its own time: FindCoordinator through its
 * bootstrap broker, JoinGroup (v5: MEMBER_ID_REQUIRED, then again with the id) and SyncGroup on
 * the coordinator, a Heartbeat every second, and Fetch of every partition of its topic from the
 * partitions' leaders, all under one client id. A test stops its heartbeats, asks FindCoordinator
 * again and joins as a new member when it chooses (a client that timed out before its
 * coordinator did, and rejoined).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiKey,
  ErrorCode,
  errorName,
  Reader,
  Writer,
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
} from '../../plugins/kafka/protocol/index.js';
import { fetchRequest, RawConnection } from './raw-client.js';
import { decodeBatches } from './record-batches.js';
import { waitFor } from './wait.js';

export interface RawGroupMemberOptions {
  /** Every broker's Kafka port, by broker id (Metadata and FindCoordinator name brokers by id). */
  ports: number[];
  /** The broker its FindCoordinator requests go to, as a client's bootstrap broker. */
  bootstrap: number;
  clientId: string;
  group: string;
  topic: string;
  partitions: number;
  /** Default 6000 (the broker's minimum). */
  sessionTimeoutMs?: number;
  log?: (line: string) => void;
}

const RETRIABLE = new Set<number>([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_COORDINATOR,
]);

export class RawGroupMember {
  memberId = '';
  generationId = -1;
  /** The coordinator's broker id, as the last FindCoordinator answered. */
  coordinator = -1;
  assigned: number[] = [];
  /** When the coordinator last answered one of its heartbeats without error. */
  lastHeartbeatAt = 0;
  /** Records fetched. */
  fetched = 0;
  /** Next offset to fetch and the last high watermark seen, per partition. */
  readonly offsets: number[];
  readonly highWatermarks: number[];
  private readonly answeredAt: number[];
  private findConn?: RawConnection;
  private coordConn?: RawConnection;
  private readonly fetchConns = new Map<number, RawConnection>();
  private leaders = new Map<number, number>();
  private heartbeats?: Promise<void>;
  private heartbeating = false;
  private fetching?: Promise<void>;
  private closed = false;
  private readonly sessionTimeoutMs: number;
  private readonly log: (line: string) => void;

  constructor(private readonly o: RawGroupMemberOptions) {
    this.offsets = Array.from({ length: o.partitions }, () => 0);
    this.highWatermarks = Array.from({ length: o.partitions }, () => -1);
    this.answeredAt = Array.from({ length: o.partitions }, () => 0);
    this.sessionTimeoutMs = o.sessionTimeoutMs ?? 6000;
    this.log = o.log ?? (() => undefined);
  }

  /** Finds the coordinator, joins, heartbeats, and fetches every partition from now on. */
  async start(): Promise<void> {
    await this.findCoordinator();
    await this.joinAsNewMember();
    this.fetching = this.fetchLoop();
  }

  /**
   * FindCoordinator (v3) through the bootstrap broker, on the connection kept to it (the broker
   * records this client in the group-id mapping as it answers).
   */
  async findCoordinator(): Promise<number> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      this.findConn = await this.reopen(this.findConn, this.o.bootstrap);
      const { body } = await this.findConn.request(ApiKey.FindCoordinator, 3, {
        key: this.o.group,
        keyType: 0,
      });
      if (body.errorCode === ErrorCode.NONE) {
        this.coordinator = body.nodeId!;
        return this.coordinator;
      }
      if (!RETRIABLE.has(body.errorCode!) || Date.now() > deadline)
        throw new Error(`FindCoordinator ${this.o.group}: ${errorName(body.errorCode!)}`);
      await sleep(100);
    }
  }

  /**
   * Joins the group as a new member (no member id) on a new connection to the coordinator, syncs
   * (assigning the partitions when it leads), and heartbeats again. Resolves once the rebalance
   * completed: while an old member of this client is still in the group, that is when the
   * coordinator expires it.
   */
  async joinAsNewMember(): Promise<void> {
    await this.stopHeartbeats();
    this.coordConn?.close();
    this.coordConn = await RawConnection.open(
      this.o.ports[this.coordinator],
      '127.0.0.1',
      this.o.clientId,
    );
    const request = {
      groupId: this.o.group,
      sessionTimeoutMs: this.sessionTimeoutMs,
      rebalanceTimeoutMs: this.sessionTimeoutMs,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(this.o.topic) }],
    };
    const first = await this.coordConn.request(ApiKey.JoinGroup, 5, request);
    if (first.body.errorCode !== ErrorCode.MEMBER_ID_REQUIRED)
      throw new Error(`JoinGroup ${this.o.group}: ${errorName(first.body.errorCode)}`);
    const timeout = 2 * this.sessionTimeoutMs + 5000;
    const joined = await this.coordConn.request(
      ApiKey.JoinGroup,
      5,
      { ...request, memberId: first.body.memberId },
      2,
      timeout,
    );
    const j = joined.body;
    if (j.errorCode !== ErrorCode.NONE)
      throw new Error(`JoinGroup ${this.o.group}: ${errorName(j.errorCode)}`);
    this.memberId = j.memberId;
    this.generationId = j.generationId;
    const assignments =
      j.leader === j.memberId ? this.assign(j.members.map((m) => m.memberId).sort()) : [];
    const synced = await this.coordConn.request(
      ApiKey.SyncGroup,
      3,
      {
        groupId: this.o.group,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        assignments,
      },
      3,
      timeout,
    );
    if (synced.body.errorCode !== ErrorCode.NONE)
      throw new Error(`SyncGroup ${this.o.group}: ${errorName(synced.body.errorCode)}`);
    this.assigned = assignedPartitions(synced.body.assignment);
    this.lastHeartbeatAt = Date.now();
    this.startHeartbeats();
  }

  /** Stops heartbeating (a client frozen, or cut off from its coordinator); resolves once quiet. */
  async stopHeartbeats(): Promise<void> {
    this.heartbeating = false;
    await this.heartbeats;
  }

  /** The members of the group, as its coordinator describes them (DescribeGroups v4). */
  async members(): Promise<{ state: string; memberIds: string[] }> {
    const conn = await RawConnection.open(
      this.o.ports[this.coordinator],
      '127.0.0.1',
      'scenario-probe',
    );
    try {
      const { body } = await conn.request(ApiKey.DescribeGroups, 4, {
        groups: [this.o.group],
        includeAuthorizedOperations: false,
      });
      const g = body.groups[0];
      return { state: g.groupState, memberIds: g.members.map((m) => m.memberId) };
    } finally {
      conn.close();
    }
  }

  /** Waits until it has fetched up to the high watermark of every partition, seen after `since`. */
  async awaitCaughtUp(since: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${this.o.clientId} to fetch every message of ${this.o.topic}`,
      () =>
        this.offsets.every(
          (offset, p) => this.answeredAt[p] > since && offset >= this.highWatermarks[p],
        ),
      timeoutMs,
      50,
    );
  }

  /** Leaves the group (LeaveGroup v3) and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopHeartbeats();
    await this.fetching;
    if (this.coordConn && this.memberId !== '') {
      await this.coordConn
        .request(ApiKey.LeaveGroup, 3, {
          groupId: this.o.group,
          members: [{ memberId: this.memberId, groupInstanceId: null }],
        })
        .catch(() => undefined);
    }
    this.coordConn?.close();
    this.findConn?.close();
    for (const conn of this.fetchConns.values()) conn.close();
  }

  // ---- the loops ----------------------------------------------------------------------------

  private startHeartbeats(): void {
    this.heartbeating = true;
    const conn = this.coordConn!;
    const loop = async () => {
      while (this.heartbeating && !this.closed) {
        await sleep(1000);
        if (!this.heartbeating || this.closed) return;
        const { body } = await conn.request(ApiKey.Heartbeat, 3, {
          groupId: this.o.group,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: null,
        });
        if (body.errorCode === ErrorCode.NONE) this.lastHeartbeatAt = Date.now();
        else this.log(`${this.o.clientId}: heartbeat ${errorName(body.errorCode)}`);
      }
    };
    this.heartbeats = loop().catch((err: unknown) => {
      this.log(`${this.o.clientId}: heartbeats stopped: ${String(err)}`);
    });
  }

  /** Fetches every partition from its leader, each leader's partitions in one request. */
  private async fetchLoop(): Promise<void> {
    while (!this.closed) {
      try {
        if (this.leaders.size < this.o.partitions) await this.refreshLeaders();
        const byLeader = new Map<number, number[]>();
        for (const [p, leader] of this.leaders) {
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
        }
        await Promise.all([...byLeader].map(([leader, ps]) => this.fetchFrom(leader, ps)));
      } catch (err) {
        this.log(`${this.o.clientId}: fetch: ${String(err)}`);
        this.leaders.clear();
        await sleep(200);
      }
    }
  }

  private async fetchFrom(leader: number, partitions: number[]): Promise<void> {
    let conn = this.fetchConns.get(leader);
    if (conn === undefined || conn.closed) {
      conn = await RawConnection.open(this.o.ports[leader], '127.0.0.1', this.o.clientId);
      this.fetchConns.set(leader, conn);
    }
    const { body } = await conn.request(
      ApiKey.Fetch,
      12,
      fetchRequest(
        this.o.topic,
        partitions.map((partition) => ({ partition, fetchOffset: this.offsets[partition] })),
        { maxWaitMs: 200, minBytes: 1, maxBytes: 1 << 20, partitionMaxBytes: 256 << 10 },
      ),
      4,
      10_000,
    );
    const now = Date.now();
    for (const answer of body.responses[0]?.partitions ?? []) {
      const p = answer.partitionIndex;
      if (answer.errorCode !== ErrorCode.NONE) {
        this.leaders.delete(p);
        continue;
      }
      for (const batch of decodeBatches(answer.records ?? Buffer.alloc(0))) {
        if (batch.lastOffset < this.offsets[p]) continue;
        this.fetched += batch.lastOffset + 1 - Math.max(batch.baseOffset, this.offsets[p]);
        this.offsets[p] = batch.lastOffset + 1;
      }
      this.highWatermarks[p] = answer.highWatermark;
      this.answeredAt[p] = now;
    }
  }

  private async refreshLeaders(): Promise<void> {
    this.findConn = await this.reopen(this.findConn, this.o.bootstrap);
    const { body } = await this.findConn.request(ApiKey.Metadata, 12, {
      topics: [{ name: this.o.topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    this.leaders = new Map();
    for (const p of body.topics[0]?.partitions ?? []) {
      if (p.errorCode === ErrorCode.NONE && p.leaderId >= 0)
        this.leaders.set(p.partitionIndex, p.leaderId);
    }
    if (this.leaders.size < this.o.partitions) await sleep(200);
  }

  private async reopen(conn: RawConnection | undefined, broker: number): Promise<RawConnection> {
    if (conn !== undefined && !conn.closed) return conn;
    return RawConnection.open(this.o.ports[broker], '127.0.0.1', this.o.clientId);
  }

  /** The leader's assignment: the partitions dealt round-robin over the members (sorted). */
  private assign(memberIds: string[]) {
    return memberIds.map((memberId, i) => ({
      memberId,
      assignment: assignment(
        this.o.topic,
        Array.from({ length: this.o.partitions }, (_, p) => p).filter(
          (p) => p % memberIds.length === i,
        ),
      ),
    }));
  }
}

function subscription(topic: string): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeConsumerProtocolSubscription(w, 0, { topics: [topic], userData: null });
  return w.toBuffer();
}

function assignment(topic: string, partitions: number[]): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeConsumerProtocolAssignment(w, 0, {
    assignedPartitions: [{ topic, partitions }],
    userData: null,
  });
  return w.toBuffer();
}

function assignedPartitions(bytes: Buffer): number[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  return decodeConsumerProtocolAssignment(r, version)
    .assignedPartitions.flatMap((t) => t.partitions)
    .sort((a, b) => a - b);
}
