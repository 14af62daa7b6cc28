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
import { ProcessCluster } from './process-cluster.js';
import { coordinatorOf, RawConnection } from './raw-client.js';
import { decodeBatches } from './record-batches.js';
import { waitFor } from './wait.js';
import { RECOVERY_TIMEOUT_MS, Workload, type GroupSpec } from './workload.js';

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

const PARTITIONS = 6;
const GROUPS: GroupSpec[] = [
  { group: 'drill-kafkajs', topic: 'drill-orders', members: ['kafkajs', 'kafkajs'] },
  { group: 'drill-kcat', topic: 'drill-orders', members: ['kcat', 'kcat'] },
  { group: 'drill-mixed', topic: 'drill-clicks', members: ['kafkajs', 'kcat'] },
];
/** What a broker logs when the store's fence refuses appends to a log another owner claimed. */
const REFUSED_LOG = 'append refused: another owner claimed the log';
/**
 * kcat's lines are stamped when read, a little after librdkafka may have committed past them:
 * a message counts as consumed again only when seen this long after the fault.
 */
const STAMP_SLACK_MS = 1000;

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
  private readonly workload: Workload;

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly log: (line: string) => void,
  ) {
    this.workload = new Workload(cluster.bootstrap, GROUPS, PARTITIONS);
  }

  begin(): Promise<void> {
    return this.workload.begin();
  }

  async run(name: DrillName): Promise<DrillResult> {
    const victim = await this.victimFor(name);
    this.log(`drill ${name}: ${victim === null ? 'zookeeper' : `broker ${victim}`}`);
    const committedBefore = await this.workload.committedOffsets();
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
    await this.workload.steady();
    return { drill: name, victim, groups, rewound, refusedAppends };
  }

  /** Stops producing, lets every group catch up, then checks the logs and the commits. */
  async end(): Promise<Omit<DrillReport, 'sessionTimeoutMs' | 'drills'>> {
    await this.workload.stopProducing();
    const lost = await this.workload.awaitConsumedAll();
    const uncommitted = await this.workload.awaitCommittedToEnd();
    return {
      acknowledged: this.workload.acked.length,
      lost,
      uncommitted,
      epochRegressions: await this.epochRegressions(),
    };
  }

  close(): Promise<void> {
    return this.workload.close();
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
    const { port } = await coordinatorOf(live[0], group);
    return this.cluster.ports.indexOf(port);
  }

  // ---- measuring --------------------------------------------------------------------------

  /**
   * How the group came through the fault: when every partition delivered again a message sent
   * after the victim was down, and the longest any partition delivered nothing meanwhile.
   */
  private async recovery(spec: GroupSpec, fault: number, down: number): Promise<GroupRecovery> {
    const recovered = await waitFor(
      `${spec.group} to consume fresh messages from every partition`,
      () => this.workload.resumedAt(spec, down),
      RECOVERY_TIMEOUT_MS,
      20,
    );
    let stall = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const stamps = this.workload.members
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

  // ---- checking ---------------------------------------------------------------------------

  /**
   * A group that lost its committed offsets would start again from the beginning; one whose
   * commits went back would consume again what it had committed. Either shows as a message
   * consumed after the fault below the offset committed before it.
   */
  private rewoundSince(fault: number, committed: Map<string, Map<string, number>>): string[] {
    const rewound: string[] = [];
    for (const spec of GROUPS) {
      for (const member of this.workload.members.get(spec.group)!) {
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

  /** Reads every batch of every partition from its leader and checks the epochs never go down. */
  private async epochRegressions(): Promise<string[]> {
    const regressions: string[] = [];
    const metadata = await this.workload.admin!.fetchTopicMetadata({
      topics: [...new Set(GROUPS.map((g) => g.topic))],
    });
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
