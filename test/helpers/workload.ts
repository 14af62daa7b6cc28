/**
 * A workload of real clients for tests that break a cluster on purpose (failure drills, group
 * attribution scenarios): acks=all producers sending one message at a time to every partition of
 * some topics, and consumer groups of kafkajs consumers (in this process) and `kcat -G` members
 * (child processes), every consumed message stamped with when it was seen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Kafka,
  logLevel,
  PartitionAssigners,
  type Admin,
  type Consumer,
  type PartitionAssigner,
  type Producer,
} from 'kafkajs';
import { kcatMember, type Consumed, type MemberProcess } from './group-clients.js';
import { waitFor } from './wait.js';

export interface GroupSpec {
  group: string;
  topic: string;
  /**
   * The members the workload runs. None: the topic is produced to, and the test drives the
   * group itself (nothing waits for the workload's members to consume it).
   */
  members: ('kafkajs' | 'kcat')[];
  /**
   * client.id of each member; default `<group>-kcat-<i>` for kcat, and for kafkajs the
   * workload's own `workload` (one kafkajs client for every such member, as its producer's).
   */
  clientIds?: string[];
  /** The brokers the members bootstrap from (kcat -b, kafkajs brokers); default all of them. */
  bootstrap?: string[];
}

/** A consumed message, stamped when the workload saw it. */
export interface Seen extends Consumed {
  at: number;
}

/** One group member, whichever client it is. */
export interface Member {
  client: 'kafkajs' | 'kcat';
  seen: Seen[];
  stop(): Promise<void>;
  /** kcat: SIGSTOP (heartbeats stop too); kafkajs: pauses fetching only. */
  pause(): void;
  resume(): void;
  /** What it printed lately (kcat), for failure messages. */
  describe(): string;
}

/**
 * kafkajs's round-robin assignor under librdkafka's name for it: a group has to agree on one
 * protocol name, and kafkajs (`RoundRobinAssigner`) and librdkafka (`range`, `roundrobin`) share
 * none, so the second of a kafkajs and a kcat member to join would be refused
 * (INCONSISTENT_GROUP_PROTOCOL) and a mixed group would run on one member.
 */
const roundRobin: PartitionAssigner = (config) => ({
  ...PartitionAssigners.roundRobin(config),
  name: 'roundrobin',
});

/** Pause between two sends to one partition: about 40 messages/s per partition. */
const SEND_INTERVAL_MS = 25;
export const RECOVERY_TIMEOUT_MS = 120_000;

export class Workload {
  readonly kafka: Kafka;
  admin?: Admin;
  private producer?: Producer;
  private producing = false;
  private sending: Promise<void>[] = [];
  /** When each message value was first sent. */
  readonly sentAt = new Map<string, number>();
  readonly acked: string[] = [];
  readonly members = new Map<string, Member[]>();

