/**
 * `npm run drills`: the failure drills on ZooKeeper and three `koppa broker` processes, printing
 * the time from each fault to resumed consumption and the checks. Exits 1 when a check fails.
 * Flags: --session-timeout-ms N (default 6000), --drill NAME (repeatable; default all).
 */
import { parseArgs } from 'node:util';
import { ALL_DRILLS, runFailoverDrills, type DrillName } from '../test/helpers/failover-drill.js';

const { values } = parseArgs({
  options: {
    'session-timeout-ms': { type: 'string', default: '6000' },
    drill: { type: 'string', multiple: true },
  },
});
const drills = (values.drill ?? ALL_DRILLS) as DrillName[];
for (const name of drills) {
  if (!ALL_DRILLS.includes(name))
    throw new Error(`unknown drill ${name}: one of ${ALL_DRILLS.join(', ')}`);
}
const sessionTimeoutMs = Number(values['session-timeout-ms']);
console.log(
  `failure drills: 3 brokers on ZooKeeper, zooKeeperSessionTimeoutMillis=${sessionTimeoutMs}`,
);
const report = await runFailoverDrills({
  drills,
  sessionTimeoutMs,
  log: (line) => console.log(line),
});
const checks = {
  lost: report.lost,
  rewound: report.drills.flatMap((d) => d.rewound.map((r) => `${d.drill}: ${r}`)),
  uncommitted: report.uncommitted,
  epoch_regressions: report.epochRegressions,
};
console.log(`acknowledged=${report.acknowledged}`);
for (const [check, problems] of Object.entries(checks)) {
  console.log(
    `${check}=${problems.length}${problems.length ? ` ${problems.slice(0, 10).join('; ')}` : ''}`,
  );
}
process.exit(Object.values(checks).some((p) => p.length > 0) ? 1 : 0);
