/** The mapping's health on the broker's `/metrics`, read from its plain counts at scrape time. */
import type { HostMetrics } from '../../../src/api/index.js';
import type { MappingCache } from './node-cache.js';
import type { GroupMappingStats } from './stats.js';

const COUNTERS: [keyof GroupMappingStats, string, string][] = [
  ['writes', 'writes_total', 'FindCoordinator mapping writes that completed'],
  [
    'writeFailures',
    'write_failures_total',
    'FindCoordinator mapping writes that failed or did not complete within groupIdWriteTimeoutMs',
  ],
  ['deletes', 'deletes_total', 'Mapping entries deleted (member gone, or connection closed: kop)'],
  [
    'deletesRefused',
    'deletes_refused_total',
    'Deletes not done by the guard: the entry held a write the removed member did not make',
  ],
  ['repairs', 'repairs_total', 'Mapping entries re-created by the coordinator for live members'],
  [
    'corrections',
    'corrections_total',
    'Published assignments found wrong by the reconciler and corrected',
  ],
  [
    'orphansRemoved',
    'orphans_removed_total',
    'Mapping entries no live member accounts for (deleted groups, refused deletes), removed',
  ],
  ['reconcilePasses', 'reconcile_passes_total', 'Reconciler passes completed'],
  [
    'coordinatorFailures',
    'coordinator_failures_total',
    'Coordinator-side mapping updates (deletes, assignments, repairs) that failed',
  ],
  ['lookupFailures', 'lookup_failures_total', 'Background mapping reads that failed (retried)'],
  [
    'ambiguousAnswers',
    'ambiguous_answers_total',
    'Fetches by a client in several groups that no single group assignment claimed',
  ],
];

export function publishGroupMappingMetrics(
  metrics: HostMetrics,
  stats: GroupMappingStats,
  cache: MappingCache,
): void {
  for (const [key, suffix, help] of COUNTERS) {
    metrics.counter({
      name: `koppa_group_mapping_${suffix}`,
      help,
      read: (set) => set({}, stats[key]),
    });
  }
  metrics.gauge({
    name: 'koppa_group_mapping_cached_nodes',
    help: "Clients' mapping nodes this broker caches (and watches) for its fetch path",
    read: (set) => set({}, cache.size),
  });
}
