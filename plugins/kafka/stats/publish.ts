/**
 * Publishes the Kafka handler's counts at scrape time under KoP's names (`kop_server_*`, without
 * `_total`, as KoP exports them) and Koppa's own health metrics under Prometheus conventions.
 * Nothing here runs on a request path; the series tables are read a few hundred series at a time
 * (see `totals`), and each series' labels are rendered once.
 */
import type { HostMetrics, ReadSeries } from '../../../src/api/index.js';
import type { FetchStats } from './fetch-stats.js';
import type { ProduceStats } from './produce-stats.js';
import type { Series, SeriesTable } from './series-table.js';

type Label = 'topic' | 'partition' | 'group' | 'tenant';
const IN_LABELS: readonly Label[] = ['topic', 'partition', 'tenant'];
const OUT_LABELS: readonly Label[] = ['topic', 'partition', 'group', 'tenant'];

/** Series read between two points where the exposition may pause to let other work run. */
const SERIES_PER_STEP = 256;

function totals(
  table: SeriesTable,
  pick: (series: Series) => number,
  before?: () => void,
): ReadSeries<Label> {
  return function* (_set, setCached) {
    before?.();
    let step = 0;
    for (const series of table.values()) {
      setCached(series, pick(series));
      if (++step < SERIES_PER_STEP) continue;
      step = 0;
      yield;
    }
  };
}

export function publishKafkaStats(
  metrics: HostMetrics,
  produce: ProduceStats,
  fetch: FetchStats,
): void {
  const { produced } = produce;
  const { consumed } = fetch;
  // Counts whose answer is overdue are given up (counted without a group) before each read.
  const settle = () => fetch.settle();
  const settled =
    (value: () => number): ReadSeries<Label> =>
    (set) => {
      settle();
      set({}, value());
    };
  metrics.counter({
    name: 'kop_server_MESSAGE_IN',
    help: 'Messages (records) produced, by topic and partition',
    labelNames: IN_LABELS,
    read: totals(produced, (s) => s.messages),
  });
  metrics.counter({
    name: 'kop_server_BYTES_IN',
    help: 'Bytes of record batches produced, by topic and partition',
    labelNames: IN_LABELS,
    read: totals(produced, (s) => s.bytes),
  });
  metrics.counter({
    name: 'kop_server_MESSAGE_OUT',
    help: 'Messages (records) fetched, by topic, partition and consumer group (none without one)',
    labelNames: OUT_LABELS,
    read: totals(consumed, (s) => s.messages, settle),
  });
  metrics.counter({
    name: 'kop_server_BYTES_OUT',
    help: 'Bytes of record batches fetched, by topic, partition and consumer group',
    labelNames: OUT_LABELS,
    read: totals(consumed, (s) => s.bytes, settle),
  });
  metrics.counter({
    name: 'kop_server_ENTRIES_OUT',
    help: 'Record batches fetched, by topic, partition and consumer group',
    labelNames: OUT_LABELS,
    read: totals(consumed, (s) => s.batches, settle),
  });
  metrics.counter({
    name: 'koppa_fetch_unattributed_messages_total',
    help: 'Messages fetched by a consumer whose group was not known in time: counted without a group',
    read: settled(() => fetch.unattributedMessages),
  });
  metrics.gauge({
    name: 'koppa_fetch_messages_awaiting_group',
    help: 'Messages fetched and not published yet: waiting to learn their consumer group',
    read: settled(() => fetch.awaitingMessages),
  });
}
