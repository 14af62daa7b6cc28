/**
 * Consumer-group members of other client libraries as child processes (kcat -G, the python
 * group_consumer.py), with what a user of each sees parsed from its output: the partitions it
 * holds, its assign/revoke events and the messages it consumed. Also topic setup with kafkajs,
 * and OffsetFetch / DescribeGroups answers read with the raw client from the group's coordinator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Consumer, stringDeserializers, type MessagesStream } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey, Reader } from '../../plugins/kafka/protocol/index.js';
import { decodeConsumerProtocolAssignment } from '../../plugins/kafka/protocol/generated/consumer-protocol-assignment.js';
import { PY_CLIENTS, PYTHON } from './processes.js';
import { openCoordinator } from './raw-client.js';
import { waitFor } from './wait.js';

export interface Consumed {
  partition: number;
  offset: number;
  value: string;
}

export interface RebalanceEvent {
  kind: 'assigned' | 'revoked';
  partitions: number[];
}

/** What a test sees of a group member, whatever its client. */
export interface GroupMember {
  readonly name: string;
  /** The partitions it holds now, following its assign/revoke events. */
  readonly partitions: Set<number>;
  readonly events: RebalanceEvent[];
  readonly consumed: Consumed[];
  held(): number[];
  /** Closes it as its user would (commit, leave the group); resolves with its exit code. */
  stop(): Promise<number | null>;
  kill(): void;
  /** Its recent output, for failure messages. */
  describe(): string;
}

/** A group member in a child process; `partitions` follows its assign/revoke events. */
export class MemberProcess implements GroupMember {
  readonly partitions = new Set<number>();
  readonly events: RebalanceEvent[] = [];
  readonly consumed: Consumed[] = [];
  /** Every line the process printed, for failure messages. */
  readonly output: string[] = [];
  exitCode: number | null | undefined = undefined;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    parse: { stdout?: (line: string) => void; stderr?: (line: string) => void },
  ) {
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (stream: NodeJS.ReadableStream, each?: (line: string) => void) => {
      let buffered = '';
      stream.on('data', (d: Buffer) => {
        buffered += d.toString();
        const complete = buffered.split('\n');
        buffered = complete.pop()!;
        for (const line of complete) {
          this.output.push(line);
          each?.(line);
        }
      });
    };
    lines(this.child.stdout!, parse.stdout);
    lines(this.child.stderr!, parse.stderr);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The partitions it holds, sorted. */
  held(): number[] {
    return [...this.partitions].sort((a, b) => a - b);
  }

  record(kind: RebalanceEvent['kind'], partitions: number[]): void {
    this.events.push({ kind, partitions: [...partitions].sort((a, b) => a - b) });
    for (const p of partitions) {
      if (kind === 'assigned') this.partitions.add(p);
      else this.partitions.delete(p);
    }
  }

  /** Sends `signal` (SIGINT: the client closes cleanly) and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 20_000): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    await waitFor(`${this.name} to exit after ${signal}`, () => !this.running, timeoutMs);
    return this.exitCode!;
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** SIGSTOP / SIGCONT: the client freezes (heartbeats too) and thaws. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.running) this.child.kill(signal);
  }

  describe(): string {
    return `${this.name} (exit ${this.exitCode}):\n${this.output.slice(-40).join('\n')}`;
  }
}

export interface MemberOptions {
  bootstrap: string;
  group: string;
  topic: string;
  /** client.id: how DescribeGroups and __consumer_offsets name the member. */
  clientId: string;
  /** Extra client settings (key=value). */
  settings?: Record<string, string>;
}

/**
 * kcat -G (librdkafka's KafkaConsumer): prints "partition offset value" per message and, with -v,
 * a "Group ... rebalanced" line per assignment change on stderr. Commits automatically and on
 * close (SIGINT), then leaves the group. (kcat gives -X auto.commit.interval.ms to the legacy
 * topic-level property, so the consumer's own interval stays at librdkafka's 5 s.)
 */
