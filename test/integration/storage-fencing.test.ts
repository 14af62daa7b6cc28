/**
 * Ownership fencing of the file store across processes: a child process owns the log at epoch 1
 * and appends in a loop; this process claims epoch 2 while it writes. The child's next appends
 * must fail with FencedError, and this process must read every batch the child had acknowledged,
 * intact and in order, and append after them. It may read a few more: writes in flight when the
 * claim was installed that landed within the grace, which the child refused (its check after the
 * write found the claim), as a producer would see a lost response.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchSizeAt } from '../../src/storage/batch-header.js';
import { FileMessageStore } from '../../src/storage/file-store.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { CRASH_LOG_CONFIG, CRASH_TP, crashBatch } from '../helpers/storage-crash-writer.js';
import { IN_FLIGHT } from '../helpers/storage-fence-writer.js';
import { makeTempDir, removeTempDir } from '../helpers/storage-temp.js';

const WRITER = fileURLToPath(new URL('../helpers/storage-fence-writer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FENCED_APPENDS = 25;

interface WriterLine {
  word: string;
  n: number;
  value: number;
}

interface Writer {
  lines: WriterLine[];
  /** Resolves once the writer has printed `count` acks. */
  acked(count: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function startWriter(dataDir: string, epoch: number): Writer {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WRITER, dataDir, String(epoch), String(FENCED_APPENDS)],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: WriterLine[] = [];
  const ackWaiters: { count: number; resolve(): void }[] = [];
  let acks = 0;
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    const text = (pending + chunk.toString()).split('\n');
    pending = text.pop() ?? '';
    for (const line of text) {
      const [word, n, value] = line.split(' ');
      lines.push({ word, n: Number(n), value: Number(value) });
      if (word === 'ack') acks += 1;
    }
    for (const waiter of ackWaiters.filter((w) => acks >= w.count)) waiter.resolve();
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stderr });
    });
  });
  return {
    lines,
    acked: (count) =>
      Promise.race([
        new Promise<void>((resolve) => ackWaiters.push({ count, resolve })),
        exited.then(({ code, stderr: err }) => {
          throw new Error(`writer exited (${code}) before ${count} acks: ${err}`);
        }),
      ]),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Offsets batches [0, n) take. */
function offsetsOf(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += crashBatch(i).readInt32BE(23) + 1;
  return total;
}

/**
 * Checks that the log is batches 0..k-1 of the writer, each byte for byte as written (bar the
 * assigned baseOffset), at consecutive offsets; returns k.
 */
async function verifyWriterBatches(log: PartitionLog): Promise<number> {
  let n = 0;
  let offset = 0;
  while (offset < log.logEndOffset()) {
    const { records } = await log.read(offset, 1 << 20, true);
    expect(records.length).toBeGreaterThan(0);
    for (let pos = 0; pos < records.length; n++) {
      const size = batchSizeAt(records, pos);
      const expected = crashBatch(n);
      expect(records.readBigInt64BE(pos)).toBe(BigInt(offset));
      expect(size).toBe(expected.length);
      expect(records.subarray(pos + 8, pos + size).equals(expected.subarray(8))).toBe(true);
      offset += expected.readInt32BE(23) + 1;
      pos += size;
    }
  }
  expect(offset).toBe(log.logEndOffset());
  return n;
}

describe('FileMessageStore fencing across processes', () => {
  let dataDir: string;
  let writer: Writer | null = null;
  const stores: FileMessageStore[] = [];

  beforeEach(async () => {
    dataDir = await makeTempDir('koppa-fencing-');
  });

  afterEach(async () => {
    writer?.kill();
    await writer?.exited.catch(() => undefined);
    writer = null;
    await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    await removeTempDir(dataDir);
  });

  it("fences the child's appends when this process claims, and continues after its acked batches", async () => {
    writer = startWriter(dataDir, 1);
    await writer.acked(150); // the child is appending steadily now

    const store = new FileMessageStore({ dataDir }); // the default fence grace (2 s)
    stores.push(store);
    const claimedAt = Date.now();
    const log = await store.openLog(CRASH_TP, CRASH_LOG_CONFIG, { epoch: 2 });
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(1900);
    const { code, stderr } = await writer.exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);

    const { lines } = writer;
    const acks = lines.filter((l) => l.word === 'ack');
    const fenced = lines.filter((l) => l.word === 'fenced');
    const firstFenced = lines.findIndex((l) => l.word === 'fenced');
    // Every append after the first refusal was refused too, each saying who holds the log now.
    expect(fenced.length).toBeGreaterThanOrEqual(FENCED_APPENDS); // and those in flight
    expect(fenced.every((l) => l.value === 2)).toBe(true);
    expect(lines.slice(firstFenced).some((l) => l.word === 'ack')).toBe(false);
    expect(lines[lines.length - 1].word).toBe('done');
    expect(acks.length).toBeGreaterThanOrEqual(150);

    // This process holds the batches the child had acknowledged, intact and in order, and at
    // most the few that were in flight after them, which the child did not acknowledge.
    const batches = await verifyWriterBatches(log);
    expect(batches).toBeGreaterThanOrEqual(acks.length);
    expect(batches - acks.length).toBeLessThanOrEqual(IN_FLIGHT);
    acks.forEach((ack, i) => {
      expect(ack.n).toBe(i);
      expect(ack.value).toBe(offsetsOf(i));
    });
    // The first batch not acknowledged was refused, and so was every one after it. (Refusals
    // settle out of call order: later appends are refused at once, queued ones a moment later.)
    const refused = fenced.map((l) => l.n).sort((a, b) => a - b);
    expect(refused[0]).toBe(acks.length);
    expect(new Set(refused).size).toBe(refused.length);
    expect(refused[refused.length - 1]).toBe(acks.length + refused.length - 1);

    // And it appends after them.
    const end = log.logEndOffset();
    const next = await log.append(crashBatch(batches));
    expect(next.baseOffset).toBe(end);
    expect(next.logEndOffset).toBe(offsetsOf(batches + 1));
    await store.close();
    stores.pop();

    const reader = new FileMessageStore({ dataDir });
    stores.push(reader);
    expect(await verifyWriterBatches(await reader.openLog(CRASH_TP, CRASH_LOG_CONFIG))).toBe(
      batches + 1,
    );
  });
});
