/**
 * The group-attribution scenarios of `npm run scenarios`: real clients against three
 * `koppa broker` processes on a real ZooKeeper, each group consuming a topic of its own, so the
 * right group of every fetched message is known; the brokers' `/metrics` say how much of it was
 * counted under the right group (see attribution-meter.ts). Each scenario runs under a group-id
 * lifecycle policy: `coordinator` (Koppa's) or `kop` (as KoP behaved). The scenarios run one after
 * another on one cluster per policy, each with groups and topics of its own.
 *
 * - steady: three groups (kafkajs, kcat, both) consume; nothing happens.
 * - findcoordinator-broker-restart: the groups bootstrap from broker A only, so that A answers
 *   their FindCoordinator (checked on the mapping node's `broker`), while their coordinator is B
 *   and their partitions are on A, B and C; A is stopped gracefully, its partitions move, and A
 *   starts again.
 * - findcoordinator-broker-kill: the same with A killed (kill -9); A starts again once its
 *   partitions have moved (its session expired).
 * - coordinator-restart: the groups' coordinator is stopped gracefully (the groups move) and
 *   started again (they move back).
 * - client-pause: a protocol-level member stops heartbeating, asks FindCoordinator again and joins
 *   as a new member with its client id before the coordinator expires its old member; then again,
 *   joining only after the old member expired (the delete of the expiry meets a newer write). It
 *   fetches from the partition leaders throughout. Meanwhile a kcat member of another group is
 *   frozen (SIGSTOP) past its session timeout, then thawed (SIGCONT).
 * - node-deleted: the groups' mapping nodes are deleted by hand (twice) while they consume.
 * - shared-client-id: two groups on one host share their client ids (`rdkafka` for kcat,
 *   `kafkajs` for kafkajs, the libraries' defaults) and consume different topics; one member
 *   leaves halfway, so the partitions behind one client id move to another client.
 * - leave: the consumers leave for good; once past the reconciler's grace period, the mapping
 *   nodes of their clients are counted (none should be left).
 * - zk-session-expiry: a broker that coordinates a group and leads partitions is frozen past its
 *   ZooKeeper session timeout, then thawed: its session has expired and it joins again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeNode, type MappingNode } from '../../plugins/kafka/group-mapping/node-codec.js';
import { nodeName } from '../../plugins/kafka/group-mapping/node-name.js';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { preferredBroker } from '../../src/cluster/placement.js';
import { ZooKeeperMetadataStore } from '../../src/metadata/zk-store.js';
import { AttributionMeter, type Attribution } from './attribution-meter.js';
import { offsetsPartitionOf } from './group-clients.js';
import { ProcessCluster } from './process-cluster.js';
import { RawConnection } from './raw-client.js';
import { RawGroupMember } from './raw-group-member.js';
import { waitFor } from './wait.js';
import { RECOVERY_TIMEOUT_MS, Workload, type GroupSpec } from './workload.js';

export type Policy = 'coordinator' | 'kop';
export const POLICIES: Policy[] = ['coordinator', 'kop'];

export const ALL_SCENARIOS = [
  'steady',
  'findcoordinator-broker-restart',
  'findcoordinator-broker-kill',
  'coordinator-restart',
  'client-pause',
  'node-deleted',
  'shared-client-id',
  'leave',
  'zk-session-expiry',
] as const;
export type ScenarioName = (typeof ALL_SCENARIOS)[number];

export interface ScenarioResult extends Attribution {
  scenario: ScenarioName;
  policy: Policy;
  /** leave: mapping nodes of the clients that left, still there after the grace period. */
  nodesLeft?: number;
}

/** The line the issue asks for, exactly. */
export function formatScenario(r: ScenarioResult): string {
  return (
    `scenario=${r.scenario} policy=${r.policy} attributed=${r.attributedPercent.toFixed(2)} ` +
    `max_unattributed_s=${r.maxUnattributedS.toFixed(1)}`
  );
}

