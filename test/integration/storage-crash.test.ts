/**
 * Crash safety of the file store with a real process: a writer child is killed with SIGKILL in
 * the middle of appending, or its files are damaged by hand afterwards; the log must reopen as a
 * valid prefix holding every acknowledged batch byte for byte, and take new appends after it.
 */
import { spawn } from 'node:child_process';
import { appendFile, open, readdir, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchSizeAt } from '../../src/storage/batch-header.js';
import { FileMessageStore } from '../../src/storage/file-store.js';
import { topicDirName } from '../../src/storage/topic-dirs.js';
import { CRASH_LOG_CONFIG, CRASH_TP, crashBatch } from '../helpers/storage-crash-writer.js';
import { makeTempDir, removeTempDir } from '../helpers/storage-temp.js';

const WRITER = fileURLToPath(new URL('../helpers/storage-crash-writer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

interface WriterRun {
  /** batch number -> base offset, for every append the writer saw acknowledged. */
  acks: Map<number, number>;
  signal: NodeJS.Signals | null;
}

/**
 * Runs the writer for batches [first, first + count). With `killAfterAcks`, SIGKILLs it as soon as
 * that many acknowledgements have arrived, while it is still appending.
 */
function runWriter(
  dataDir: string,
  first: number,
  count: number,
  mode: 'none' | 'close' | 'exit',
  killAfterAcks?: number,
): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WRITER, dataDir, String(first), String(count), mode],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acks = new Map<number, number>();
    let stderr = '';
    let pending = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [word, n, base] = line.split(' ');
        if (word === 'ack') acks.set(Number(n), Number(base));
        if (word === 'done' && killAfterAcks !== undefined) {
          child.kill('SIGKILL'); // finished before the kill point: still a kill, at rest
        }
      }
      if (killAfterAcks !== undefined && acks.size >= killAfterAcks) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === null && code !== 0) reject(new Error(`writer exited ${code}: ${stderr}`));
      else resolve({ acks, signal });
    });
  });
}

const partitionDir = (dataDir: string): string =>
  path.join(dataDir, topicDirName(CRASH_TP.topic), String(CRASH_TP.partition));

async function activeSegment(dataDir: string): Promise<string> {
  const logs = (await readdir(partitionDir(dataDir))).filter((f) => f.endsWith('.log')).sort();
  return path.join(partitionDir(dataDir), logs[logs.length - 1]);
}

/** Start positions of the batches in a segment file, found by walking batch lengths. */
async function batchStarts(file: string): Promise<number[]> {
  const bytes = await readFile(file);
  const starts: number[] = [];
  for (let pos = 0; pos + 12 <= bytes.length; pos += batchSizeAt(bytes, pos)) starts.push(pos);
  return starts;
}

/**
 * Reopens the log and checks that it is batches 0..k-1 of the writer, each byte for byte as
 * written (bar the assigned baseOffset), at consecutive offsets. Returns k and the store.
 */
async function verifyPrefix(
  dataDir: string,
): Promise<{ batches: number; store: FileMessageStore }> {
  const store = new FileMessageStore({ dataDir });
  const log = await store.openLog(CRASH_TP, CRASH_LOG_CONFIG);
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
  return { batches: n, store };
}

/** Offsets batches [0, n) take. */
function offsetsOf(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += crashBatch(i).readInt32BE(23) + 1;
  return total;
}

describe('FileMessageStore crash safety', () => {
  let dataDir: string;
  const stores: FileMessageStore[] = [];

  beforeEach(async () => {
    dataDir = await makeTempDir('koppa-crash-');
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await removeTempDir(dataDir);
  });

  it('keeps every acknowledged batch when the writer is killed mid-stream, twice over', async () => {
    let first = 0;
    for (const killAfter of [150, 90]) {
      const run = await runWriter(dataDir, first, 100_000, 'none', killAfter);
      expect(run.signal).toBe('SIGKILL');
      expect(run.acks.size).toBeGreaterThanOrEqual(killAfter);
      const { batches, store } = await verifyPrefix(dataDir);
      stores.push(store);
      for (const [n, base] of run.acks) {
        expect(n).toBeLessThan(batches);
        expect(base).toBe(offsetsOf(n));
      }
      await store.close();
      stores.pop();
      first = batches; // the next writer continues the same sequence after the recovered log
    }
    expect(first).toBeGreaterThanOrEqual(240);
    expect(
      (await readdir(partitionDir(dataDir))).filter((f) => f.endsWith('.log')).length,
    ).toBeGreaterThan(2);

    const { batches, store } = await verifyPrefix(dataDir);
    stores.push(store);
    const log = await store.openLog(CRASH_TP);
    const end = log.logEndOffset();
    expect((await log.append(crashBatch(batches))).baseOffset).toBe(end);
    expect(log.logEndOffset()).toBe(end + crashBatch(batches).readInt32BE(23) + 1);
  });

  const damages: [string, (file: string, starts: number[]) => Promise<void>, number][] = [
    [
      'a write cut inside the last batch',
      (file, starts) => truncate(file, starts[starts.length - 1] + 30),
      1,
    ],
    ['zeros after the last batch', (file) => appendFile(file, Buffer.alloc(64 * 1024)), 0],
    [
      'a flipped byte in the batch before last',
      async (file, starts) => {
        const fh = await open(file, 'r+');
        await fh.write(Buffer.from([0xee]), 0, 1, starts[starts.length - 2] + 80);
        await fh.close();
      },
      2,
    ],
    [
      'a garbage length in the last batch',
      async (file, starts) => {
        const fh = await open(file, 'r+');
        await fh.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]), 0, 4, starts[starts.length - 1] + 8);
        await fh.close();
      },
      1,
    ],
  ];

  for (const [what, damage, lost] of damages) {
    it(`reopens a log after ${what} as a valid prefix`, async () => {
      const run = await runWriter(dataDir, 0, 120, 'exit');
      expect(run.acks.size).toBe(120);
      const file = await activeSegment(dataDir);
      await damage(file, await batchStarts(file));
      const { batches, store } = await verifyPrefix(dataDir);
      stores.push(store);
      expect(batches).toBe(120 - lost);
      const log = await store.openLog(CRASH_TP);
      expect((await log.append(crashBatch(batches))).baseOffset).toBe(offsetsOf(batches));
    });
  }

  it('does not let a clean-shutdown marker hide a truncated segment', async () => {
    await runWriter(dataDir, 0, 60, 'close');
    expect(await readdir(partitionDir(dataDir))).toContain('.clean-shutdown');
    const file = await activeSegment(dataDir);
    const starts = await batchStarts(file);
    await truncate(file, starts[starts.length - 1] + 100);
    const { batches, store } = await verifyPrefix(dataDir);
    stores.push(store);
    expect(batches).toBe(59);
  });
});
