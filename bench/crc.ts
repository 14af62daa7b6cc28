/**
 * Throughput of produce-side batch validation (validateRecordSet: framing, header rules and the
 * CRC-32C of the whole batch), next to the bare CRC-32C, for batches of 1 KiB, 16 KiB and 1 MiB.
 * Run: npx tsx bench/crc.ts
 */
import * as batchHeader from '../src/storage/batch-header.js';
import { validateRecordSet } from '../plugins/kafka/records/validate-record-set.js';

const { BATCH_HEADER_SIZE, BATCH_LENGTH, BATCH_LOG_OVERHEAD, CRC, MAGIC, crc32c, computeBatchCrc } =
  batchHeader;
const MIN_DURATION_MS = 1000;

/** A valid v2 batch of `size` bytes from a plain producer, with one record per 100 bytes. */
function batchOfSize(size: number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = BATCH_HEADER_SIZE; i < size; i++) buf[i] = (i * 31) & 0xff;
  const records = Math.max(1, Math.floor((size - BATCH_HEADER_SIZE) / 100));
  buf.writeInt32BE(size - BATCH_LOG_OVERHEAD, BATCH_LENGTH);
  buf.writeInt8(2, MAGIC);
  buf.writeInt32BE(records - 1, batchHeader.LAST_OFFSET_DELTA);
  buf.writeBigInt64BE(-1n, batchHeader.PRODUCER_ID);
  buf.writeInt16BE(-1, batchHeader.PRODUCER_EPOCH);
  buf.writeInt32BE(-1, batchHeader.BASE_SEQUENCE);
  buf.writeInt32BE(records, batchHeader.RECORDS_COUNT);
  buf.writeUInt32BE(computeBatchCrc(buf, 0, size), CRC);
  return buf;
}

/** Runs `fn` in rounds until MIN_DURATION_MS has passed; returns calls per second. */
function rate(fn: () => unknown): number {
  for (let i = 0; i < 100; i++) fn(); // warm up
  let calls = 0;
  let round = 1;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < MIN_DURATION_MS) {
    for (let i = 0; i < round; i++) fn();
    calls += round;
    round *= 2;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (calls * 1000) / elapsedMs;
}

const rows: string[][] = [['batch', 'validate MB/s', 'validate batches/s', 'bare crc32c MB/s']];
for (const [label, size] of [
  ['1 KiB', 1024],
  ['16 KiB', 16 * 1024],
  ['1 MiB', 1024 * 1024],
] as const) {
  const batch = batchOfSize(size);
  const options = { produceVersion: 11, maxMessageBytes: size };
  const check = validateRecordSet(batch, options);
  if (!check.ok) throw new Error(`bench batch is invalid: ${check.message}`);
  // Both calls reach native code, so V8 cannot drop them as dead.
  const validations = rate(() => validateRecordSet(batch, options));
  const crcs = rate(() => crc32c(batch.subarray(batchHeader.ATTRIBUTES)));
  const mbps = (perSecond: number) => ((perSecond * size) / 1e6).toFixed(0);
  rows.push([label, mbps(validations), validations.toFixed(0), mbps(crcs)]);
}

const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padStart(widths[c])).join('  '));
console.log(`node ${process.version}, MB = 10^6 bytes`);