/** What else a scenario measured, on a line of its own (empty when nothing). */
export function formatExtras(r: ScenarioResult): string {
  const extras: string[] = [];
  if (r.nodesLeft !== undefined) extras.push(`mapping_nodes_left=${r.nodesLeft}`);
  if (r.awaitingAtEnd > 0) extras.push(`awaiting_at_end=${r.awaitingAtEnd}`);
  return extras.length === 0 ? '' : `scenario=${r.scenario} policy=${r.policy} ${extras.join(' ')}`;
}

const PARTITIONS = 6;
const HOST = '127.0.0.1';
/** Where the brokers keep the mapping: groupIdZooKeeperPath under the cluster's chroot. */
const CHROOT = '/koppa';
const MAPPING_ROOT = '/client_group_id';
/**
 * The reconciler's settings on these clusters, shorter than the defaults (60 s and 10 min) so
 * that `leave` can wait past the grace period: every coordinator reconciles every second and
 * removes entries no live member accounts for once 4 s old.
 */
const RECONCILE_INTERVAL_MS = 1000;
const ORPHAN_GRACE_MS = 4000;

interface Context {
  cluster: ProcessCluster;
  /** A client of the cluster's ZooKeeper, under its chroot. */
  zk: ZooKeeperMetadataStore;
  policy: Policy;
  log: (line: string) => void;
}

interface Outcome extends Attribution {
  nodesLeft?: number;
}

