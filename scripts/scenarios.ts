/**
 * `npm run scenarios`: the group-attribution scenarios on ZooKeeper and three `koppa broker`
 * processes, once per group-id lifecycle policy, one line each:
 * `scenario=<name> policy=<coordinator|kop> attributed=<percent> max_unattributed_s=<seconds>`
 * (and, for `leave`, `mapping_nodes_left=<count>` on a line of its own). Progress goes to stderr
 * as it happens; the lines of every scenario and policy are printed together at the end.
 * Flags: --scenario NAME and --policy NAME (repeatable; default all).
 */
import { parseArgs } from 'node:util';
import {
  ALL_SCENARIOS,
  formatExtras,
  formatScenario,
  POLICIES,
  runScenarios,
  type Policy,
  type ScenarioName,
  type ScenarioResult,
} from '../test/helpers/attribution-scenarios.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    policy: { type: 'string', multiple: true },
  },
});
const scenarios = (values.scenario ?? ALL_SCENARIOS) as ScenarioName[];
const policies = (values.policy ?? POLICIES) as Policy[];
for (const s of scenarios) {
  if (!ALL_SCENARIOS.includes(s))
    throw new Error(`unknown scenario ${s}: one of ${ALL_SCENARIOS.join(', ')}`);
}
for (const p of policies) {
  if (!POLICIES.includes(p)) throw new Error(`unknown policy ${p}: one of ${POLICIES.join(', ')}`);
}
const started = Date.now();
const results: ScenarioResult[] = [];
for (const policy of policies) {
  results.push(
    ...(await runScenarios(policy, scenarios, (line) =>
      console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
    )),
  );
}
for (const result of results) {
  console.log(formatScenario(result));
  if (formatExtras(result)) console.log(formatExtras(result));
}
