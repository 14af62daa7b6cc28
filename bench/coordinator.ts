/**
 * The group coordinator at scale, driven through the real GroupCoordinator with the system clock
 * and a persistence that resolves at once:
 * 1. 10,000 members in 1,000 groups (10 each) join and sync;
 * 2. every member heartbeats every 3 s for 30 s: CPU share of one core, event-loop delay p99;
 * 3. rebalance latency of one group (a member rejoins → every member's JoinGroup answered, its
 *    followers learning of the rebalance from a heartbeat) beside 10, 100 and 1,000 other groups.
 * Run: npx tsx bench/coordinator.ts
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { GroupCoordinator } from '../plugins/kafka/coordinator/group-coordinator.js';
import { systemClock } from '../plugins/kafka/coordinator/system-clock.js';
import type { CoordinatorConfig, JoinGroupParams } from '../plugins/kafka/coordinator/types.js';
import {
  ErrorCode,
  Writer,
  encodeConsumerProtocolSubscription,
} from '../plugins/kafka/protocol/index.js';

const GROUPS = 1000;
const MEMBERS_PER_GROUP = 10;
const HEARTBEAT_INTERVAL_MS = 3000;
const STEADY_MS = 30_000;
const TICK_MS = 100;
const SESSION_TIMEOUT_MS = 10_000;
const REBALANCES = 500;
const WARM_UP_REBALANCES = 50;
/** monitorEventLoopDelay records whole sampling intervals: the delay is what exceeds it. */
const DELAY_RESOLUTION_MS = 10;

const config: CoordinatorConfig = {
  offsetsTopicNumPartitions: 50,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 0,
  groupMaxSize: 2_147_483_647,
  offsetsRetentionMs: 7 * 24 * 3600_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxSize: 4096,
};

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Member {
  groupId: string;
  memberId: string;
  generationId: number;
}

function metadata(): Buffer {
  const w = new Writer();
  w.int16(1);
  encodeConsumerProtocolSubscription(w, 1, { topics: ['orders'], userData: null });
  return w.toBuffer();
}
const METADATA = metadata();

function coordinator(): GroupCoordinator {
  const c = new GroupCoordinator(config, { append: () => Promise.resolve() }, systemClock, quiet);
  for (let p = 0; p < config.offsetsTopicNumPartitions; p++) {
    c.beginLoad(p);
    c.completeLoad(p);
  }
  return c;
}

function joinParams(groupId: string, memberId: string, sessionTimeoutMs: number): JoinGroupParams {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: METADATA }],
    sessionTimeoutMs,
    rebalanceTimeoutMs: 60_000,
    clientId: `client-${groupId}`,
    clientHost: '/10.0.0.1',
    requireKnownMemberId: true,
    reason: null,
  };
}

function check(errorCode: number, what: string): void {
  if (errorCode !== ErrorCode.NONE) throw new Error(`${what}: error ${errorCode}`);
}

/** One group's members join (KIP-394: MEMBER_ID_REQUIRED first) and sync. */
async function formGroup(
  c: GroupCoordinator,
  groupId: string,
  sessionTimeoutMs: number,
): Promise<Member[]> {
  const ids: string[] = [];
  for (let i = 0; i < MEMBERS_PER_GROUP; i++) {
    ids.push((await c.joinGroup(joinParams(groupId, '', sessionTimeoutMs))).memberId);
  }
  const joins = await Promise.all(
    ids.map((id) => c.joinGroup(joinParams(groupId, id, sessionTimeoutMs))),
  );
  const syncs = joins.map((j) =>
    c.syncGroup({
      groupId,
      generationId: j.generationId,
      memberId: j.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments:
        j.leader === j.memberId
          ? joins.map((m) => ({ memberId: m.memberId, assignment: METADATA }))
          : [],
    }),
  );
  for (const s of await Promise.all(syncs)) check(s.errorCode, 'sync');
  return joins.map((j) => ({ groupId, memberId: j.memberId, generationId: j.generationId }));
}

