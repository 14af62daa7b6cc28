/**
 * What the broker metrics cost on the request path: per request, the Kafka listener's work
 * (the clock read when the frame is read, the response's error codes walked, the duration put in
 * its bucket) for a Produce and a Fetch of 10 partitions, with and without errors, beside what a
 * prom-client Histogram observation alone would cost; and per append and per read, the message
 * store's counting wrapper over the in-memory store.
 * Run: npx tsx bench/request-metrics.ts
 */
import { performance } from 'node:perf_hooks';
import { Histogram } from 'prom-client';
import {
  ApiKey,
  apis,
  ErrorCode,
  Reader,
  Writer,
  type FetchResponse,
  type ProduceResponse,
} from '../plugins/kafka/protocol/index.js';
import { encodeRecordBatch } from '../plugins/kafka/records/index.js';
import {
  REQUEST_DURATION_BUCKETS,
  RequestMetrics,
} from '../plugins/kafka/server/request-metrics.js';
import { createHostMetrics } from '../src/metrics/index.js';
import { InstrumentedMessageStore } from '../src/storage/instrumented-store.js';
import { MemoryMessageStore } from '../src/storage/memory-store.js';
import type { MessageStore } from '../src/storage/types.js';
import { nsPerCall } from './timing.js';

const PARTITIONS = 10;

/** ns per call of `fn`, `calls` calls one after the other. */
async function nsPerAsyncCall(calls: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  return ((performance.now() - start) * 1e6) / calls;
}

/** The best of `rounds` measurements: the machine is shared, noise only adds. */
async function best(rounds: number, measure: () => number | Promise<number>): Promise<number> {
  let min = Infinity;
  for (let r = 0; r < rounds; r++) min = Math.min(min, await measure());
  return min;
}

/** A response as the codec reads it: every field of version `version` present. */
function decoded<K extends typeof ApiKey.Produce | typeof ApiKey.Fetch>(
  apiKey: K,
  version: number,
  response: K extends typeof ApiKey.Produce ? ProduceResponse : FetchResponse,
) {
  const w = new Writer();
  (apis[apiKey].encodeResponse as (w: Writer, v: number, m: unknown) => void)(w, version, response);
  return apis[apiKey].decodeResponse(new Reader(Buffer.concat(w.finish())), version);
}

const batch = encodeRecordBatch(
  Array.from({ length: 10 }, () => ({ key: null, value: Buffer.alloc(100, 'x'), timestamp: 0 })),
  { baseOffset: 0 },
);

function produceResponse(errorCode: number): ProduceResponse {
  return decoded(ApiKey.Produce, 9, {
    responses: [
      {
        name: 'orders',
        partitionResponses: Array.from({ length: PARTITIONS }, (_, index) => ({
          index,
          errorCode,
          baseOffset: 1000,
          logAppendTimeMs: -1,
          logStartOffset: 0,
          recordErrors: [],
          errorMessage: null,
        })),
      },
    ],
    throttleTimeMs: 0,
  }) as ProduceResponse;
}

function fetchResponse(errorCode: number): FetchResponse {
  return decoded(ApiKey.Fetch, 12, {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      {
        topic: 'orders',
        partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
          partitionIndex,
          errorCode,
          highWatermark: 1000,
          lastStableOffset: 1000,
          logStartOffset: 0,
          abortedTransactions: [],
          preferredReadReplica: -1,
          records: errorCode === 0 ? batch : null,
        })),
      },
    ],
  }) as FetchResponse;
}

const rows: string[][] = [['request metrics, per request', 'ns']];
const requestMetrics = new RequestMetrics(createHostMetrics());
/** What the listener adds to one request: the clock at the frame, the walk, the duration. */
const perRequest = (apiKey: number, response: unknown) => () => {
  const startedAt = performance.now();
  requestMetrics.countResponseErrors(apiKey, response);
  requestMetrics.requestDone(apiKey, startedAt);
};
for (const [label, apiKey, response] of [
  [`Produce, ${PARTITIONS} partitions, no errors`, ApiKey.Produce, produceResponse(ErrorCode.NONE)],
  [
    `Produce, ${PARTITIONS} partitions, all NOT_LEADER_OR_FOLLOWER`,
    ApiKey.Produce,
    produceResponse(ErrorCode.NOT_LEADER_OR_FOLLOWER),
  ],
  [`Fetch, ${PARTITIONS} partitions, no errors`, ApiKey.Fetch, fetchResponse(ErrorCode.NONE)],
  [
    `Fetch, ${PARTITIONS} partitions, all OFFSET_OUT_OF_RANGE`,
    ApiKey.Fetch,
    fetchResponse(ErrorCode.OFFSET_OUT_OF_RANGE),
  ],
] as const) {
  rows.push([
    label,
    (await best(3, () => nsPerCall(perRequest(apiKey, response), { warmUpCalls: 20_000 }))).toFixed(
      0,
    ),
  ]);
}
{
  // For comparison: a prom-client Histogram observation with an api label, nothing else.
  const histogram = new Histogram({
    name: 'bench_seconds',
    help: 'bench',
    labelNames: ['api'],
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers: [],
  });
  const labels = [{ api: 'Produce' }, { api: 'Fetch' }];
  rows.push([
    '(prom-client Histogram.observe alone, for comparison)',
    (
      await best(3, () =>
        nsPerCall((i) => histogram.observe(labels[i & 1], 0.0003), { warmUpCalls: 20_000 }),
      )
    ).toFixed(0),
  ]);
}

const APPENDS = 1_000;
const READS = 50_000;

/**
 * ns per append of one 10-record batch (APPENDS of them, on a fresh log of `store`), then per
 * read of one of them (READS, cycling over the log).
 */
async function storeCosts(store: MessageStore): Promise<[number, number]> {
  const log = await store.openLog({ topic: 'bench', partition: 0 });
  const append = await nsPerAsyncCall(APPENDS, () => log.append(Buffer.from(batch)));
  const read = await nsPerAsyncCall(READS, (i) => log.read((i % APPENDS) * 10, batch.length, true));
  await store.close();
  return [append, read];
}
const store = { alone: [Infinity, Infinity], counted: [Infinity, Infinity] };
// Alternating, best of ten (the first rounds warm up), so that both see the same machine.
for (let round = 0; round < 10; round++) {
  const alone = await storeCosts(new MemoryMessageStore());
  const counted = await storeCosts(
    new InstrumentedMessageStore(new MemoryMessageStore(), createHostMetrics()),
  );
  store.alone = store.alone.map((v, i) => Math.min(v, alone[i]));
  store.counted = store.counted.map((v, i) => Math.min(v, counted[i]));
}
rows.push(['message store (in memory), per call', 'ns']);
rows.push(['append one batch: store alone', store.alone[0].toFixed(0)]);
rows.push(['append one batch: counted', store.counted[0].toFixed(0)]);
rows.push(['read one batch: store alone', store.alone[1].toFixed(0)]);
rows.push(['read one batch: counted', store.counted[1].toFixed(0)]);

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  '));
console.log(`node ${process.version}`);
