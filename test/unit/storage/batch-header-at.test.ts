/**
 * PartitionLog.batchHeaderAt on both stores: the header of the batch holding an offset (what lag
 * sampling needs: its first timestamp), from the recent-tail cache, the active segment, closed
 * segments read back from disk, and nothing outside [log start, log end).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ATTRIBUTES, ATTR_TIMESTAMP_TYPE } from '../../../src/storage/batch-header.js';
import { FileMessageStore } from '../../../src/storage/file-store.js';
import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import {
  LogClosedError,
  type LogConfig,
  type MessageStore,
  type PartitionLog,
  type StoredBatchHeader,
} from '../../../src/storage/types.js';
import { makeBatch, sealBatch } from '../../helpers/record-batches.js';
import { makeTempDir, removeTempDir } from '../../helpers/storage-temp.js';

const TP = { topic: 'persistent://public/default/orders', partition: 0 };
const T0 = 1_700_000_000_000;

interface Harness {
  create(): Promise<MessageStore>;
  /** The same data through a new store object (file store: caches empty, indexes from disk). */
  reopen(store: MessageStore): Promise<MessageStore>;
  cleanup(): Promise<void>;
}

const harnesses: Record<string, () => Harness> = {
  MemoryMessageStore: () => {
    const store = new MemoryMessageStore();
    return { create: async () => store, reopen: async () => store, cleanup: async () => {} };
  },
  FileMessageStore: () => fileHarness({}),
  'FileMessageStore without caches': () => fileHarness({ tailCacheBytes: 0, indexCacheBytes: 0 }),
};

function fileHarness(options: { tailCacheBytes?: number; indexCacheBytes?: number }): Harness {
  let dataDir = '';
  return {
    create: async () => {
      dataDir = await makeTempDir();
      return new FileMessageStore({ dataDir, ...options });
    },
    reopen: async (store) => {
      await store.close();
      return new FileMessageStore({ dataDir, ...options });
    },
    cleanup: () => removeTempDir(dataDir),
  };
}

/** Batch i holds i + 1 records whose timestamps start at T0 + i minutes, one ms apart. */
function batchSpec(i: number): { records: number; baseTimestamp: number; tag: string } {
  return { records: i + 1, baseTimestamp: T0 + i * 60_000, tag: `b${i}` };
}

/** What the header of each batch written by `appendBatches` must say. */
function expectedHeaders(count: number): StoredBatchHeader[] {
  const headers: StoredBatchHeader[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const { records, baseTimestamp } = batchSpec(i);
    headers.push({
      baseOffset: offset,
      lastOffset: offset + records - 1,
      firstTimestamp: baseTimestamp,
      maxTimestamp: baseTimestamp + records - 1,
    });
    offset += records;
  }
  return headers;
}

async function appendBatches(log: PartitionLog, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(makeBatch(batchSpec(i)));
}

/** Every offset of the log, and the header it must give. */
async function expectEveryOffset(log: PartitionLog, headers: StoredBatchHeader[]): Promise<void> {
  for (const header of headers) {
    for (let offset = header.baseOffset; offset <= header.lastOffset; offset++) {
      expect(await log.batchHeaderAt(offset), `offset ${offset}`).toEqual(header);
    }
  }
}

for (const [name, makeHarness] of Object.entries(harnesses)) {
  describe(`${name}: batchHeaderAt`, () => {
    let harness: Harness;
    let store: MessageStore;

    const open = async (config: Partial<LogConfig> = {}): Promise<PartitionLog> => {
      harness = makeHarness();
      store = await harness.create();
      return store.openLog(TP, config);
    };

    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it('answers null on an empty log', async () => {
      const log = await open();
      expect(await log.batchHeaderAt(0)).toBeNull();
      expect(await log.batchHeaderAt(1)).toBeNull();
    });

    it('gives the header of the batch holding each offset, and null outside the log', async () => {
      const log = await open();
      await appendBatches(log, 6);
      const headers = expectedHeaders(6);
      await expectEveryOffset(log, headers);
      const end = log.logEndOffset();
      expect(end).toBe(headers[5].lastOffset + 1);
      expect(await log.batchHeaderAt(end)).toBeNull();
      expect(await log.batchHeaderAt(end + 10)).toBeNull();
      expect(await log.batchHeaderAt(-1)).toBeNull();
      expect(await log.batchHeaderAt(1.5)).toBeNull();
    });

    it('reads closed segments and the active one after the store reopens', async () => {
      // About one batch per segment and an index entry per batch: lookups go through the
      // offset index of each segment, read back from disk after the reopen.
      const config = { segmentBytes: 200, indexIntervalBytes: 1 };
      let log = await open(config);
      await appendBatches(log, 12);
      store = await harness.reopen(store);
      log = await store.openLog(TP, config);
      await expectEveryOffset(log, expectedHeaders(12));
    });

    it('answers null below the log start, and the straddling batch at the start', async () => {
      const config = { segmentBytes: 200 };
      const log = await open(config);
      await appendBatches(log, 8);
      const headers = expectedHeaders(8);
      const start = headers[4].baseOffset + 1; // inside batch 4
      await log.advanceLogStartOffset(start);
      expect(log.logStartOffset()).toBe(start);
      expect(await log.batchHeaderAt(start - 1)).toBeNull();
      expect(await log.batchHeaderAt(0)).toBeNull();
      expect(await log.batchHeaderAt(start)).toEqual(headers[4]);
      await expectEveryOffset(log, headers.slice(5));
    });

    it('gives log append time as the first timestamp of a batch that carries it', async () => {
      const log = await open();
      const batch = makeBatch({ records: 3, baseTimestamp: T0, maxTimestamp: T0 + 5_000 });
      batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES) | ATTR_TIMESTAMP_TYPE, ATTRIBUTES);
      await log.append(sealBatch(batch));
      expect(await log.batchHeaderAt(1)).toEqual({
        baseOffset: 0,
        lastOffset: 2,
        firstTimestamp: T0 + 5_000,
        maxTimestamp: T0 + 5_000,
      });
    });

    it('refuses once the log is closed', async () => {
      const log = await open();
      await appendBatches(log, 1);
      await log.close();
      await expect(log.batchHeaderAt(0)).rejects.toBeInstanceOf(LogClosedError);
    });
  });
}
