/**
 * The cardinality guards of the per-group series (metricsGroupAllowPatterns,
 * metricsGroupDenyPatterns, metricsPartitionLabel): which consumer groups get series of their
 * own, and whether series keep the `partition` label. A group is allowed when no allow pattern is
 * set or one matches its whole name, and no deny pattern matches its whole name. What a denied
 * group counts is summed under OTHER_GROUPS, so totals stay right while the series are bounded.
 *
 * Patterns are JavaScript regular expressions matched against the whole group id (as if between
 * `^(?:` and `)$`). Decisions are memoized: the fetch path asks per fetched partition and must
 * not run regexes each time.
 */
import { ConfigError } from '../../../src/api/index.js';

export interface SeriesPolicyOptions {
  allowPatterns: readonly string[];
  denyPatterns: readonly string[];
  partitionLabel: boolean;
}

export interface SeriesPolicy {
  /** True when `group` gets series of its own. */
  groupAllowed(group: string): boolean;
  /** False: series are summed over partitions and have no `partition` label. */
  readonly partitionLabel: boolean;
}

/** The `group` label under which denied groups' counts are summed. */
export const OTHER_GROUPS = '__other__';

/** Decisions remembered; past this, forgotten all at once (group ids a client made up in bulk). */
const MEMO_LIMIT = 10_000;

/** Throws ConfigError when a pattern is not a valid regular expression. */
export function createSeriesPolicy(options: SeriesPolicyOptions): SeriesPolicy {
  const allow = options.allowPatterns.map((p) => wholeName(p, 'metricsGroupAllowPatterns'));
  const deny = options.denyPatterns.map((p) => wholeName(p, 'metricsGroupDenyPatterns'));
  const { partitionLabel } = options;
  if (allow.length === 0 && deny.length === 0) return { groupAllowed: () => true, partitionLabel };
  const decided = new Map<string, boolean>();
  return {
    partitionLabel,
    groupAllowed(group) {
      let allowed = decided.get(group);
      if (allowed === undefined) {
        allowed =
          (allow.length === 0 || allow.some((re) => re.test(group))) &&
          !deny.some((re) => re.test(group));
        if (decided.size >= MEMO_LIMIT) decided.clear();
        decided.set(group, allowed);
      }
      return allowed;
    },
  };
}

/** Every group gets its series, with their partitions: the defaults. */
export const ALL_SERIES: SeriesPolicy = createSeriesPolicy({
  allowPatterns: [],
  denyPatterns: [],
  partitionLabel: true,
});

function wholeName(pattern: string, key: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new ConfigError(
      `${key}: ${JSON.stringify(pattern)} is not a valid regular expression (${(err as Error).message})`,
    );
  }
}
