/**
 * The Kafka handler's traffic metrics: counted on the produce and fetch paths in plain
 * structures (produce-stats, fetch-stats, awaiting-groups), published at scrape time (publish).
 *
 * Other Kafka metrics (the group-id mapping's health, for one) register on the same broker's
 * registry through the host context: `host.metrics.counter({ name, help, read })` for counts
 * kept in plain numbers, or a prom-client Counter with `registers: [host.metrics.registry]`.
 */
import type { HostMetrics } from '../../../src/api/index.js';
import type { GroupResolver } from '../group-mapping/types.js';
import type { AwaitingOptions } from './awaiting-groups.js';
import { FetchStats } from './fetch-stats.js';
import { ProduceStats } from './produce-stats.js';
import { publishKafkaStats } from './publish.js';
import { ALL_SERIES, type SeriesPolicy } from './series-policy.js';

export { FetchStats } from './fetch-stats.js';
export { ProduceStats } from './produce-stats.js';
export { DEFAULT_AWAITING, type AwaitingOptions } from './awaiting-groups.js';
export {
  ALL_SERIES,
  createSeriesPolicy,
  OTHER_GROUPS,
  type SeriesPolicy,
  type SeriesPolicyOptions,
} from './series-policy.js';

export interface KafkaStats {
  readonly produce: ProduceStats;
  readonly fetch: FetchStats;
  /** Stops listening to the resolver. */
  close(): void;
}

export function createKafkaStats(
  metrics: HostMetrics,
  groups: GroupResolver,
  options?: {
    awaiting?: AwaitingOptions;
    now?: () => number;
    /** The cardinality guards (default: every group, with partitions). */
    series?: SeriesPolicy;
  },
): KafkaStats {
  const policy = options?.series ?? ALL_SERIES;
  const produce = new ProduceStats(policy);
  const fetch = new FetchStats(groups, options?.awaiting, options?.now, policy);
  publishKafkaStats(metrics, produce, fetch);
  return { produce, fetch, close: () => fetch.close() };
}
