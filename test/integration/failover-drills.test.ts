/**
 * The failure drills of `npm run drills`, asserted: ZooKeeper and three `koppa broker` processes
 * with acks=all producers and kafkajs and kcat -G groups running while a broker is stopped, a
 * broker is killed, a group's coordinator is killed, ZooKeeper restarts and a paused broker's
 * session expires. Consumption resumes by itself after each, nothing acknowledged is lost,
 * committed offsets survive, and no broker appends after it lost a partition (leader epochs
 * never go down in any log). The recovery times, and the appends a resumed broker's store
 * refused, are printed, not asserted: whether its claim check or its store's fence refuses
 * the produce requests queued to it depends on which it learns first.
 */
import { describe, expect, it } from 'vitest';
import { ALL_DRILLS, formatResult, runFailoverDrills } from '../helpers/failover-drill.js';

describe('failure drills on ZooKeeper with three broker processes', () => {
  it('recovers by itself from every drill, losing nothing acknowledged or committed', async () => {
    const report = await runFailoverDrills();
    for (const drill of report.drills) console.log(formatResult(drill));

    expect(report.drills.map((d) => d.drill)).toEqual(ALL_DRILLS);
    for (const drill of report.drills) {
      // Every group resumed (else the drill throws) without going back on its commits.
      expect(drill.groups).toHaveLength(3);
      expect(drill.rewound, drill.drill).toEqual([]);
    }
    expect(report.acknowledged).toBeGreaterThan(1000);
    expect(report.lost).toEqual([]);
    expect(report.uncommitted).toEqual([]);
    expect(report.epochRegressions).toEqual([]);
  }, 600_000);
});
