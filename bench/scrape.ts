/**
 * What a Prometheus scrape of a broker with many consumption series costs: a broker's metrics
 * with 10,000 and 100,000 fetch series (topic × partition × group, counted through the real
 * Kafka stats code, plus the produce series of the same partitions), served by the broker's
 * HTTP server and scraped over loopback HTTP with fetch() from a child process (so that reading
 * the body does not run on the broker's event loop). Prints per size: scrape time (median, max),
 * body bytes, and the broker's event-loop delay (perf_hooks.monitorEventLoopDelay, max and p99)
 * idle and during the scrapes.
 * Run: npm run bench:scrape (or npx tsx bench/scrape.ts); SCRAPE_SERIES=10000,100000 picks the
 * sizes (multiples of 100). The body is streamed as it is rendered (src/http/http-server.ts); the
 * figures of the path before (prom-client counters reset and refilled at every scrape, the body
 * built whole) are in the message of the commit that replaced it.
 */
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import type { ClientKey, GroupResolver } from '../plugins/kafka/group-mapping/types.js';
import { encodeRecordBatch } from '../plugins/kafka/records/index.js';
import { createKafkaStats } from '../plugins/kafka/stats/index.js';
import { createHttpServer } from '../src/http/http-server.js';
import { createHostMetrics } from '../src/metrics/index.js';

const GROUPS = 10;
const PARTITIONS_PER_TOPIC = 10;
const SCRAPES = 10;
/** Between two scrapes, so that the loop is seen between them as well. */
const PAUSE_MS = 50;
const IDLE_MS = 2000;

/** Runs in the child: scrapes `url` once to warm up, says so, then SCRAPES times; prints JSON. */
const SCRAPER = `
const [url, scrapes, pauseMs] = process.argv.slice(1);
const once = async () => {
  const start = performance.now();
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  if (!response.ok) throw new Error('/metrics answered ' + response.status);
  return { ms: performance.now() - start, bytes: body.byteLength };
};
await once();
process.stdout.write('warm\\n');
const results = [];
for (let i = 0; i < Number(scrapes); i++) {
  results.push(await once());
  await new Promise((resolve) => setTimeout(resolve, Number(pauseMs)));
}
process.stdout.write(JSON.stringify(results) + '\\n');
`;

/** A resolver that knows every client's group at once: its client id. */
const resolver: GroupResolver = {
  groupOf: (client) => client.clientId,
  onChange: () => () => undefined,
  connectionClosed: () => undefined,
};

/** One fetched batch of 10 records of 100 bytes. */
const records = encodeRecordBatch(
  Array.from({ length: 10 }, () => ({ key: null, value: Buffer.alloc(100, 'x'), timestamp: 0 })),
  { baseOffset: 0 },
);

interface Figures {
  series: number;
  bytes: number;
  medianMs: number;
  maxMs: number;
  idle: { maxMs: number; p99Ms: number };
  scraping: { maxMs: number; p99Ms: number };
}

const ms = (ns: number) => ns / 1e6;

async function measure(fetchSeries: number): Promise<Figures> {
  const metrics = createHostMetrics();
  const stats = createKafkaStats(metrics, resolver);
  const topics = fetchSeries / (GROUPS * PARTITIONS_PER_TOPIC);
  if (!Number.isInteger(topics)) throw new Error(`${fetchSeries} is not a multiple of 100`);
  const clients: ClientKey[] = Array.from({ length: GROUPS }, (_, g) => ({
    clientHost: '10.1.2.3',
    clientId: `orders-service-${g}`,
  }));
  for (let t = 0; t < topics; t++) {
    const topic = `persistent://public/default/orders-${t}`;
    for (let p = 0; p < PARTITIONS_PER_TOPIC; p++) {
      stats.produce.appended(topic, p, 10, records.length);
      for (const client of clients) stats.fetch.fetched(client, 1, topic, p, records);
    }
  }
  const http = createHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
    metrics,
  });
  const port = await http.listen();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  try {
    delay.enable();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    delay.disable();
    const idle = { maxMs: ms(delay.max), p99Ms: ms(delay.percentile(99)) };
    delay.reset();
    const url = `http://127.0.0.1:${port}/metrics`;
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', SCRAPER, url, String(SCRAPES), String(PAUSE_MS)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (!out.includes('warm\n') && (out + chunk).includes('warm\n')) delay.enable();
      out += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    delay.disable();
    if (code !== 0) throw new Error(`the scraper exited with ${code}`);
    const results = JSON.parse(out.slice(out.indexOf('warm\n') + 5)) as {
      ms: number;
      bytes: number;
    }[];
    const times = results.map((r) => r.ms).sort((a, b) => a - b);
    return {
      series: fetchSeries,
      bytes: results[results.length - 1].bytes,
      medianMs: times[Math.floor(times.length / 2)],
      maxMs: times[times.length - 1],
      idle,
      scraping: { maxMs: ms(delay.max), p99Ms: ms(delay.percentile(99)) },
    };
  } finally {
    stats.close();
    await http.close();
  }
}

const rows = [
  [
    'fetch series',
    'body MB',
    'scrape median ms',
    'scrape max ms',
    'loop delay idle max/p99 ms',
    'loop delay scraping max/p99 ms',
  ],
];
const SIZES = (process.env.SCRAPE_SERIES ?? '10000,100000').split(',').map(Number);
for (const size of SIZES) {
  const f = await measure(size);
  rows.push([
    String(f.series),
    (f.bytes / 1e6).toFixed(1),
    f.medianMs.toFixed(0),
    f.maxMs.toFixed(0),
    `${f.idle.maxMs.toFixed(1)} / ${f.idle.p99Ms.toFixed(1)}`,
    `${f.scraping.maxMs.toFixed(1)} / ${f.scraping.p99Ms.toFixed(1)}`,
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  '));
console.log(`${SCRAPES} scrapes per size, ${PAUSE_MS} ms apart; node ${process.version}`);
