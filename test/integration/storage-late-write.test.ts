/**
 * A superseded owner's write that lands late, across processes. A child process owns the log at
 * epoch 1; its last append passes the fence check and its write is submitted, but waits in
 * libuv's thread pool (whose only thread the child keeps blocked on a FIFO, as slow fsyncs or a
 * hung disk would), and the child is frozen with SIGSTOP besides. Meanwhile this process claims
 * epoch 2, waits the grace, validates the tail (the child's write has not landed), appends and
 * acknowledges. Then the child resumes and its write lands at the position it was given.
 *
 * The new owner's acknowledged batches must read back intact, through it and after a restart
 * (a fresh store over the files), and the child must not acknowledge its late write.
 */
import { execFileSync, spawn } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchSizeAt } from '../../src/storage/batch-header.js';
import { FileMessageStore } from '../../src/storage/file-store.js';
import { segmentFileName } from '../../src/storage/segment.js';
import { logDir } from '../../src/storage/topic-dirs.js';
import type { PartitionLog } from '../../src/storage/types.js';
import { CRASH_LOG_CONFIG, CRASH_TP, crashBatch } from '../helpers/storage-crash-writer.js';
import { makeTempDir, removeTempDir } from '../helpers/storage-temp.js';

const WRITER = fileURLToPath(new URL('../helpers/storage-stall-writer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Batches the child has acknowledged before its write is held. */
const CHILD_ACKS = 12;
/** The new owner's batches: crashBatch(1000), crashBatch(1001), ... */
const NEW_OWNER_BATCHES = 5;

interface Child {
  lines: string[];
  /** Resolves once the child has printed a line starting with `prefix`. */
  printed(prefix: string): Promise<void>;
  exited: Promise<{ code: number | null; stderr: string }>;
  signal(signal: NodeJS.Signals): void;
}

function startChild(dataDir: string, fifo: string): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WRITER, dataDir, fifo, String(CHILD_ACKS)],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    },
  );
  const lines: string[] = [];
  const waiters: { prefix: string; resolve(): void }[] = [];
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    const text = (pending + chunk.toString()).split('\n');
    pending = text.pop() ?? '';
    lines.push(...text);
    for (const w of waiters.filter((w) => lines.some((l) => l.startsWith(w.prefix)))) {
      w.resolve();
    }
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr });
    });
  });
  return {
    lines,
    printed: (prefix) =>
      Promise.race([
        new Promise<void>((resolve) => {
          if (lines.some((l) => l.startsWith(prefix))) resolve();
          else waiters.push({ prefix, resolve });
        }),
        exited.then(({ code, stderr: err }) => {
          throw new Error(`child exited (${code}) before printing "${prefix}": ${err}`);
        }),
      ]),
    exited,
    signal: (signal) => child.kill(signal),
  };
}

/** Checks that the log is exactly crashBatch(n) for each n of `batches`, byte for byte. */
async function expectBatches(log: PartitionLog, batches: number[]): Promise<void> {
  const found: number[] = [];
  let offset = 0;
  while (offset < log.logEndOffset()) {
    const { records } = await log.read(offset, 1 << 20, true);
    expect(records.length).toBeGreaterThan(0);
    for (let pos = 0; pos < records.length;) {
      const n = batches[found.length];
      const expected = crashBatch(n);
      const size = batchSizeAt(records, pos);
      expect(records.readBigInt64BE(pos)).toBe(BigInt(offset));
      expect(size).toBe(expected.length);
      expect(records.subarray(pos + 8, pos + size).equals(expected.subarray(8))).toBe(true);
      found.push(n);
      offset += expected.readInt32BE(23) + 1;
      pos += size;
    }
  }
  expect(found).toEqual(batches);
  expect(offset).toBe(log.logEndOffset());
}

describe('FileMessageStore: a superseded owner whose write lands late', () => {
  let dataDir: string;
  let child: Child | null = null;
  const stores: FileMessageStore[] = [];

  beforeEach(async () => {
    dataDir = await makeTempDir('koppa-late-write-');
  });

  afterEach(async () => {
    child?.signal('SIGKILL');
    await child?.exited.catch(() => undefined);
    child = null;
    await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    await removeTempDir(dataDir);
  });

  it("keeps the late write out of the new owner's acknowledged batches, and the old owner does not acknowledge it", async () => {
    const fifo = path.join(dataDir, 'pool-blocker.fifo');
    execFileSync('mkfifo', [fifo]);
    child = startChild(dataDir, fifo);
    await child.printed(`submitted ${CHILD_ACKS}`);
    child.signal('SIGSTOP'); // frozen past the session timeout, its write still queued

    // The new owner. No tail cache: its reads below come from the files.
    const store = new FileMessageStore({ dataDir, fenceGraceMs: 200, tailCacheBytes: 0 });
    stores.push(store);
    const log = await store.openLog(CRASH_TP, CRASH_LOG_CONFIG, { epoch: 2 });
    const childBatches = Array.from({ length: CHILD_ACKS }, (_, n) => n);
    await expectBatches(log, childBatches); // the held write has not landed
    const mine = Array.from({ length: NEW_OWNER_BATCHES }, (_, i) => 1000 + i);
    for (const n of mine) await log.append(crashBatch(n)); // acknowledged to its producers

    // The child resumes and its write completes.
    child.signal('SIGCONT');
    await (await open(fifo, 'w')).close();
    const { code, stderr } = await child.exited;
    expect(stderr).toBe('');
    expect(code).toBe(0);

    // The new owner reads back everything it acknowledged, intact...
    await expectBatches(log, [...childBatches, ...mine]);
    await store.close();
    stores.pop();

    // ...and so does a restart, claimed or not.
    const restarted = new FileMessageStore({ dataDir, tailCacheBytes: 0, indexCacheBytes: 0 });
    stores.push(restarted);
    await expectBatches(
      await restarted.openLog(CRASH_TP, CRASH_LOG_CONFIG, { epoch: 3, graceMs: 0 }),
      [...childBatches, ...mine],
    );
    await restarted.close();
    const reader = new FileMessageStore({ dataDir });
    stores.push(reader);
    await expectBatches(await reader.openLog(CRASH_TP, CRASH_LOG_CONFIG), [
      ...childBatches,
      ...mine,
    ]);

    // The child never acknowledged its late write: its check after the write refused it.
    const { lines } = child;
    expect(lines.filter((l) => l.startsWith('ack '))).toHaveLength(CHILD_ACKS);
    expect(lines.slice(-2)).toEqual([`fenced ${CHILD_ACKS} 2`, 'done']);

    // The write did land: in the file the new owner sealed, past the length it sealed it at.
    const dir = logDir(dataDir, CRASH_TP);
    const seal = JSON.parse(
      await readFile(path.join(dir, segmentFileName(0, '.sealed')), 'utf8'),
    ) as { bytes: number };
    const sealedFile = await stat(path.join(dir, segmentFileName(0, '.log')));
    expect(sealedFile.size).toBe(seal.bytes + crashBatch(CHILD_ACKS).length);
  });
});
