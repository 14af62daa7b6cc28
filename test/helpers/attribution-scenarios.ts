/**
 * The group-attribution scenarios of `npm run scenarios`: real clients against three
 * `koppa broker` processes on a real ZooKeeper, each group consuming topics of its own, so the
 * right group of every fetched message is known; the brokers' `/metrics` say how much of it was
 * counted under the right group (see attribution-meter.ts). Each scenario runs under a group-id
 * lifecycle policy: `coordinator` (Koppa's) or `kop` (as KoP behaved).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AttributionMeter, type Attribution } from './attribution-meter.js';
import { ProcessCluster } from './process-cluster.js';
import { Workload, type GroupSpec } from './workload.js';

export type Policy = 'coordinator' | 'kop';
export const POLICIES: Policy[] = ['coordinator', 'kop'];

export type ScenarioName = 'steady';
export const ALL_SCENARIOS: ScenarioName[] = ['steady'];

export interface ScenarioResult extends Attribution {
  scenario: ScenarioName;
  policy: Policy;
}

/** The line the issue asks for, exactly. */
export function formatScenario(r: ScenarioResult): string {
  return (
    `scenario=${r.scenario} policy=${r.policy} attributed=${r.attributedPercent.toFixed(2)} ` +
    `max_unattributed_s=${r.maxUnattributedS.toFixed(1)}`
  );
}

const PARTITIONS = 6;
/** How long consumption is measured in a scenario without a fault. */
const STEADY_MS = 10_000;

const STEADY_GROUPS: GroupSpec[] = [
  { group: 'steady-kafkajs', topic: 'steady-kafkajs', members: ['kafkajs', 'kafkajs'] },
  { group: 'steady-kcat', topic: 'steady-kcat', members: ['kcat', 'kcat'] },
  { group: 'steady-mixed', topic: 'steady-mixed', members: ['kafkajs', 'kcat'] },
];

/** Runs `scenarios` one after another on one cluster running `policy`. */
export async function runScenarios(
  policy: Policy,
  scenarios: ScenarioName[] = ALL_SCENARIOS,
  log: (line: string) => void = () => undefined,
): Promise<ScenarioResult[]> {
  const cluster = await ProcessCluster.start({ settings: { groupIdLifecyclePolicy: policy } });
  try {
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      log(`scenario ${scenario}, policy ${policy}`);
      const result = { scenario, policy, ...(await SCENARIOS[scenario](cluster)) };
      log(formatScenario(result));
      results.push(result);
    }
    return results;
  } finally {
    await cluster.close();
  }
}

/**
 * Runs a workload of `groups` on the cluster with the attribution meter on, from before the
 * groups start until they have consumed everything produced, with `during` in between.
 */
async function measure(
  cluster: ProcessCluster,
  groups: GroupSpec[],
  during: (workload: Workload) => Promise<void>,
): Promise<Attribution> {
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
    await workload.awaitConsumedAll();
    return await meter.stop();
  } finally {
    await workload.close();
  }
}

const SCENARIOS: Record<ScenarioName, (cluster: ProcessCluster) => Promise<Attribution>> = {
  steady: (cluster) => measure(cluster, STEADY_GROUPS, () => sleep(STEADY_MS)),
};
