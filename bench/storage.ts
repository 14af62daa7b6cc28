/**
 * File store throughput: appends of 1 KiB and 64 KiB batches (8 in flight, default flush policy:
 * fsync in the background once a second), then reads at the tail (served by the tail cache) and
 * from the start of the log (segment files, through the OS page cache). Then the cost of the
 * ownership fence: one stat of the claim file before each write group, alone and as part of
 * appends that each make a write group of their own (one in flight), with and without it.
 *
 *   npx tsx bench/storage.ts
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileMessageStore } from '../src/storage/file-store.js';
import { OwnerFence } from '../src/storage/owner-fence.js';
import { silentLogger } from '../src/storage/logger.js';
import type { PartitionLog } from '../src/storage/types.js';
import { makeBatch } from '../test/helpers/record-batches.js';

const MiB = 1024 * 1024;
const APPEND_SECONDS = 3;
const READ_SECONDS = 2;
const IN_FLIGHT = 8;

function report(label: string, bytes: number, batches: number, seconds: number): void {
  const mbps = (bytes / MiB / seconds).toFixed(1).padStart(8);
  const bps = Math.round(batches / seconds)
    .toLocaleString('en-US')
    .padStart(10);
  console.log(`${label.padEnd(34)} ${mbps} MB/s ${bps} batches/s`);
}

/** A batch of about `bytes` bytes made of 1 KiB records. */
function templateBatch(bytes: number): Buffer {
  const records = Math.max(1, Math.round(bytes / 1024));
  return makeBatch({ records, valueBytes: Math.floor((bytes - 61) / records) - 12 });
}

async function appendFor(
  label: string,
  log: PartitionLog,
  template: Buffer,
  seconds: number,
): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let batches = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (performance.now() < deadline) {
    // Each append gets its own buffer, as each produce request arrives in its own.
    const batch = Buffer.allocUnsafeSlow(template.length);
    template.copy(batch);
    const append = log.append(batch).finally(() => inFlight.delete(append));
    inFlight.add(append);
    batches++;
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  report(`append ${label} batches`, batches * template.length, batches, elapsed);
}

async function readFor(
  label: string,
  log: PartitionLog,
  from: () => number,
  seconds: number,
): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let bytes = 0;
  let fetches = 0;
  let offset = from();
  while (performance.now() < deadline) {
    if (offset >= log.logEndOffset()) offset = from();
    const { records } = await log.read(offset, MiB, true);
    bytes += records.length;
    fetches++;
    // Next fetch starts after the last whole batch returned, as a consumer's does.
    let pos = 0;
    let last = offset;
    while (pos < records.length) {
      last = Number(records.readBigInt64BE(pos)) + records.readInt32BE(pos + 23);
      pos += records.readInt32BE(pos + 8) + 12;
    }
    offset = last + 1;
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(
    `${label.padEnd(34)} ${(bytes / MiB / elapsed).toFixed(1).padStart(8)} MB/s ${Math.round(
      fetches / elapsed,
    )
      .toLocaleString('en-US')
      .padStart(10)} fetches/s (1 MiB)`,
  );
}

/** Milliseconds `count` appends take when each is a write group of its own. */
async function appendOneByOne(log: PartitionLog, template: Buffer, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const batch = Buffer.allocUnsafeSlow(template.length);
    template.copy(batch);
    await log.append(batch);
  }
  return performance.now() - start;
}

async function fenceCost(dataDir: string): Promise<void> {
  const tp = { topic: 'bench-fence', partition: 0 };
  const store = new FileMessageStore({ dataDir });
  try {
    // No background fsync: its timer would land in every other round below.
    const log = await store.openLog(tp, { flushIntervalMs: -1 }, { epoch: 1 });
    const probeDir = path.join(dataDir, 'fence-probe');
    await mkdir(probeDir);
    const fence = await OwnerFence.claim(probeDir, tp, 1, 0, silentLogger, {});
    const checks = 20_000;
    const start = performance.now();
    for (let i = 0; i < checks; i++) fence.check();
    const checkUs = ((performance.now() - start) * 1000) / checks;
    await fence.release();

    // Short alternating blocks, so that drift (machine load, page cache) hits both sides alike.
    const template = templateBatch(1024);
    const check = OwnerFence.prototype.check;
    const noCheck = (): void => {};
    const block = 500;
    const blocks = 40;
    let withMs = 0;
    let withoutMs = 0;
    for (let round = 0; round < blocks; round++) {
      withMs += await appendOneByOne(log, template, block);
      OwnerFence.prototype.check = noCheck; // for comparison only
      withoutMs += await appendOneByOne(log, template, block);
      OwnerFence.prototype.check = check;
    }
    const perGroup = (ms: number): string => ((ms * 1000) / (block * blocks)).toFixed(1);
    console.log(`fence check (one stat)             ${checkUs.toFixed(1).padStart(8)} µs`);
    console.log(
      `1 KiB append, one per write group  ${perGroup(withMs).padStart(8)} µs with the fence, ` +
        `${perGroup(withoutMs)} µs without`,
    );
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'koppa-bench-storage-'));
  const store = new FileMessageStore({ dataDir, defaults: { segmentBytes: 256 * MiB } });
  try {
    console.log(`file store in ${dataDir}`);
    const small = await store.openLog({ topic: 'bench-1k', partition: 0 });
    await appendFor('1 KiB', small, templateBatch(1024), APPEND_SECONDS);
    const large = await store.openLog({ topic: 'bench-64k', partition: 0 });
    await appendFor('64 KiB', large, templateBatch(64 * 1024), APPEND_SECONDS);
    await large.flush();

    // The last 2 MiB of the log sits in the tail cache (4 MiB per log by default).
    const tailStart = (): number =>
      Math.max(0, large.logEndOffset() - Math.floor((2 * MiB) / 1024));
    await readFor('read at the tail (cache)', large, tailStart, READ_SECONDS);
    await readFor('read from the start (files)', large, () => large.logStartOffset(), READ_SECONDS);
    console.log(
      `log sizes: 1 KiB log ${(small.sizeInBytes() / MiB).toFixed(0)} MiB, ` +
        `64 KiB log ${(large.sizeInBytes() / MiB).toFixed(0)} MiB`,
    );
    await fenceCost(dataDir);
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
