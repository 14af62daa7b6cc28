/**
 * What the traffic metrics cost: counting on the produce and fetch paths (ns per counted
 * partition, batch headers read included), and a scrape of a broker's metrics holding 10,000
 * fetch series (1,000 topic-partitions read by 10 groups each: MESSAGE_OUT, BYTES_OUT and
 * ENTRIES_OUT each), alone and beside 10,000 produce series (MESSAGE_IN, BYTES_IN).
 * Run: npx tsx bench/metrics.ts
 */
import { performance } from 'node:perf_hooks';
import type { ClientKey, GroupResolver } from '../plugins/kafka/group-mapping/types.js';
import { encodeRecordBatch } from '../plugins/kafka/records/index.js';
import { createKafkaStats } from '../plugins/kafka/stats/index.js';
import { createHostMetrics } from '../src/metrics/index.js';
import { nsPerCall } from './timing.js';

const SERIES = 10_000;
const GROUPS = 10;
const SCRAPES = 20;

// A partition keeps its topic's name string for its life, so the paths see the same strings.
const TOPICS = Array.from({ length: 100 }, (_, t) => `persistent://public/default/topic-${t}`);
const topicOf = (i: number) => TOPICS[i % 100];
const clients: ClientKey[] = Array.from({ length: GROUPS }, (_, g) => ({
  clientHost: '10.0.0.1',
  clientId: `consumer-${g}`,
}));

/** A resolver that answers every fetch of a client with `answer(client)`, at once. */
function resolver(answer: (client: ClientKey) => string | null | undefined): GroupResolver {
  return {
    groupOf: (client) => answer(client),
    onChange: () => () => undefined,
    connectionClosed: () => undefined,
  };
}

/** `batches` batches of 10 records of 100 bytes, as a fetch returns them. */
function fetched(batches: number): Buffer {
  const value = Buffer.alloc(100, 'x');
  return Buffer.concat(
    Array.from({ length: batches }, (_, b) =>
      encodeRecordBatch(
        Array.from({ length: 10 }, () => ({ key: null, value, timestamp: 0 })),
        { baseOffset: b * 10 },
      ),
    ),
  );
}

const rows: string[][] = [['counted on', 'ns per counted partition']];
{
  const stats = createKafkaStats(
    createHostMetrics(),
    resolver(() => null),
  );
  const ns = nsPerCall((i) => stats.produce.appended(topicOf(i), i % SERIES, 10, 1200));
  rows.push(['produce (one batch)', ns.toFixed(0)]);
}
for (const batches of [1, 10]) {
  const records = fetched(batches);
  const stats = createKafkaStats(
    createHostMetrics(),
    resolver((c) => c.clientId),
  );
  const ns = nsPerCall((i) =>
    stats.fetch.fetched(clients[i % GROUPS], 1, topicOf(i), i % 1000, records),
  );
  rows.push([`fetch, group known (${batches} batch${batches > 1 ? 'es' : ''})`, ns.toFixed(0)]);
}
{
  // Answers not known yet: counts are kept aside (within the caps) instead of published.
  const records = fetched(1);
  const stats = createKafkaStats(
    createHostMetrics(),
    resolver(() => undefined),
  );
  const ns = nsPerCall((i) =>
    stats.fetch.fetched(clients[i % GROUPS], 1, topicOf(i), i % 100, records),
  );
  rows.push(['fetch, group not known yet (1 batch)', ns.toFixed(0)]);
}

/**
 * ms per rendering of a broker's metrics holding `fetchSeries` fetch and `produceSeries` produce
 * series (the whole body, as one string; bench/scrape.ts serves it over HTTP).
 */
async function scrape(fetchSeries: number, produceSeries: number): Promise<string> {
  const metrics = createHostMetrics();
  const stats = createKafkaStats(
    metrics,
    resolver((c) => c.clientId),
  );
  const records = fetched(1);
  for (let i = 0; i < produceSeries; i++) stats.produce.appended(topicOf(i), i, 10, records.length);
  // Each topic-partition read by every group.
  for (let i = 0; i < fetchSeries; i++) {
    stats.fetch.fetched(clients[i % GROUPS], 1, topicOf(i), Math.floor(i / GROUPS), records);
  }
  let text = await metrics.exposition(); // warm up
  const start = performance.now();
  for (let i = 0; i < SCRAPES; i++) text = await metrics.exposition();
  const ms = (performance.now() - start) / SCRAPES;
  const samples = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const mb = (text.length / 1e6).toFixed(1);
  return `${fetchSeries} fetch + ${produceSeries} produce series: ${samples} samples, ${mb} MB, ${ms.toFixed(1)} ms`;
}

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  '));
console.log(`scrape of ${await scrape(SERIES, 0)}`);
console.log(`scrape of ${await scrape(SERIES, SERIES)}`);
console.log(`node ${process.version}`);
