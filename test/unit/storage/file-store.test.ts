import {
  appendFile,
  mkdir,
  open,
  readFile,
  readdir,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileMessageStore, type FileMessageStoreOptions } from '../../../src/storage/file-store.js';
import type { StorageLogger } from '../../../src/storage/logger.js';
import type { FilePartitionLog } from '../../../src/storage/partition-log.js';
import {
  LogOfflineError,
  OffsetOutOfRangeError,
  type LogConfig,
  type TopicPartition,
} from '../../../src/storage/types.js';
import { decodeBatches, makeBatch } from '../../helpers/record-batches.js';
import { readAll } from '../../helpers/storage-contract.js';
import { makeTempDir, removeTempDir } from '../../helpers/storage-temp.js';

const TP: TopicPartition = { topic: 'persistent://public/default/orders', partition: 3 };
const TOPIC_DIR = 'persistent%3A%2F%2Fpublic%2Fdefault%2Forders';
const BATCH = makeBatch({ records: 2 }).length;

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function capturingLogger(lines: LogLine[]): StorageLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** The FileHandle prototype, to spy on what the store asks of the file system. */
async function fileHandlePrototype(dir: string): Promise<object> {
  const fh = await open(path.join(dir, 'probe'), 'w');
  await fh.close();
  return Object.getPrototypeOf(fh) as object;
}