  constructor(
    private readonly bootstrap: string[],
    readonly groups: GroupSpec[],
    readonly partitions: number,
  ) {
    this.kafka = new Kafka({
      brokers: bootstrap,
      clientId: 'workload',
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  /** Creates the topics, starts producing and every group, and waits until all consume. */
  async begin(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const topics = [...new Set(this.groups.map((g) => g.topic))];
    await this.admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: this.partitions })),
      waitForLeaders: true,
    });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await this.producer.connect();
    this.producing = true;
    for (const topic of topics) {
      for (let p = 0; p < this.partitions; p++) this.sending.push(this.produce(topic, p));
    }
    for (const spec of this.groups) {
      this.members.set(
        spec.group,
        await Promise.all(spec.members.map((client, i) => this.startMember(spec, client, i))),
      );
    }
    await this.steady();
  }

  async stopProducing(): Promise<void> {
    this.producing = false;
    await Promise.all(this.sending);
  }

  async close(): Promise<void> {
    this.producing = false;
    await Promise.allSettled(this.sending);
    for (const members of this.members.values()) {
      await Promise.allSettled(members.map((m) => m.stop()));
    }
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private async produce(topic: string, partition: number): Promise<void> {
    for (let seq = 0; this.producing; seq++) {
      const value = `${topic}/${partition}/${seq}`;
      this.sentAt.set(value, Date.now());
      try {
        await this.producer!.send({
          topic,
          acks: -1,
          timeout: 10_000,
          messages: [{ partition, value }],
        });
        this.acked.push(value);
      } catch {
        // Not acknowledged: it may or may not be in the log; nothing is promised for it.
      }
      await sleep(SEND_INTERVAL_MS);
    }
  }

  private async startMember(spec: GroupSpec, client: Member['client'], i: number): Promise<Member> {
    if (client === 'kcat') return this.kcat(spec, spec.clientIds?.[i] ?? `${spec.group}-kcat-${i}`);
    const seen: Seen[] = [];
    const own = spec.clientIds?.[i] !== undefined || spec.bootstrap !== undefined;
    const kafka = !own
      ? this.kafka
      : new Kafka({
          brokers: spec.bootstrap ?? this.bootstrap,
          clientId: spec.clientIds?.[i] ?? 'workload',
          logLevel: logLevel.NOTHING,
          retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
        });
    const consumer: Consumer = kafka.consumer({
      groupId: spec.group,
      partitionAssigners: [roundRobin],
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 250,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({
          partition,
          offset: Number(message.offset),
          value: message.value?.toString() ?? '',
          at: Date.now(),
        });
      },
    });
    return {
      client,
      seen,
      stop: () => consumer.disconnect(),
      pause: () => consumer.pause([{ topic: spec.topic }]),
      resume: () => consumer.resume([{ topic: spec.topic }]),
      describe: () => `kafkajs member of ${spec.group}: ${seen.length} consumed`,
    };
  }

  /** kcat prints what it consumes; its lines are stamped as they arrive (every 20 ms). */
  private kcat(spec: GroupSpec, clientId: string): Member {
    const process: MemberProcess = kcatMember(clientId, {
      bootstrap: (spec.bootstrap ?? this.bootstrap).join(','),
      group: spec.group,
      topic: spec.topic,
      clientId,
      settings: { 'auto.commit.interval.ms': '1000' },
    });
    const seen: Seen[] = [];
    const stamp = setInterval(() => {
      const now = Date.now();
      for (const m of process.consumed.slice(seen.length)) seen.push({ ...m, at: now });
    }, 20);
    return {
      client: 'kcat',
      seen,
      stop: async () => {
        clearInterval(stamp);
        await process.stop();
      },
      pause: () => process.signal('SIGSTOP'),
      resume: () => process.signal('SIGCONT'),
      describe: () => process.describe(),
    };
  }

  /** When the last partition of the group resumed after `since`, or null if one has not. */
  resumedAt(spec: GroupSpec, since: number): number | null {
    const first = new Map<number, number>();
    for (const member of this.members.get(spec.group)!) {
      for (const m of member.seen) {
        if (m.at <= since || (this.sentAt.get(m.value) ?? 0) <= since) continue;
        first.set(m.partition, Math.min(first.get(m.partition) ?? Infinity, m.at));
      }
    }
    return first.size === this.partitions ? Math.max(...first.values()) : null;
  }

  /** The groups whose members the workload runs. */
  get consuming(): GroupSpec[] {
    return this.groups.filter((g) => g.members.length > 0);
  }

  async allResumedSince(since: number): Promise<void> {
    await waitFor(
      'every group to consume fresh messages from every partition',
      () => this.consuming.every((spec) => this.resumedAt(spec, since) !== null),
      RECOVERY_TIMEOUT_MS,
      20,
    );
  }

  /** Every group consumes from every partition again, and a little more, before a drill. */
  async steady(): Promise<void> {
    await this.allResumedSince(Date.now());
    await sleep(1000);
  }

  /** Committed offsets by group, then `topic/partition`. */
  async committedOffsets(): Promise<Map<string, Map<string, number>>> {
    const all = new Map<string, Map<string, number>>();
    for (const spec of this.consuming) {
      const answer = await this.admin!.fetchOffsets({ groupId: spec.group, topics: [spec.topic] });
      const offsets = new Map<string, number>();
      for (const { topic, partitions } of answer) {
        for (const p of partitions) offsets.set(`${topic}/${p.partition}`, Number(p.offset));
      }
      all.set(spec.group, offsets);
    }
    return all;
  }

  /** Waits until every group has consumed every acknowledged message of its topic. */
  async awaitConsumedAll(): Promise<string[]> {
    const missing = () =>
      this.consuming.flatMap((spec) => {
        const seen = new Set(
          this.members.get(spec.group)!.flatMap((m) => m.seen.map((s) => s.value)),
        );
        return this.acked
          .filter((v) => v.startsWith(`${spec.topic}/`) && !seen.has(v))
          .map((v) => `${spec.group}: ${v}`);
      });
    try {
      await waitFor(
        'every group to consume every acknowledged message',
        () => missing().length === 0,
        60_000,
      );
    } catch {
      // Reported below.
    }
    return missing();
  }

  /** Waits until every group's committed offsets reach the log end offsets. */
  async awaitCommittedToEnd(): Promise<string[]> {
    const behind = async () => {
      const committed = await this.committedOffsets();
      const out: string[] = [];
      for (const spec of this.consuming) {
        for (const { partition, high } of await this.admin!.fetchTopicOffsets(spec.topic)) {
          const at = committed.get(spec.group)!.get(`${spec.topic}/${partition}`);
          if (at !== Number(high))
            out.push(`${spec.group} ${spec.topic}/${partition}: ${at} of ${high}`);
        }
      }
      return out;
    };
    try {
      await waitFor(
        'committed offsets to reach the log ends',
        async () => (await behind()).length === 0,
        60_000,
        500,
      );
    } catch {
      // Reported below.
    }
    return behind();
  }
}