/** Runs `scenarios` one after another on one cluster running `policy`. */
export async function runScenarios(
  policy: Policy,
  scenarios: readonly ScenarioName[] = ALL_SCENARIOS,
  log: (line: string) => void = () => undefined,
): Promise<ScenarioResult[]> {
  const cluster = await ProcessCluster.start({
    settings: {
      groupIdLifecyclePolicy: policy,
      groupIdReconcileIntervalMs: RECONCILE_INTERVAL_MS,
      groupIdOrphanGraceMs: ORPHAN_GRACE_MS,
    },
  });
  let zk: ZooKeeperMetadataStore | undefined;
  try {
    zk = await ZooKeeperMetadataStore.open(`zk:${cluster.zk.connectString}${CHROOT}`, {
      sessionTimeoutMs: 10_000,
      operationTimeoutMs: 10_000,
    });
    const ctx: Context = { cluster, zk, policy, log };
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      log(`scenario ${scenario}, policy ${policy}`);
      const started = Date.now();
      const result = { scenario, policy, ...(await SCENARIOS[scenario](ctx)) };
      log(`${formatScenario(result)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      if (formatExtras(result)) log(formatExtras(result));
      results.push(result);
    }
    return results;
  } catch (err) {
    for (let id = 0; id < cluster.ports.length; id++) {
      const tail = cluster.output(id).split('\n').slice(-20).join('\n');
      log(`--- broker ${id} (last lines) ---\n${tail}`);
    }
    throw err;
  } finally {
    // SCENARIO_LOGS=DIR keeps every broker's log: DIR/<policy>-broker-<id>.log.
    const dir = process.env.SCENARIO_LOGS;
    if (dir) {
      await mkdir(dir, { recursive: true });
      for (let id = 0; id < cluster.ports.length; id++) {
        await writeFile(join(dir, `${policy}-broker-${id}.log`), cluster.output(id));
      }
    }
    await zk?.close();
    await cluster.close();
  }
}

interface MeasureOptions {
  /** After everything produced was consumed, before the measurement ends. */
  after?: (workload: Workload) => Promise<void>;
  /** Groups the scenario drives itself (no members in the workload) catch up here. */
  caughtUp?: (since: number) => Promise<void>;
}

/**
 * Runs a workload of `groups` on the cluster with the attribution meter on, from before the
 * groups start until they have consumed everything produced, with `during` in between.
 */
async function measure(
  ctx: Context,
  groups: GroupSpec[],
  during: (workload: Workload) => Promise<void>,
  options: MeasureOptions = {},
): Promise<Attribution> {
  const { cluster } = ctx;
  const workload = new Workload(cluster.bootstrap, groups, PARTITIONS);
  const meter = new AttributionMeter(
    () => cluster.httpPorts.map((port, id) => (cluster.isRunning(id) ? port : null)),
    groups.map((g) => ({ group: g.group, topics: [g.topic] })),
  );
  try {
    await meter.start();
    await workload.begin();
    await during(workload);
    await workload.stopProducing();
    const stopped = Date.now();
    const missing = await workload.awaitConsumedAll();
    if (missing.length > 0) {
      ctx.log(`not consumed: ${missing.length}, e.g. ${missing[0]}`);
      for (const g of groups) {
        if (!missing.some((m) => m.startsWith(`${g.group}: `))) continue;
        for (const m of workload.members.get(g.group) ?? []) ctx.log(m.describe());
      }
    }
    await options.caughtUp?.(stopped);
    await options.after?.(workload);
    return await meter.stop();
  } finally {
    await workload.close();
  }
}

// ---- the scenarios -----------------------------------------------------------------------------

/** How long consumption is measured in a scenario without a fault. */
const STEADY_MS = 10_000;

const STEADY_GROUPS: GroupSpec[] = [
  { group: 'steady-kafkajs', topic: 'steady-kafkajs', members: ['kafkajs', 'kafkajs'] },
  { group: 'steady-kcat', topic: 'steady-kcat', members: ['kcat', 'kcat'] },
  { group: 'steady-mixed', topic: 'steady-mixed', members: ['kafkajs', 'kcat'] },
];

const SCENARIOS: Record<ScenarioName, (ctx: Context) => Promise<Outcome>> = {
  steady: (ctx) => measure(ctx, STEADY_GROUPS, () => sleep(STEADY_MS)),
  'findcoordinator-broker-restart': (ctx) => findCoordinatorBrokerDown(ctx, 'SIGTERM'),
  'findcoordinator-broker-kill': (ctx) => findCoordinatorBrokerDown(ctx, 'SIGKILL'),
  'coordinator-restart': coordinatorRestart,
  'client-pause': clientPause,
  'node-deleted': nodeDeleted,
  'shared-client-id': sharedClientId,
  leave,
  'zk-session-expiry': zkSessionExpiry,
};

/**
 * FindCoordinator answered by A, the coordinator on B, partitions on A, B and C; A goes down
 * (SIGTERM: it hands its partitions over; SIGKILL: they move once its session expires), and once
 * its partitions have moved, A starts again (and takes its share back).
 */
async function findCoordinatorBrokerDown(
  ctx: Context,
  signal: 'SIGTERM' | 'SIGKILL',
): Promise<Outcome> {
  const { cluster, log } = ctx;
  const [a, b] = signal === 'SIGTERM' ? [0, 1] : [2, 0];
  const name = signal === 'SIGTERM' ? 'fc-restart' : 'fc-kill';
  const bootstrap = [cluster.bootstrap[a]];
  const kcat = await groupCoordinatedBy(ctx, `${name}-kcat`, b);
  const kafkajs = await groupCoordinatedBy(ctx, `${name}-kafkajs`, b);
  const groups: GroupSpec[] = [
    {
      group: kcat,
      topic: topicOnEveryBroker(`${name}-kcat`),
      members: ['kcat', 'kcat'],
      bootstrap,
    },
    {
      group: kafkajs,
      topic: topicOnEveryBroker(`${name}-kafkajs`),
      members: ['kafkajs', 'kafkajs'],
      clientIds: [`${kafkajs}-kafkajs-0`, `${kafkajs}-kafkajs-1`],
      bootstrap,
    },
  ];
  return measure(ctx, groups, async () => {
    for (const g of groups) await expectLeadersOnEveryBroker(ctx, g.topic);
    // librdkafka asks its bootstrap broker (the only one it is connected to at first); kafkajs
    // asks a broker of its metadata at random, so only the kcat group is held to A.
    for (const [i, g] of groups.entries()) {
      const writers = await entryWriters(ctx, g.group);
      log(`${g.group}: coordinator ${b}, FindCoordinator answered by ${writers.join(', ')}`);
      if (i === 0 && !writers.every((w) => w === a))
        throw new Error(`${g.group}: FindCoordinator was answered by ${writers}, not ${a}`);
    }
    await sleep(1000);
    const code = await cluster.stopBroker(a, signal);
    if (signal === 'SIGTERM' && code !== 0) throw new Error(`broker ${a} exited ${code}`);
    const down = Date.now();
    await waitFor(
      `the partitions of broker ${a} to move`,
      async () => {
        for (const g of groups) {
          const leaders = await topicLeaders(ctx, g.topic).catch(() => null);
          if (!leaders || [...leaders.values()].some((l) => l === a || l < 0)) return false;
        }
        return true;
      },
      RECOVERY_TIMEOUT_MS,
      200,
    );
    log(`broker ${a} down (${signal}); its partitions moved after ${since(down)} s`);
    await sleep(2000);
    await cluster.startBroker(a);
    log(`broker ${a} started again ${since(down)} s after it went down`);
    await sleep(4000);
  });
}

/** The groups' coordinator stopped gracefully (the groups move) and started again. */
async function coordinatorRestart(ctx: Context): Promise<Outcome> {
  const { cluster, log } = ctx;
  const coordinator = 2;
  const kcat = await groupCoordinatedBy(ctx, 'coord-restart-kcat', coordinator);
  const kafkajs = await groupCoordinatedBy(ctx, 'coord-restart-kafkajs', coordinator);
  const groups: GroupSpec[] = [
    { group: kcat, topic: 'coord-restart-kcat', members: ['kcat', 'kcat'] },
    { group: kafkajs, topic: 'coord-restart-kafkajs', members: ['kafkajs', 'kafkajs'] },
  ];
  return measure(ctx, groups, async () => {
    await sleep(1000);
    const code = await cluster.stopBroker(coordinator, 'SIGTERM');
    if (code !== 0) throw new Error(`broker ${coordinator} exited ${code}`);
    const down = Date.now();
    const moved = await Promise.all(groups.map((g) => coordinatorOf(ctx, g.group)));
    log(`coordinator ${coordinator} stopped; the groups moved to ${moved.join(', ')}`);
    await sleep(3000);
    await cluster.startBroker(coordinator);
    log(`broker ${coordinator} started again ${since(down)} s after it stopped`);
    await sleep(5000);
  });
}

/**
 * A client whose heartbeats stall past its session timeout rejoins as a new member with the same
 * client id before the coordinator expires the old one (then again, the other way round), driven
 * at the protocol level; meanwhile a kcat member is frozen past its session timeout and thawed.
 */
async function clientPause(ctx: Context): Promise<Outcome> {
  const { cluster, log } = ctx;
  const [bootstrap, coordinator] = [0, 1];
  const rawGroup = await groupCoordinatedBy(ctx, 'pause-raw', coordinator);
  const groups: GroupSpec[] = [
    { group: rawGroup, topic: 'pause-raw', members: [] },
    { group: 'pause-kcat', topic: 'pause-kcat', members: ['kcat', 'kcat'] },
  ];
  const raw = new RawGroupMember({
    ports: cluster.ports,
    bootstrap,
    clientId: 'pause-raw-client',
    group: rawGroup,
    topic: 'pause-raw',
    partitions: PARTITIONS,
    sessionTimeoutMs: 6000,
    log,
  });
  const refusals = () =>
    cluster.output(coordinator).split('it holds a write the removed member did not make').length -
    1;
  const refusedBefore = refusals();
  const marks = cluster.ports.map((_, id) => cluster.output(id).length);
  /** Lines every broker logged since the scenario began about `group`'s member removals. */
  const removals = (group: string) =>
    cluster.ports.flatMap((_, id) =>
      cluster
        .output(id)
        .slice(marks[id])
        .split('\n')
        .filter((l) => l.includes(`"groupId":"${group}"`) && l.includes('member removed'))
        .map((l) => (JSON.parse(l) as { reason: string }).reason),
    );
  try {
    return await measure(
      ctx,
      groups,
      async (workload) => {
        await raw.start();
        const first = await entryOf(ctx, 'pause-raw-client', rawGroup);
        log(`${rawGroup}: coordinator ${raw.coordinator}, entry written by ${first?.broker}`);
        await sleep(1000);

        // The natural version: kcat frozen past its session.timeout.ms (6 s), then thawed.
        const frozen = workload.members.get('pause-kcat')![0];
        frozen.pause();
        const thaw = sleep(6000 + 2000).then(() => frozen.resume());

        // 1. Heartbeats stall; 2.5 s later (before the coordinator's 6 s are up) the client asks
        //    FindCoordinator again and joins as a new member: the join completes when the
        //    coordinator expires the old member.
        await raw.stopHeartbeats();
        const oldMember = raw.memberId;
        const lastHeartbeat = raw.lastHeartbeatAt;
        await sleep(2500);
        await raw.findCoordinator();
        const rejoinAt = Date.now();
        await raw.joinAsNewMember();
        const { memberIds } = await raw.members();
        log(
          `rejoined as a new member ${((rejoinAt - lastHeartbeat) / 1000).toFixed(1)} s after the ` +
            `last heartbeat; the join completed after ${since(rejoinAt)} s, with the old member ` +
            `${memberIds.includes(oldMember) ? 'still in' : 'expired'}`,
        );
        await thaw;
        log(`pause-kcat: members removed by the coordinator: ${removals('pause-kcat').join(', ')}`);

        // 2. Heartbeats stall; FindCoordinator again before the coordinator's 6 s are up, but the
        //    join only once the old member expired: its removal meets the newer write.
        await raw.stopHeartbeats();
        const expiring = raw.memberId;
        await sleep(2500);
        await raw.findCoordinator();
        await waitFor(
          `member ${expiring} to expire`,
          async () => !(await raw.members()).memberIds.includes(expiring),
          20_000,
          100,
        );
        const expiredAt = Date.now();
        await raw.joinAsNewMember();
        log(
          `old member expired after FindCoordinator, rejoined ${since(expiredAt)} s later; ` +
            `deletes refused by the guard: ${refusals() - refusedBefore}`,
        );
        await sleep(2000);
      },
      { caughtUp: (stopped) => raw.awaitCaughtUp(stopped) },
    );
  } finally {
    await raw.close();
  }
}

/** The groups' mapping nodes deleted by hand while they consume, twice. */
async function nodeDeleted(ctx: Context): Promise<Outcome> {
  const groups: GroupSpec[] = [
    { group: 'deleted-kafkajs', topic: 'deleted-kafkajs', members: ['kafkajs', 'kafkajs'] },
    { group: 'deleted-kcat', topic: 'deleted-kcat', members: ['kcat', 'kcat'] },
  ];
  const names = new Set(groups.map((g) => g.group));
  return measure(ctx, groups, async () => {
    for (let round = 0; round < 2; round++) {
      await sleep(3000);
      const nodes = (await mappingNodes(ctx)).filter(({ node }) =>
        [...node.groups.keys()].some((g) => names.has(g)),
      );
      for (const { name } of nodes) await ctx.zk.delete(`${MAPPING_ROOT}/${name}`).catch(() => {});
      ctx.log(`deleted ${nodes.length} mapping nodes: ${nodes.map((n) => n.name).join(', ')}`);
    }
    await sleep(4000);
  });
}

/**
 * Two groups on one host share their client ids, as the libraries' defaults do, consuming
 * different topics; halfway, one member leaves and its partitions move to another client.
 */
async function sharedClientId(ctx: Context): Promise<Outcome> {
  const groups: GroupSpec[] = [
    {
      group: 'shared-a',
      topic: 'shared-a',
      members: ['kcat', 'kafkajs'],
      clientIds: ['rdkafka', 'kafkajs'],
    },
    {
      group: 'shared-b',
      topic: 'shared-b',
      members: ['kcat', 'kafkajs'],
      clientIds: ['rdkafka', 'kafkajs'],
    },
  ];
  return measure(ctx, groups, async (workload) => {
    for (const clientId of ['rdkafka', 'kafkajs']) {
      const node = await readNode(ctx, clientId);
      ctx.log(`${nodeName({ clientHost: HOST, clientId })}: ${describeNode(node)}`);
    }
    await sleep(4000);
    await workload.members.get('shared-a')![1].stop();
    ctx.log('the kafkajs member of shared-a left');
    await sleep(6000);
    for (const clientId of ['rdkafka', 'kafkajs']) {
      const node = await readNode(ctx, clientId);
      ctx.log(`${nodeName({ clientHost: HOST, clientId })}: ${describeNode(node)}`);
    }
  });
}

/** The consumers leave for good; past the grace period, their clients' nodes are counted. */
async function leave(ctx: Context): Promise<Outcome> {
  const groups: GroupSpec[] = [
    { group: 'leave-kcat', topic: 'leave-kcat', members: ['kcat', 'kcat'] },
    {
      group: 'leave-kafkajs',
      topic: 'leave-kafkajs',
      members: ['kafkajs', 'kafkajs'],
      clientIds: ['leave-kafkajs-0', 'leave-kafkajs-1'],
    },
  ];
  const clients = ['leave-kcat-kcat-0', 'leave-kcat-kcat-1', 'leave-kafkajs-0', 'leave-kafkajs-1'];
  const names = new Set(clients.map((clientId) => nodeName({ clientHost: HOST, clientId })));
  const left = async () => (await mappingNodes(ctx)).filter((n) => names.has(n.name));
  let nodesLeft = -1;
  const attribution = await measure(ctx, groups, () => sleep(5000), {
    after: async (workload) => {
      ctx.log(`mapping nodes of the clients before they leave: ${(await left()).length}`);
      for (const members of workload.members.values()) {
        await Promise.all(members.map((m) => m.stop()));
      }
      const gone = Date.now();
      await sleep(ORPHAN_GRACE_MS + 2 * RECONCILE_INTERVAL_MS + 1000);
      const remaining = await left();
      nodesLeft = remaining.length;
      ctx.log(
        `${since(gone)} s after they left: ${nodesLeft} mapping nodes of theirs` +
          remaining.map((n) => ` ${n.name}: ${describeNode(n.node)}`).join(';'),
      );
    },
  });
  return { ...attribution, nodesLeft };
}

/** A broker that coordinates a group and leads partitions is frozen past its session timeout. */
async function zkSessionExpiry(ctx: Context): Promise<Outcome> {
  const { cluster, log } = ctx;
  const victim = 1;
  const kcat = await groupCoordinatedBy(ctx, 'zk-expiry-kcat', victim);
  const kafkajs = await groupCoordinatedBy(ctx, 'zk-expiry-kafkajs', 0);
  const groups: GroupSpec[] = [
    { group: kcat, topic: topicOnEveryBroker('zk-expiry-kcat'), members: ['kcat', 'kcat'] },
    {
      group: kafkajs,
      topic: topicOnEveryBroker('zk-expiry-kafkajs'),
      members: ['kafkajs', 'kafkajs'],
    },
  ];
  return measure(ctx, groups, async () => {
    for (const g of groups) await expectLeadersOnEveryBroker(ctx, g.topic);
    const rejoined = () => cluster.output(victim).split('"event":"reconnected"').length;
    const before = rejoined();
    await sleep(1000);
    cluster.pause(victim);
    const paused = Date.now();
    await sleep(cluster.sessionTimeoutMs + 3000);
    cluster.resume(victim);
    await waitFor(
      `broker ${victim} to rejoin after its session expired`,
      () => rejoined() > before,
      RECOVERY_TIMEOUT_MS,
    );
    log(`broker ${victim} frozen for ${since(paused)} s; its session expired and it rejoined`);
    await sleep(5000);
  });
}

// ---- helpers -----------------------------------------------------------------------------------

function since(at: number): string {
  return ((Date.now() - at) / 1000).toFixed(1);
}

/** A live broker's Kafka port. */
function livePort(ctx: Context): number {
  const id = ctx.cluster.ports.findIndex((_, i) => ctx.cluster.isRunning(i));
  return ctx.cluster.ports[id];
}

/** Partition → leader (broker id, -1 for none) of `topic`, from Metadata (v12). */
async function topicLeaders(ctx: Context, topic: string): Promise<Map<number, number>> {
  const conn = await RawConnection.open(livePort(ctx), HOST, 'scenario-probe');
  try {
    const { body } = await conn.request(ApiKey.Metadata, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = body.topics[0];
    if (t.errorCode !== ErrorCode.NONE) throw new Error(`Metadata ${topic}: ${t.errorCode}`);
    return new Map(t.partitions.map((p) => [p.partitionIndex, p.leaderId]));
  } finally {
    conn.close();
  }
}

/** The broker coordinating `group`: the leader of its `__consumer_offsets` partition. */
async function coordinatorOf(ctx: Context, group: string): Promise<number> {
  const { leader } = await waitFor(
    `a coordinator for ${group}`,
    async () => {
      const leaders = await topicLeaders(ctx, '__consumer_offsets').catch(() => null);
      const leader = leaders?.get(offsetsPartitionOf(group)) ?? -1;
      return leader >= 0 ? { leader } : null;
    },
    RECOVERY_TIMEOUT_MS,
    200,
  );
  return leader;
}

/** `prefix`, or `prefix-N` for the first N that places the group on `broker`'s coordinator. */
async function groupCoordinatedBy(ctx: Context, prefix: string, broker: number): Promise<string> {
  const leaders = await waitFor(
    'every partition of __consumer_offsets to have a leader',
    async () => {
      const leaders = await topicLeaders(ctx, '__consumer_offsets').catch(() => null);
      return leaders && [...leaders.values()].every((l) => l >= 0) ? leaders : null;
    },
    RECOVERY_TIMEOUT_MS,
    200,
  );
  for (let i = 0; i < 1000; i++) {
    const group = i === 0 ? prefix : `${prefix}-${i}`;
    if (leaders.get(offsetsPartitionOf(group)) === broker) return group;
  }
  throw new Error(`no group ${prefix}-N is coordinated by broker ${broker}`);
}

/**
 * `prefix`, or `prefix-N` for the first N whose partitions the three brokers all lead (their
 * placement by rendezvous hashing; checked against Metadata once the topic exists).
 */
function topicOnEveryBroker(prefix: string, brokers = [0, 1, 2]): string {
  for (let i = 0; i < 1000; i++) {
    const topic = i === 0 ? prefix : `${prefix}-${i}`;
    const owners = new Set(
      Array.from({ length: PARTITIONS }, (_, partition) =>
        preferredBroker({ topic: `persistent://public/default/${topic}`, partition }, brokers),
      ),
    );
    if (owners.size === brokers.length) return topic;
  }
  throw new Error(`no topic ${prefix}-N has partitions on every broker`);
}

