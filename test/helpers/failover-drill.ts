/**
 * Failure drills on a real cluster (ZooKeeper and three `koppa broker` processes): acks=all
 * producers and consumer groups of kafkajs and kcat -G members run throughout while a broker is
 * stopped, killed, paused past its session, the coordinator of a group is killed, or ZooKeeper
 * restarts. For each drill it measures the time from the fault until every group consumes fresh
 * messages (produced after the fault) from every one of its partitions again, and checks what a
 * user relies on: no acknowledged message lost, no committed offset lost or moved back, and
 * leader epochs in every log that never go down (no append by a broker after it lost ownership).
 *
 * Used by `npm run drills` (prints the figures) and by the test suite (asserts the checks).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { ApiKey } from '../../plugins/kafka/protocol/index.js';
import { kcatMember, type Consumed, type MemberProcess } from './group-clients.js';
import { ProcessCluster } from './process-cluster.js';
import { RawConnection } from './raw-client.js';
import { decodeBatches } from './record-batches.js';
import { waitFor } from './wait.js';

export type DrillName =
  'graceful-stop' | 'kill-9' | 'coordinator-kill-9' | 'zookeeper-restart' | 'session-expiry';

export const ALL_DRILLS: DrillName[] = [
  'graceful-stop',
  'kill-9',
  'coordinator-kill-9',
  'zookeeper-restart',
  'session-expiry',
];

export interface GroupRecovery {
  group: string;
  clients: string;
  /**
   * Seconds from the fault until every partition of the group delivers messages produced after
   * the victim was down.
   */
  resumedAfterS: number;
  /** The longest any partition of the group delivered nothing, from the fault to then. */
  maxStallS: number;
}

export interface DrillResult {
  drill: DrillName;
  /** The broker stopped, killed or paused (null for ZooKeeper's restart). */
  victim: number | null;
  groups: GroupRecovery[];
  /** Per group and partition, offsets consumed after the fault below what was committed before. */
  rewound: string[];
  /** Appends the victim's store refused after it had lost its partitions to another owner. */
  refusedAppends: number;
}

export interface DrillReport {
  sessionTimeoutMs: number;
  drills: DrillResult[];
  acknowledged: number;
  /** Acknowledged messages some group never consumed. */
  lost: string[];
  /** Group partitions whose committed offset did not reach the log end once producers stopped. */
  uncommitted: string[];
  /** Partitions whose log holds a batch with a lower leader epoch after a higher one. */
  epochRegressions: string[];
}

interface GroupSpec {
  group: string;
  topic: string;
  members: ('kafkajs' | 'kcat')[];
}

const PARTITIONS = 6;
const TOPICS = ['drill-orders', 'drill-clicks'];
const GROUPS: GroupSpec[] = [
  { group: 'drill-kafkajs', topic: 'drill-orders', members: ['kafkajs', 'kafkajs'] },
  { group: 'drill-kcat', topic: 'drill-orders', members: ['kcat', 'kcat'] },
  { group: 'drill-mixed', topic: 'drill-clicks', members: ['kafkajs', 'kcat'] },
];
/** Pause between two sends to one partition: about 40 messages/s per partition. */
const SEND_INTERVAL_MS = 25;
const RECOVERY_TIMEOUT_MS = 120_000;
/** What a broker logs when the store's fence refuses appends to a log another owner claimed. */
const REFUSED_LOG = 'append refused: another owner claimed the log';
/**
 * kcat's lines are stamped when read, a little after librdkafka may have committed past them:
 * a message counts as consumed again only when seen this long after the fault.
 */
const STAMP_SLACK_MS = 1000;

/** A consumed message, stamped when the drill saw it. */
interface Seen extends Consumed {
  at: number;
}

/** One group member, whichever client it is. */
interface Member {
  client: 'kafkajs' | 'kcat';
  seen: Seen[];
  stop(): Promise<void>;
}

