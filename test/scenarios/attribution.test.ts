/**
 * The group-attribution scenarios (as `npm run scenarios` runs them), under both policies: the
 * default `coordinator` policy counts every fetched message under its consumer's group in every
 * scenario, with no stretch of misattributed scrapes, and leaves no mapping node of consumers
 * that left; the `kop` policy's figures are printed beside it for comparison, not asserted.
 */
import { describe, expect, it } from 'vitest';
import {
  formatExtras,
  formatScenario,
  runScenarios,
  type ScenarioResult,
} from '../helpers/attribution-scenarios.js';

function print(results: ScenarioResult[]): void {
  for (const r of results) console.log([formatScenario(r), formatExtras(r)].join('\n').trim());
}

describe('group attribution scenarios', () => {
  it('coordinator policy: every fetched message is counted under its group', async () => {
    const results = await runScenarios('coordinator');
    print(results);
    for (const r of results) {
      expect(r.fetched, r.scenario).toBeGreaterThan(0);
      expect(r.attributedPercent, r.scenario).toBe(100);
      expect(r.maxUnattributedS, r.scenario).toBe(0);
      if (r.scenario === 'leave') expect(r.nodesLeft, r.scenario).toBe(0);
    }
  }, 600_000);

  it('kop policy: the same scenarios, for comparison', async () => {
    const results = await runScenarios('kop');
    print(results);
    for (const r of results) expect(r.fetched, r.scenario).toBeGreaterThan(0);
  }, 600_000);
});