async function formGroups(
  c: GroupCoordinator,
  count: number,
  prefix: string,
  sessionTimeoutMs: number,
): Promise<Member[]> {
  const members: Member[] = [];
  const batch = 50;
  for (let g = 0; g < count; g += batch) {
    const formed = await Promise.all(
      Array.from({ length: Math.min(batch, count - g) }, (_, i) =>
        formGroup(c, `${prefix}-${g + i}`, sessionTimeoutMs),
      ),
    );
    members.push(...formed.flat());
  }
  return members;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function steadyHeartbeats(): Promise<void> {
  const c = coordinator();
  let started = performance.now();
  const members = await formGroups(c, GROUPS, 'group', SESSION_TIMEOUT_MS);
  console.log(
    `formed ${GROUPS} groups of ${MEMBERS_PER_GROUP} (${members.length} members) in ${(performance.now() - started).toFixed(0)} ms`,
  );

  // Each tick heartbeats the members whose turn it is, so each heartbeats every 3 s.
  const slices = HEARTBEAT_INTERVAL_MS / TICK_MS;
  let slice = 0;
  let heartbeats = 0;
  let failures = 0;
  let insideMs = 0;
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  const cpuBefore = process.cpuUsage();
  started = performance.now();
  delay.enable();
  const ticker = setInterval(() => {
    const t0 = performance.now();
    for (let i = slice; i < members.length; i += slices) {
      const m = members[i];
      heartbeats++;
      void c
        .heartbeat({
          groupId: m.groupId,
          generationId: m.generationId,
          memberId: m.memberId,
          groupInstanceId: null,
        })
        .then((code) => {
          if (code !== ErrorCode.NONE) failures++;
        });
    }
    insideMs += performance.now() - t0;
    slice = (slice + 1) % slices;
  }, TICK_MS);
  await sleep(STEADY_MS);
  clearInterval(ticker);
  delay.disable();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;

  console.log(
    `steady heartbeats: ${heartbeats} in ${(wallMs / 1000).toFixed(1)} s (${((heartbeats / wallMs) * 1000).toFixed(0)}/s), ${failures} not NONE`,
  );
  console.log(`  CPU share of one core (whole process): ${((cpuMs / wallMs) * 100).toFixed(2)} %`);
  console.log(
    `  time inside coordinator calls:         ${((insideMs / wallMs) * 100).toFixed(2)} %`,
  );
  const excess = (ns: number) => (ns / 1e6 - DELAY_RESOLUTION_MS).toFixed(2);
  console.log(
    `  event-loop delay: p50 ${excess(delay.percentile(50))} ms, p99 ${excess(delay.percentile(99))} ms, max ${excess(delay.max)} ms`,
  );
  c.shutdown();
}

/** The leader rejoins; followers learn of it from a heartbeat and rejoin; all are answered. */
async function rebalanceLatency(otherGroups: number, report: boolean): Promise<void> {
  const c = coordinator();
  // The other groups stay idle: sessions long enough not to expire during the measurement.
  const long = 600_000;
  await formGroups(c, otherGroups, 'other', long);
  let members = await formGroup(c, 'target', long);
  const latencies: number[] = [];
  for (let r = 0; r < WARM_UP_REBALANCES + REBALANCES; r++) {
    const t0 = performance.now();
    const joins = [c.joinGroup(joinParams('target', members[0].memberId, long))];
    for (const m of members.slice(1)) {
      const code = await c.heartbeat({
        groupId: 'target',
        generationId: m.generationId,
        memberId: m.memberId,
        groupInstanceId: null,
      });
      if (code !== ErrorCode.REBALANCE_IN_PROGRESS) throw new Error(`heartbeat: ${code}`);
      joins.push(c.joinGroup(joinParams('target', m.memberId, long)));
    }
    const answered = await Promise.all(joins);
    if (r >= WARM_UP_REBALANCES) latencies.push(performance.now() - t0);
    for (const a of answered) check(a.errorCode, 'rejoin');
    await Promise.all(
      answered.map((j) =>
        c.syncGroup({
          groupId: 'target',
          generationId: j.generationId,
          memberId: j.memberId,
          groupInstanceId: null,
          protocolType: null,
          protocolName: null,
          assignments:
            j.leader === j.memberId
              ? answered.map((m) => ({ memberId: m.memberId, assignment: METADATA }))
              : [],
        }),
      ),
    );
    members = answered.map((j) => ({
      groupId: 'target',
      memberId: j.memberId,
      generationId: j.generationId,
    }));
  }
  latencies.sort((x, y) => x - y);
  if (report) {
    console.log(
      `  beside ${String(otherGroups).padStart(4)} other groups: median ${(percentile(latencies, 50) * 1000).toFixed(0)} µs, p99 ${(percentile(latencies, 99) * 1000).toFixed(0)} µs (${REBALANCES} rebalances)`,
    );
  }
  c.shutdown();
}

// The coordinator's timers do not keep a process alive (a broker has its sockets); this does.
const keepAlive = setInterval(() => {}, 1000);
await steadyHeartbeats();
console.log(`rebalance latency of a ${MEMBERS_PER_GROUP}-member group (initial delay 0):`);
// A first, unreported pass warms the code up and collects the heartbeat phase's garbage.
await rebalanceLatency(10, false);
for (const others of [10, 100, 1000]) await rebalanceLatency(others, true);
clearInterval(keepAlive);
