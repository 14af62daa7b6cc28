/**
 * `npm run scenarios`: the group-attribution scenarios on ZooKeeper and three `koppa broker`
 * processes, once per group-id lifecycle policy, one line each:
 * `scenario=<name> policy=<coordinator|kop> attributed=<percent> max_unattributed_s=<seconds>`.
 * Flags: --scenario NAME and --policy NAME (repeatable; default all).
 */
import { parseArgs } from 'node:util';
import {
  ALL_SCENARIOS,
  formatScenario,
  POLICIES,
  runScenarios,
  type Policy,
  type ScenarioName,
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
  if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}: one of ${ALL_SCENARIOS}`);
}
for (const p of policies) {
  if (!POLICIES.includes(p)) throw new Error(`unknown policy ${p}: one of ${POLICIES}`);
}
for (const policy of policies) {
  for (const result of await runScenarios(policy, scenarios)) console.log(formatScenario(result));
}
