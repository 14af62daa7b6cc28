/**
 * The labels of KoP's counters. `topic` is the full Pulsar name
 * (`persistent://public/default/orders`), as KoP labels its series: a topic has one series
 * whether a client calls it `orders` or by its full name, and a topic of another tenant or
 * namespace (which clients reach by its full name) never shares a series with a short name of
 * the default namespace. `tenant` is that name's tenant, so that dashboards can sum per tenant
 * without parsing names. `group` is present only for consumption by a consumer group;
 * `partition` unless metricsPartitionLabel is off.
 */

const PERSISTENT = 'persistent://';

/** The tenant of a full topic name (`persistent://tenant/namespace/topic`). */
export function tenantOf(fullName: string): string {
  const start = fullName.startsWith(PERSISTENT) ? PERSISTENT.length : 0;
  const end = fullName.indexOf('/', start);
  return end < 0 ? '' : fullName.slice(start, end);
}

/** Built once per series, when it first counts; `partition` null: summed over partitions. */
export function seriesLabels(
  topic: string,
  partition: number | null,
  group: string | null,
): Readonly<Record<string, string>> {
  const tenant = tenantOf(topic);
  // No `group` key at all for a consumer without a group, as KoP renders it (not group=""), and
  // no `partition` key when metricsPartitionLabel is off.
  const labels: Record<string, string> = { topic };
  if (partition !== null) labels.partition = String(partition);
  if (group !== null) labels.group = group;
  labels.tenant = tenant;
  return labels;
}