describe('FileMessageStore on disk', () => {
  let dataDir: string;
  let partitionDir: string;
  let lines: LogLine[];
  const stores: FileMessageStore[] = [];

  const newStore = (options: Partial<FileMessageStoreOptions> = {}): FileMessageStore => {
    const store = new FileMessageStore({ dataDir, logger: capturingLogger(lines), ...options });
    stores.push(store);
    return store;
  };
  const openLog = async (
    store: FileMessageStore,
    config?: Partial<LogConfig>,
  ): Promise<FilePartitionLog> => (await store.openLog(TP, config)) as FilePartitionLog;
  /** Writes `n` two-record batches and lets the log go as a killed process would (no close). */
  const writeAndCrash = async (n: number, config?: Partial<LogConfig>): Promise<void> => {
    const log = await openLog(newStore(), config);
    for (let i = 0; i < n; i++) await log.append(makeBatch({ records: 2, tag: `b${i}` }));
    await log.shutdown(false);
  };
  const segmentFile = (base: number, suffix = '.log'): string =>
    path.join(partitionDir, `${String(base).padStart(20, '0')}${suffix}`);

  beforeEach(async () => {
    dataDir = await makeTempDir();
    partitionDir = path.join(dataDir, TOPIC_DIR, '3');
    lines = [];
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await removeTempDir(dataDir);
  });

  it('lays out a directory per partition with segments named by base offset', async () => {
    const store = newStore();
    const log = await openLog(store, { segmentBytes: 3 * BATCH });
    for (let i = 0; i < 7; i++) await log.append(makeBatch({ records: 2 }));
    expect((await readdir(partitionDir)).sort()).toEqual([
      '00000000000000000000.index',
      '00000000000000000000.log',
      '00000000000000000000.timeindex',
      '00000000000000000006.index',
      '00000000000000000006.log',
      '00000000000000000006.timeindex',
      '00000000000000000012.log',
    ]);
    expect((await stat(segmentFile(0))).size).toBe(3 * BATCH);

    await log.advanceLogStartOffset(7);
    expect(await readFile(path.join(partitionDir, 'log-start-offset'), 'utf8')).toBe('7\n');
    expect(await readdir(partitionDir)).not.toContain('00000000000000000000.log');

    await store.close();
    expect(await readdir(partitionDir)).toContain('.clean-shutdown');
    expect(await readdir(partitionDir)).toContain('00000000000000000012.index');
    const reopened = await openLog(newStore());
    expect(await readdir(partitionDir)).not.toContain('.clean-shutdown');
    expect([reopened.logStartOffset(), reopened.logEndOffset()]).toEqual([7, 14]);
  });

  it('lists only directories it could have made', async () => {
    const store = newStore();
    await store.openLog(TP);
    await store.openLog({ topic: 'other', partition: 0 });
    await mkdir(path.join(dataDir, 'lost+found'));
    await mkdir(path.join(dataDir, 'bad%zz', '0'), { recursive: true });
    await mkdir(path.join(dataDir, 'other', 'not-a-partition'));
    await mkdir(path.join(dataDir, 'other', '007'));
    await writeFile(path.join(dataDir, 'stray-file'), '');
    expect(await store.listLogs()).toEqual([
      { topic: 'other', partition: 0 },
      { topic: 'persistent://public/default/orders', partition: 3 },
    ]);
  });

  it('opens a partition directory that holds no segment', async () => {
    await mkdir(partitionDir, { recursive: true });
    const log = await openLog(newStore());
    expect(log.logEndOffset()).toBe(0);
    expect((await log.append(makeBatch())).baseOffset).toBe(0);
  });

  describe('recovery', () => {
    it('cuts a batch torn by a crash and logs what it cut', async () => {
      await writeAndCrash(10);
      await truncate(segmentFile(0), 10 * BATCH - 10);
      const log = await openLog(newStore());
      expect(log.logEndOffset()).toBe(18);
      expect((await stat(segmentFile(0))).size).toBe(9 * BATCH);
      const warning = lines.find((l) => l.level === 'warn' && l.msg?.includes('torn tail'));
      expect(warning?.obj).toMatchObject({
        truncatedBytes: BATCH - 10,
        validBytes: 9 * BATCH,
        batches: 9,
      });
      const batches = await readAll(log, 0);
      expect(batches.map((b) => b.values[0].split(':')[0])).toEqual(
        Array.from({ length: 9 }, (_, i) => `b${i}-0`),
      );
      expect((await log.append(makeBatch())).baseOffset).toBe(18);
    });

    it('cuts a zero-filled tail left by a power cut', async () => {
      await writeAndCrash(5);
      await appendFile(segmentFile(0), Buffer.alloc(8192));
      const log = await openLog(newStore());
      expect(log.logEndOffset()).toBe(10);
      expect((await stat(segmentFile(0))).size).toBe(5 * BATCH);
    });

    it('cuts from the first batch whose CRC does not match', async () => {
      await writeAndCrash(10);
      const fh = await open(segmentFile(0), 'r+');
      await fh.write(Buffer.from('!'), 0, 1, 6 * BATCH + 70); // inside batch 6's records
      await fh.close();
      const log = await openLog(newStore());
      expect(log.logEndOffset()).toBe(12);
      const warning = lines.find((l) => l.level === 'warn' && l.msg?.includes('torn tail'));
      expect(warning?.obj).toMatchObject({ problem: 'CRC-32C mismatch' });
    });

    it('only scans the last segment, whose predecessors were synced when they closed', async () => {
      await writeAndCrash(10, { segmentBytes: 4 * BATCH });
      await truncate(segmentFile(16), BATCH + 1);
      const log = await openLog(newStore());
      expect([log.logStartOffset(), log.logEndOffset()]).toEqual([0, 18]);
      expect((await readAll(log, 0)).length).toBe(9);
    });

    it('does not trust a clean-shutdown marker when the files disagree with it', async () => {
      const store = newStore();
      const log = await openLog(store);
      for (let i = 0; i < 6; i++) await log.append(makeBatch({ records: 2 }));
      await store.close();
      await truncate(segmentFile(0), 5 * BATCH + 3);
      const reopened = await openLog(newStore());
      expect(reopened.logEndOffset()).toBe(10);
    });

    it('rebuilds missing or corrupt indexes of closed segments', async () => {
      const store = newStore();
      const config = { segmentBytes: 8 * BATCH, indexIntervalBytes: 1 };
      const log = await openLog(store, config);
      for (let i = 0; i < 30; i++) {
        await log.append(
          makeBatch({ records: 2, baseTimestamp: 1000 * i, timestamps: [1000 * i, 1000 * i + 1] }),
        );
      }
      await store.close();
      await writeFile(segmentFile(0, '.index'), Buffer.alloc(8, 0xff));
      await writeFile(segmentFile(16, '.timeindex'), Buffer.alloc(5));
      await writeFile(segmentFile(32, '.index'), Buffer.alloc(0)); // wrong but well-formed: still correct reads
      const reopened = await openLog(newStore({ indexCacheBytes: 0 }), config);
      for (let offset = 0; offset < 60; offset++) {
        const [batch] = decodeBatches((await reopened.read(offset, 1, true)).records);
        expect(batch.baseOffset).toBe(offset - (offset % 2));
      }
      for (let i = 0; i < 30; i++) {
        expect(await reopened.offsetForTimestamp(1000 * i)).toEqual({
          offset: 2 * i,
          timestamp: 1000 * i + 1,
        });
      }
      expect((await stat(segmentFile(0, '.index'))).size).toBe(7 * 8);
      expect((await stat(segmentFile(16, '.timeindex'))).size % 12).toBe(0);
      expect(
        lines.filter((l) => l.msg === 'rebuilding segment indexes').length,
      ).toBeGreaterThanOrEqual(2);
    });

    it('recovers the active segment when its index is unusable after a clean shutdown', async () => {
      const store = newStore();
      const log = await openLog(store, { indexIntervalBytes: 1 });
      for (let i = 0; i < 6; i++) await log.append(makeBatch({ records: 2 }));
      await store.close();
      await writeFile(segmentFile(0, '.index'), Buffer.from([1, 2, 3]));
      const reopened = await openLog(newStore(), { indexIntervalBytes: 1 });
      expect(reopened.logEndOffset()).toBe(12);
      expect((await readAll(reopened, 0)).length).toBe(6);
    });
  });

  describe('durability', () => {
    it('fsyncs before acknowledging when the message count trigger fires', async () => {
      const sync = vi.spyOn(
        (await fileHandlePrototype(dataDir)) as { sync(): Promise<void> },
        'sync',
      );
      const log = await openLog(newStore(), { flushIntervalMessages: 4, flushIntervalMs: -1 });
      sync.mockClear();
      for (let i = 0; i < 6; i++) await log.append(makeBatch({ records: 2 }));
      expect(sync).toHaveBeenCalledTimes(3);
    });

    it('does not fsync on the append path when both triggers are off', async () => {
      const sync = vi.spyOn(
        (await fileHandlePrototype(dataDir)) as { sync(): Promise<void> },
        'sync',
      );
      const log = await openLog(newStore(), { flushIntervalMessages: -1, flushIntervalMs: -1 });
      sync.mockClear();
      for (let i = 0; i < 6; i++) await log.append(makeBatch({ records: 2 }));
      expect(sync).not.toHaveBeenCalled();
      await log.flush();
      expect(sync).toHaveBeenCalledTimes(1);
    });

    it('takes the log offline after a failed write, and recovers when reopened', async () => {
      const store = newStore();
      const log = await openLog(store);
      await log.append(makeBatch({ records: 2 }));
      const write = vi.spyOn(
        (await fileHandlePrototype(dataDir)) as { write(): Promise<unknown> },
        'write',
      );
      write.mockRejectedValueOnce(Object.assign(new Error('injected EIO'), { code: 'EIO' }));
      await expect(log.append(makeBatch())).rejects.toThrow('injected EIO');
      await expect(log.append(makeBatch())).rejects.toBeInstanceOf(LogOfflineError);
      expect(log.logEndOffset()).toBe(2);
      expect(decodeBatches((await log.read(0, 1024, true)).records)).toHaveLength(1);
      await store.close();
      expect(await readdir(partitionDir)).not.toContain('.clean-shutdown');
      const reopened = await openLog(newStore());
      expect((await reopened.append(makeBatch())).baseOffset).toBe(2);
    });
  });

  it('lets reads racing retention finish or report the offset gone', async () => {
    const log = await openLog(newStore({ tailCacheBytes: 0 }), {
      segmentBytes: 2 * BATCH,
      retentionBytes: 0,
    });
    for (let i = 0; i < 40; i++) await log.append(makeBatch({ records: 2 }));
    const reads = Array.from({ length: 40 }, (_, i) =>
      log.read(2 * i, 1 << 20, true).then(
        ({ records }) => decodeBatches(records).every((b) => b.crcOk),
        (err: unknown) => err instanceof OffsetOutOfRangeError,
      ),
    );
    const deleted = await log.enforceRetention();
    expect(deleted).toBe(19);
    expect(await Promise.all(reads)).toEqual(Array.from({ length: 40 }, () => true));
  });

  it('deletes a log with its directory, and the topic directory once empty', async () => {
    const store = newStore();
    const log = await openLog(store);
    await log.append(makeBatch());
    await store.openLog({ ...TP, partition: 4 });
    await store.deleteLog(TP);
    expect(await readdir(path.join(dataDir, TOPIC_DIR))).toEqual(['4']);
    await store.deleteLog({ ...TP, partition: 4 });
    expect(await readdir(dataDir)).toEqual([]);
  });
});