export interface DrillOptions {
  drills?: DrillName[];
  sessionTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function runFailoverDrills(options: DrillOptions = {}): Promise<DrillReport> {
  const log = options.log ?? (() => undefined);
  const cluster = await ProcessCluster.start({ sessionTimeoutMs: options.sessionTimeoutMs });
  const drill = new Drill(cluster, log);
  try {
    await drill.begin();
    const results: DrillResult[] = [];
    for (const name of options.drills ?? ALL_DRILLS) {
      const result = await drill.run(name);
      log(formatResult(result));
      results.push(result);
    }
    return { sessionTimeoutMs: cluster.sessionTimeoutMs, drills: results, ...(await drill.end()) };
  } catch (err) {
    for (let id = 0; id < cluster.ports.length; id++) {
      log(
        `--- broker ${id} (last lines) ---\n${cluster.output(id).split('\n').slice(-30).join('\n')}`,
      );
    }
    throw err;
  } finally {
    await drill.close();
    await cluster.close();
  }
}

export function formatResult(result: DrillResult): string {
  const lines = result.groups.map(
    (g) =>
      `drill=${result.drill} victim=${result.victim ?? 'zookeeper'} group=${g.group} ` +
      `clients=${g.clients} resumed_s=${g.resumedAfterS.toFixed(1)} ` +
      `max_stall_s=${g.maxStallS.toFixed(1)}`,
  );
  if (result.refusedAppends > 0) {
    lines.push(
      `drill=${result.drill} victim=${result.victim} refused_appends=${result.refusedAppends}`,
    );
  }
  return lines.join('\n');
}

class Drill {
  private readonly kafka: Kafka;
  private admin?: Admin;
  private producer?: Producer;
  private producing = false;
  private sending: Promise<void>[] = [];
  /** When each message value was first sent. */
  private readonly sentAt = new Map<string, number>();
  private readonly acked: string[] = [];
  private readonly members = new Map<string, Member[]>();

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly log: (line: string) => void,
  ) {
    this.kafka = new Kafka({
      brokers: cluster.bootstrap,
      clientId: 'drill',
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  async begin(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.admin.createTopics({
      topics: TOPICS.map((topic) => ({ topic, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await this.producer.connect();
    this.producing = true;
    for (const topic of TOPICS) {
      for (let p = 0; p < PARTITIONS; p++) this.sending.push(this.produce(topic, p));
    }
    for (const spec of GROUPS) {
      this.members.set(
        spec.group,
        await Promise.all(spec.members.map((client, i) => this.startMember(spec, client, i))),
      );
    }
    await this.steady();
  }

  async run(name: DrillName): Promise<DrillResult> {
    const victim = await this.victimFor(name);
    this.log(`drill ${name}: ${victim === null ? 'zookeeper' : `broker ${victim}`}`);
    const committedBefore = await this.committedOffsets();
    const logMark = victim === null ? 0 : this.cluster.output(victim).length;
    const fault = Date.now();
    const { down, heal } = await this.inflict(name, victim);
    // A stopped broker stays down until recovery is measured; a paused one thaws on its own time.
    const healing = name === 'session-expiry' ? heal() : null;
    const groups = await Promise.all(GROUPS.map((spec) => this.recovery(spec, fault, down)));
    await (healing ?? heal());
    const rewound = this.rewoundSince(fault, committedBefore);
    const refusedAppends =
      victim === null ? 0 : refusedAppendsIn(this.cluster.output(victim).slice(logMark));
    await this.steady();
    return { drill: name, victim, groups, rewound, refusedAppends };
  }

  /** Stops producing, lets every group catch up, then checks the logs and the commits. */
  async end(): Promise<Omit<DrillReport, 'sessionTimeoutMs' | 'drills'>> {
    this.producing = false;
    await Promise.all(this.sending);
    const lost = await this.awaitConsumedAll();
    const uncommitted = await this.awaitCommittedToEnd();
    return {
      acknowledged: this.acked.length,
      lost,
      uncommitted,
      epochRegressions: await this.epochRegressions(),
    };
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

  // ---- the faults -------------------------------------------------------------------------

  /** Which broker each drill hits: the coordinator drill the coordinator, the others not it. */
  private async victimFor(name: DrillName): Promise<number | null> {
    if (name === 'zookeeper-restart') return null;
    const coordinator = await this.coordinatorOf(GROUPS[0].group);
    if (name === 'coordinator-kill-9') return coordinator;
    const others = this.cluster.ports.map((_, id) => id).filter((id) => id !== coordinator);
    return name === 'graceful-stop' ? others[0] : others[others.length - 1];
  }

  /**
   * Inflicts the fault. Resolves with when the victim was down (a broker stopping gracefully
   * serves until it has handed over) and how to make the cluster whole again.
   */
  private async inflict(
    name: DrillName,
    victim: number | null,
  ): Promise<{ down: number; heal: () => Promise<void> }> {
    const { cluster } = this;
    switch (name) {
      case 'graceful-stop':
      case 'kill-9':
      case 'coordinator-kill-9': {
        const code = await cluster.stopBroker(
          victim!,
          name === 'graceful-stop' ? 'SIGTERM' : 'SIGKILL',
        );
        if (name === 'graceful-stop' && code !== 0) throw new Error(`graceful stop exited ${code}`);
        return { down: Date.now(), heal: () => cluster.startBroker(victim!) };
      }
      case 'zookeeper-restart':
        // Brokers cannot reconnect before ZooKeeper is back: that is when recovery starts.
        await cluster.zk.restart();
        return { down: Date.now(), heal: async () => undefined };
      case 'session-expiry': {
        const rejoined = () => cluster.output(victim!).split('"event":"reconnected"').length;
        const before = rejoined();
        cluster.pause(victim!);
        const down = Date.now();
        const heal = async () => {
          // Past the session timeout: ZooKeeper expires the session and others take over.
          await sleep(down + cluster.sessionTimeoutMs + 3000 - Date.now());
          cluster.resume(victim!);
          await waitFor(
            `broker ${victim} to rejoin after its session expired`,
            () => rejoined() > before,
            RECOVERY_TIMEOUT_MS,
          );
        };
        return { down, heal };
      }
    }
  }

  private async coordinatorOf(group: string): Promise<number> {
    const live = this.cluster.ports.filter((_, id) => this.cluster.isRunning(id));
    const conn = await RawConnection.open(live[0]);
    try {
      const { body } = await conn.request(ApiKey.FindCoordinator, 1, {
        key: group,
        keyType: 0,
      });
      const { errorCode, nodeId } = body;
      if (errorCode || nodeId === undefined) {
        throw new Error(`FindCoordinator ${group}: error ${errorCode}`);
      }
      return nodeId;
    } finally {
      conn.close();
    }
  }

  // ---- the workload -----------------------------------------------------------------------

  /** One acks=all send at a time to one partition, until told to stop. */
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
    const clientId = `${spec.group}-${client}-${i}`;
    if (client === 'kcat') return this.kcat(spec, clientId);
    const seen: Seen[] = [];
    const consumer: Consumer = this.kafka.consumer({
      groupId: spec.group,
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
    return { client, seen, stop: () => consumer.disconnect() };
  }

  /** kcat prints what it consumes; its lines are stamped as they arrive (every 20 ms). */
  private kcat(spec: GroupSpec, clientId: string): Member {
    const process: MemberProcess = kcatMember(clientId, {
      bootstrap: this.cluster.bootstrap.join(','),
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
    };
  }

  // ---- measuring --------------------------------------------------------------------------

  /**
   * How the group came through the fault: when every partition delivered again a message sent
   * after the victim was down, and the longest any partition delivered nothing meanwhile.
   */
  private async recovery(spec: GroupSpec, fault: number, down: number): Promise<GroupRecovery> {
    const recovered = await waitFor(
      `${spec.group} to consume fresh messages from every partition`,
      () => this.resumedAt(spec, down),
      RECOVERY_TIMEOUT_MS,
      20,
    );
    let stall = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const stamps = this.members
        .get(spec.group)!
        .flatMap((m) =>
          m.seen.filter((s) => s.partition === p && s.at > fault && s.at <= recovered),
        )
        .map((s) => s.at)
        .sort((a, b) => a - b);
      let previous = fault;
      for (const at of [...stamps, recovered]) {
        stall = Math.max(stall, at - previous);
        previous = at;
      }
    }
    return {
      group: spec.group,
      clients: spec.members.join('+'),
      resumedAfterS: (recovered - fault) / 1000,
      maxStallS: stall / 1000,
    };
  }

  /** When the last partition of the group resumed after `since`, or null if one has not. */
  private resumedAt(spec: GroupSpec, since: number): number | null {
    const first = new Map<number, number>();
    for (const member of this.members.get(spec.group)!) {
      for (const m of member.seen) {
        if (m.at <= since || (this.sentAt.get(m.value) ?? 0) <= since) continue;
        first.set(m.partition, Math.min(first.get(m.partition) ?? Infinity, m.at));
      }
    }
    return first.size === PARTITIONS ? Math.max(...first.values()) : null;
  }

  private async allResumedSince(since: number): Promise<void> {
    await waitFor(
      'every group to consume fresh messages from every partition',
      () => GROUPS.every((spec) => this.resumedAt(spec, since) !== null),
      RECOVERY_TIMEOUT_MS,
      20,
    );
  }

  /** Every group consumes from every partition again, and a little more, before a drill. */
  private async steady(): Promise<void> {
    await this.allResumedSince(Date.now());
    await sleep(1000);
  }

  // ---- checking ---------------------------------------------------------------------------

  /** Committed offsets by group, then `topic/partition`. */
  private async committedOffsets(): Promise<Map<string, Map<string, number>>> {
    const all = new Map<string, Map<string, number>>();
    for (const spec of GROUPS) {
      const answer = await this.admin!.fetchOffsets({ groupId: spec.group, topics: [spec.topic] });
      const offsets = new Map<string, number>();
      for (const { topic, partitions } of answer) {
        for (const p of partitions) offsets.set(`${topic}/${p.partition}`, Number(p.offset));
      }
      all.set(spec.group, offsets);
    }
    return all;
  }

  /**
   * A group that lost its committed offsets would start again from the beginning; one whose
   * commits went back would consume again what it had committed. Either shows as a message
   * consumed after the fault below the offset committed before it.
   */
  private rewoundSince(fault: number, committed: Map<string, Map<string, number>>): string[] {
    const rewound: string[] = [];
    for (const spec of GROUPS) {
      for (const member of this.members.get(spec.group)!) {
        for (const m of member.seen) {
          const before = committed.get(spec.group)!.get(`${spec.topic}/${m.partition}`) ?? -1;
          if (m.at > fault + STAMP_SLACK_MS && m.offset < before) {
            rewound.push(`${spec.group} ${spec.topic}/${m.partition}: ${m.offset} < ${before}`);
          }
        }
      }
    }
    return [...new Set(rewound)];
  }

  /** Waits until every group has consumed every acknowledged message of its topic. */
  private async awaitConsumedAll(): Promise<string[]> {
    const missing = () =>
      GROUPS.flatMap((spec) => {
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
  private async awaitCommittedToEnd(): Promise<string[]> {
    const behind = async () => {
      const committed = await this.committedOffsets();
      const out: string[] = [];
      for (const spec of GROUPS) {
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

  /** Reads every batch of every partition from its leader and checks the epochs never go down. */
  private async epochRegressions(): Promise<string[]> {
    const regressions: string[] = [];
    const metadata = await this.admin!.fetchTopicMetadata({ topics: TOPICS });
    for (const { name, partitions } of metadata.topics) {
      for (const { partitionId, leader } of partitions) {
        const epochs = await this.batchEpochs(this.cluster.ports[leader], name, partitionId);
        for (let i = 1; i < epochs.length; i++) {
          if (epochs[i].epoch < epochs[i - 1].epoch) {
            regressions.push(
              `${name}/${partitionId}: epoch ${epochs[i].epoch} at offset ${epochs[i].offset} ` +
                `after epoch ${epochs[i - 1].epoch}`,
            );
          }
        }
      }
    }
    return regressions;
  }

  private async batchEpochs(
    port: number,
    topic: string,
    partition: number,
  ): Promise<{ offset: number; epoch: number }[]> {
    const conn = await RawConnection.open(port);
    const out: { offset: number; epoch: number }[] = [];
    try {
      for (let offset = 0; ;) {
        const answer = await conn.fetchPartition(topic, partition, offset);
        if (answer.errorCode)
          throw new Error(`Fetch ${topic}/${partition}: error ${answer.errorCode}`);
        const batches = decodeBatches(answer.records ?? Buffer.alloc(0));
        if (batches.length === 0) return out;
        for (const b of batches) out.push({ offset: b.baseOffset, epoch: b.partitionLeaderEpoch });
        offset = batches[batches.length - 1].lastOffset + 1;
      }
    } finally {
      conn.close();
    }
  }
}

/**
 * The appends a broker's logs say its store refused. Each line carries the running count of one
 * log object (a topic-partition under one epoch): the last count of each is its total.
 */
function refusedAppendsIn(output: string): number {
  const totals = new Map<string, number>();
  for (const line of output.split('\n')) {
    if (!line.includes(REFUSED_LOG)) continue;
    const entry = JSON.parse(line) as {
      topic: string;
      partition: number;
      epoch: number;
      refusedAppends: number;
    };
    const key = `${entry.topic}/${entry.partition}/${entry.epoch}`;
    totals.set(key, Math.max(totals.get(key) ?? 0, entry.refusedAppends));
  }
  return [...totals.values()].reduce((sum, n) => sum + n, 0);
}
