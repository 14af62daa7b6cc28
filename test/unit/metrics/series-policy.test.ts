import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/api/index.js';
import { createSeriesPolicy } from '../../../plugins/kafka/stats/series-policy.js';

const policy = (allowPatterns: string[], denyPatterns: string[], partitionLabel = true) =>
  createSeriesPolicy({ allowPatterns, denyPatterns, partitionLabel });

describe('series policy', () => {
  it('allows every group by default and keeps the partition label', () => {
    const all = policy([], []);
    expect(['billing', '', '__other__', 'console-consumer-1'].map(all.groupAllowed)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(all.partitionLabel).toBe(true);
    expect(policy([], [], false).partitionLabel).toBe(false);
  });

  it('allows only the groups an allow pattern matches whole', () => {
    const p = policy(['billing-.*', 'audit'], []);
    expect(p.groupAllowed('billing-eu')).toBe(true);
    expect(p.groupAllowed('audit')).toBe(true);
    expect(p.groupAllowed('audit-2')).toBe(false);
    expect(p.groupAllowed('old-billing-eu')).toBe(false);
    expect(p.groupAllowed('payments')).toBe(false);
  });

  it('denies the groups a deny pattern matches whole, even when allowed', () => {
    const p = policy([], ['console-consumer-\\d+', 'tmp']);
    expect(p.groupAllowed('console-consumer-4711')).toBe(false);
    expect(p.groupAllowed('console-consumer-x')).toBe(true);
    expect(p.groupAllowed('tmp')).toBe(false);
    expect(p.groupAllowed('tmp-2')).toBe(true);
    const both = policy(['billing-.*'], ['billing-test-.*']);
    expect(both.groupAllowed('billing-eu')).toBe(true);
    expect(both.groupAllowed('billing-test-1')).toBe(false);
  });

  it('an alternation matches only whole names', () => {
    const p = policy(['a|b'], []);
    expect(p.groupAllowed('a')).toBe(true);
    expect(p.groupAllowed('b')).toBe(true);
    expect(p.groupAllowed('ab')).toBe(false);
    expect(p.groupAllowed('xb')).toBe(false);
  });

  it('gives the same answer when asked again, also past its memo', () => {
    const p = policy([], ['g-[0-9]*7']);
    const ids = Array.from({ length: 25_000 }, (_, i) => i);
    const expected = ids.map((i) => !String(i).endsWith('7'));
    // Twice: the second round asks groups decided before the memo was last cleared.
    expect(ids.map((i) => p.groupAllowed(`g-${i}`))).toEqual(expected);
    expect(ids.map((i) => p.groupAllowed(`g-${i}`))).toEqual(expected);
  });

  it('refuses an invalid pattern with a ConfigError naming its setting', () => {
    expect(() => policy(['ok', '(unclosed'], [])).toThrow(ConfigError);
    expect(() => policy(['ok', '(unclosed'], [])).toThrow(/metricsGroupAllowPatterns.*\(unclosed/);
    expect(() => policy([], ['[z-a]'])).toThrow(/metricsGroupDenyPatterns/);
  });
});