async function expectLeadersOnEveryBroker(ctx: Context, topic: string): Promise<void> {
  const leaders = await topicLeaders(ctx, topic);
  const by = new Set(leaders.values());
  if (!ctx.cluster.ports.every((_, id) => by.has(id)))
    throw new Error(`${topic}: partitions led by ${[...leaders.values()]}, not by every broker`);
}

/** Every mapping node under the root, decoded. */
async function mappingNodes(ctx: Context): Promise<{ name: string; node: MappingNode }[]> {
  const out: { name: string; node: MappingNode }[] = [];
  for (const name of await ctx.zk.children(MAPPING_ROOT)) {
    const got = await ctx.zk.get(`${MAPPING_ROOT}/${name}`);
    if (got !== null) out.push({ name, node: decodeNode(got.value) });
  }
  return out;
}

async function readNode(ctx: Context, clientId: string): Promise<MappingNode | null> {
  const got = await ctx.zk.get(`${MAPPING_ROOT}/${nodeName({ clientHost: HOST, clientId })}`);
  return got === null ? null : decodeNode(got.value);
}

async function entryOf(ctx: Context, clientId: string, group: string) {
  return (await readNode(ctx, clientId))?.groups.get(group);
}

/** The brokers that wrote the entries of `group` (by the entries' `broker`), one per node. */
async function entryWriters(ctx: Context, group: string): Promise<number[]> {
  return (await mappingNodes(ctx)).flatMap(({ node }) => {
    const entry = node.groups.get(group);
    return entry === undefined ? [] : [entry.broker];
  });
}

function describeNode(node: MappingNode | null): string {
  if (node === null) return 'absent';
  return [...node.groups]
    .map(([group, e]) => {
      const assigned =
        e.assigned === null
          ? 'unpublished'
          : [...e.assigned].map(([t, ps]) => `${t.split('/').pop()}[${ps}]`).join(' ');
      return `${group} (broker ${e.broker}, ${assigned})`;
    })
    .join(', ');
}