export function kcatMember(name: string, o: MemberOptions): MemberProcess {
  const settings: Record<string, string> = {
    'client.id': o.clientId,
    // -o would override the committed offsets: reset only where nothing is committed.
    'auto.offset.reset': 'earliest',
    'session.timeout.ms': '6000',
    'heartbeat.interval.ms': '500',
    ...o.settings,
  };
  const args = ['-b', o.bootstrap, '-G', o.group, '-u', '-v', '-f', '%p %o %s\\n'];
  for (const [k, v] of Object.entries(settings)) args.push('-X', `${k}=${v}`);
  args.push(o.topic);
  const member: MemberProcess = new MemberProcess(name, 'kcat', args, {
    stdout: (line) => {
      const m = /^(\d+) (\d+) (.*)$/.exec(line);
      if (m) member.consumed.push({ partition: Number(m[1]), offset: Number(m[2]), value: m[3] });
    },
    // "% Group G rebalanced (memberid M): assigned: t [0], t [1]" (eager), or
    // "% Group G rebalanced: incremental revoke of 2 partition(s) (memberid M, ...): t [0], t [1]".
    stderr: (line) => {
      if (!line.includes(' rebalanced')) return;
      const at = line.indexOf('): ');
      const partitions = [...line.slice(at + 3).matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
      if (/revoke/.test(line)) member.record('revoked', partitions);
      else if (/assign/.test(line)) member.record('assigned', partitions);
    },
  });
  return member;
}

/** test/clients/py/group_consumer.py with kafka-python or confluent-kafka, until SIGINT. */
export function pythonMember(
  name: string,
  lib: 'kafka-python' | 'confluent',
  o: MemberOptions,
): MemberProcess {
  const settings = { 'client.id': o.clientId, ...o.settings };
  const args = [`${PY_CLIENTS}/group_consumer.py`, lib, o.bootstrap, o.group, o.topic];
  args.push('1000000000', '600', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`));
  const member: MemberProcess = new MemberProcess(name, PYTHON, ['-u', ...args], {
    stdout: (line) => {
      if (!line.startsWith('{')) return;
      const e = JSON.parse(line) as {
        event: string;
        partitions: number[];
        partition: number;
        offset: number;
        value: string;
      };
      if (e.event === 'assigned' || e.event === 'revoked') member.record(e.event, e.partitions);
      else if (e.event === 'message')
        member.consumed.push({ partition: e.partition, offset: e.offset, value: e.value });
    },
  });
  return member;
}

/**
 * An in-process @platformatic/kafka Consumer in a group, streaming from the committed offsets
 * (earliest where there are none) and committing automatically every 200 ms.
 */
export class PlatformaticMember implements GroupMember {
  readonly partitions = new Set<number>();
  readonly events: RebalanceEvent[] = [];
  readonly consumed: Consumed[] = [];
  readonly output: string[] = [];
  private consumer?: Consumer<string, string, string, string>;
  private stream?: MessagesStream<string, string, string, string>;

  constructor(readonly name: string) {}

  static async start(name: string, o: MemberOptions): Promise<PlatformaticMember> {
    const member = new PlatformaticMember(name);
    const consumer = new Consumer({
      clientId: o.clientId,
      bootstrapBrokers: o.bootstrap.split(','),
      groupId: o.group,
      sessionTimeout: 6000,
      rebalanceTimeout: 6000,
      heartbeatInterval: 500,
      retries: 5,
      deserializers: stringDeserializers,
    });
    member.consumer = consumer;
    consumer.on('consumer:group:join', (e) => {
      const now = (e.assignments ?? []).filter((t) => t.topic === o.topic);
      const next = new Set(now.flatMap((t) => t.partitions));
      const lost = member.held().filter((p) => !next.has(p));
      if (lost.length > 0) member.record('revoked', lost);
      member.record(
        'assigned',
        [...next].filter((p) => !member.partitions.has(p)),
      );
      member.output.push(`joined as ${e.memberId}: ${JSON.stringify(now)}`);
    });
    consumer.on('consumer:heartbeat:error', (e) => member.output.push(`heartbeat: ${e.error}`));
    const stream = await consumer.consume({
      topics: [o.topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: 200,
      maxWaitTime: 200,
    });
    member.stream = stream;
    stream.on('data', (m) =>
      member.consumed.push({ partition: m.partition, offset: Number(m.offset), value: m.value }),
    );
    stream.on('error', (e) => member.output.push(`stream: ${e}`));
    return member;
  }

  held(): number[] {
    return [...this.partitions].sort((a, b) => a - b);
  }

  record(kind: RebalanceEvent['kind'], partitions: number[]): void {
    this.events.push({ kind, partitions: [...partitions].sort((a, b) => a - b) });
    for (const p of partitions) {
      if (kind === 'assigned') this.partitions.add(p);
      else this.partitions.delete(p);
    }
  }

  /** Closes the stream (committing what it consumed), then the consumer (LeaveGroup). */
  async stop(): Promise<number> {
    await this.stream?.close();
    await this.consumer?.close();
    this.stream = undefined;
    this.consumer = undefined;
    return 0;
  }

  kill(): void {
    this.consumer?.close(true, () => undefined);
  }

  describe(): string {
    return `${this.name}:\n${this.output.slice(-40).join('\n')}`;
  }
}

/** The value produceTo writes at `offset` of `partition`: a message says where it belongs. */
export const valueAt = (topic: string, partition: number, offset: number) =>
  `${topic}/${partition}/${offset}`;

export async function createTopic(bootstrap: string, topic: string, partitions: number) {
  const kafka = new Kafka({
    brokers: bootstrap.split(','),
    clientId: 'setup',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Appends `count` messages to each partition that holds `from` messages, so that the message at
 * offset o of partition p has the value valueAt(topic, p, o).
 */
export async function produceTo(
  bootstrap: string,
  topic: string,
  partitions: number,
  from: number,
  count: number,
) {
  const kafka = new Kafka({
    brokers: bootstrap.split(','),
    clientId: 'setup',
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let p = 0; p < partitions; p++) {
      const results = await producer.send({
        topic,
        messages: Array.from({ length: count }, (_, i) => ({
          partition: p,
          value: valueAt(topic, p, from + i),
        })),
      });
      if (Number(results[0].baseOffset) !== from)
        throw new Error(`${topic}[${p}] was at ${results[0].baseOffset}, not ${from}`);
    }
  } finally {
    await producer.disconnect();
  }
}

/** `partition:offset` for every message of offsets [from, to) of each partition, sorted. */
export function expectedKeys(partitions: number[], from: number, to: number): string[] {
  return partitions.flatMap((p) => Array.from({ length: to - from }, (_, i) => `${p}:${from + i}`));
}

/** `partition:offset` of messages, in partition then offset order (repeats kept). */
export function keysOf(consumed: Consumed[]): string[] {
  return [...consumed]
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    .map((m) => `${m.partition}:${m.offset}`);
}

/**
 * Committed offsets of partitions 0..partitions-1 of `topic` (-1: none), with OffsetFetch v5 to
 * the coordinator the broker on `port` names.
 */
export async function committedOffsets(
  port: number,
  group: string,
  topic: string,
  partitions: number,
): Promise<number[]> {
  const conn = await openCoordinator(port, group);
  try {
    const { body } = await conn.request(ApiKey.OffsetFetch, 5, {
      groupId: group,
      topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }],
    });
    if (body.errorCode) throw new Error(`OffsetFetch ${group}: error ${body.errorCode}`);
    const answered = body.topics![0].partitions;
    for (const p of answered)
      if (p.errorCode)
        throw new Error(`OffsetFetch ${group} [${p.partitionIndex}]: ${p.errorCode}`);
    return [...answered]
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => p.committedOffset);
  } finally {
    conn.close();
  }
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Partitions of the member's assignment (consumer protocol), sorted. */
  partitions: number[];
}

export interface DescribedGroup {
  errorCode: number;
  state: string;
  protocolType: string;
  protocol: string;
  members: DescribedMember[];
}

/**
 * DescribeGroups v4 for one group to the coordinator the broker on `port` names, assignments
 * decoded with the consumer protocol.
 */
export async function describeGroup(port: number, group: string): Promise<DescribedGroup> {
  const conn = await openCoordinator(port, group);
  try {
    const { body } = await conn.request(ApiKey.DescribeGroups, 4, {
      groups: [group],
      includeAuthorizedOperations: false,
    });
    const g = body.groups[0];
    return {
      errorCode: g.errorCode,
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId ?? null,
        clientId: m.clientId,
        clientHost: m.clientHost,
        partitions: assignedPartitions(m.memberAssignment),
      })),
    };
  } finally {
    conn.close();
  }
}

function assignedPartitions(assignment: Buffer): number[] {
  if (assignment.length === 0) return [];
  const r = new Reader(assignment);
  const version = r.int16();
  return decodeConsumerProtocolAssignment(r, version)
    .assignedPartitions.flatMap((t) => t.partitions)
    .sort((a, b) => a - b);
}

/** Kafka's String.hashCode placement of a group on a partition of __consumer_offsets. */
export function offsetsPartitionOf(group: string, offsetsPartitions = 50): number {
  let h = 0;
  for (let i = 0; i < group.length; i++) h = (Math.imul(31, h) + group.charCodeAt(i)) | 0;
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
  return (h === -2147483648 ? 0 : Math.abs(h)) % offsetsPartitions;
}
