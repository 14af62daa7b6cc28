/**
 * The MessageStore contract as a vitest suite, run against every implementation: what a broker
 * sees through the interface, with no look at files or internals.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG } from '../../src/storage/log-config.js';
import {
  FencedError,
  InvalidBatchError,
  LogClosedError,
  OffsetOutOfRangeError,
  type LogConfig,
  type MessageStore,
  type PartitionLog,
  type TopicPartition,
} from '../../src/storage/types.js';
import {
  DEFAULT_TIMESTAMP,
  decodeBatches,
  makeBatch,
  makeBatches,
  type DecodedBatch,
} from './record-batches.js';

export interface StoreHarness {
  /** A fresh, empty store. */
  create(options: { clock: () => number }): Promise<MessageStore>;
  /** Closes `store` (for an in-memory store: its logs) and opens it again over the same data. */
  reopen(store: MessageStore): Promise<MessageStore>;
  cleanup(): Promise<void>;
}

const TP: TopicPartition = { topic: 'persistent://public/default/orders', partition: 0 };

/** Reads the whole log from `from` the way a consumer does, in fetches of `maxBytes`. */
export async function readAll(
  log: PartitionLog,
  from = log.logStartOffset(),
  maxBytes = 64 * 1024,
): Promise<DecodedBatch[]> {
  const batches: DecodedBatch[] = [];
  let offset = from;
  while (offset < log.logEndOffset()) {
    const { records } = await log.read(offset, maxBytes, true);
    const decoded = decodeBatches(records);
    expect(decoded.length).toBeGreaterThan(0);
    batches.push(...decoded);
    offset = decoded[decoded.length - 1].lastOffset + 1;
  }
  return batches;
}

function sizes(n: number): number {
  return makeBatch({ records: n }).length;
}

export function describeMessageStoreContract(name: string, makeHarness: () => StoreHarness): void {
  describe(`${name}: MessageStore contract`, () => {
    let harness: StoreHarness;
    let store: MessageStore;
    let now: number;
    const clock = (): number => now;

    beforeEach(async () => {
      now = DEFAULT_TIMESTAMP;
      harness = makeHarness();
      store = await harness.create({ clock });
    });

    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    const open = (config?: Partial<LogConfig>, tp: TopicPartition = TP): Promise<PartitionLog> =>
      store.openLog(tp, config);

    it('starts empty', async () => {
      const log = await open();
      expect(log.logStartOffset()).toBe(0);
      expect(log.logEndOffset()).toBe(0);
      expect(log.sizeInBytes()).toBe(0);
      const result = await log.read(0, 1024, true);
      expect(result).toEqual({ records: Buffer.alloc(0), highWatermark: 0, logStartOffset: 0 });
    });

    it('assigns consecutive offsets and reads every offset back from its batch', async () => {
      const log = await open();
      const counts = [1, 3, 5, 2, 4, 1, 1, 7];
      let expected = 0;
      for (const [i, records] of counts.entries()) {
        const result = await log.append(makeBatch({ records, tag: `b${i}` }));
        expect(result).toEqual({
          baseOffset: expected,
          logEndOffset: expected + records,
          logStartOffset: 0,
        });
        expected += records;
      }
      expect(log.logEndOffset()).toBe(expected);
      for (let offset = 0; offset < expected; offset++) {
        const { records, highWatermark } = await log.read(offset, 1, true);
        expect(highWatermark).toBe(expected);
        const [batch, ...rest] = decodeBatches(records);
        expect(rest).toEqual([]);
        expect(batch.crcOk).toBe(true);
        expect(batch.baseOffset).toBeLessThanOrEqual(offset);
        expect(batch.lastOffset).toBeGreaterThanOrEqual(offset);
        const index = counts.findIndex(
          (_, i) => counts.slice(0, i + 1).reduce((a, b) => a + b) > offset,
        );
        expect(batch.values[0]).toMatch(new RegExp(`^b${index}-0:`));
      }
    });

    it('takes several batches in one append and offsets each', async () => {
      const log = await open();
      await log.append(makeBatch({ records: 2 }));
      const result = await log.append(
        makeBatches([
          { records: 3, tag: 'x' },
          { records: 1, tag: 'y' },
          { records: 4, tag: 'z' },
        ]),
      );
      expect(result).toEqual({ baseOffset: 2, logEndOffset: 10, logStartOffset: 0 });
      const batches = decodeBatches((await log.read(2, 1 << 20, false)).records);
      expect(batches.map((b) => [b.baseOffset, b.lastOffset, b.crcOk])).toEqual([
        [2, 4, true],
        [5, 5, true],
        [6, 9, true],
      ]);
      expect(batches.map((b) => b.values[0].split(':')[0])).toEqual(['x-0', 'y-0', 'z-0']);
    });

    it('returns whole batches within maxBytes, or one whole batch with minOneBatch', async () => {
      const log = await open();
      for (let i = 0; i < 4; i++) await log.append(makeBatch({ records: 2, valueBytes: 100 }));
      const size = makeBatch({ records: 2, valueBytes: 100 }).length;
      const count = async (offset: number, maxBytes: number, minOne: boolean): Promise<number> =>
        decodeBatches((await log.read(offset, maxBytes, minOne)).records).length;
      expect(await count(0, 2 * size, false)).toBe(2);
      expect(await count(0, 2 * size - 1, false)).toBe(1);
      expect(await count(0, 2 * size + size - 1, true)).toBe(2);
      expect(await count(0, size - 1, false)).toBe(0);
      expect(await count(0, 10, true)).toBe(1);
      expect(await count(0, 0, true)).toBe(1);
      expect(await count(3, 100 * size, false)).toBe(3); // from the batch holding offset 3
      expect((await log.read(3, size, false)).records.length).toBe(size);
    });

    it('throws OffsetOutOfRangeError outside [start, end] and reads nothing at the end', async () => {
      const log = await open();
      await log.append(makeBatch({ records: 3 }));
      await expect(log.read(4, 1024, true)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      await expect(log.read(-1, 1024, true)).rejects.toMatchObject({
        offset: -1,
        logStartOffset: 0,
        logEndOffset: 3,
      });
      const atEnd = await log.read(3, 1024, true);
      expect(atEnd.records.length).toBe(0);
      expect(atEnd.highWatermark).toBe(3);
    });

    it('rejects badly framed input and stays usable', async () => {
      const log = await open();
      const good = makeBatch({ records: 2 });
      const wrongMagic = Buffer.from(good);
      wrongMagic[16] = 1;
      const tooShort = Buffer.from(good);
      tooShort.writeInt32BE(10, 8);
      const bad = [
        Buffer.alloc(0),
        good.subarray(0, good.length - 1),
        good.subarray(0, 40),
        wrongMagic,
        tooShort,
        Buffer.concat([good, Buffer.alloc(7)]),
      ];
      for (const buf of bad) {
        await expect(log.append(buf)).rejects.toBeInstanceOf(InvalidBatchError);
      }
      expect(log.logEndOffset()).toBe(0);
      expect((await log.append(good)).baseOffset).toBe(0);
      expect(log.logEndOffset()).toBe(2);
    });

    it('rolls segments by size', async () => {
      const batch = sizes(1);
      const log = await open({ segmentBytes: 3 * batch, retentionBytes: 0 });
      for (let i = 0; i < 10; i++) await log.append(makeBatch({ records: 1 }));
      expect(log.sizeInBytes()).toBe(10 * batch);
      // Segments [0-2] [3-5] [6-8] [9]: retention may delete all but the active one.
      expect(await log.enforceRetention()).toBe(3);
      expect(log.logStartOffset()).toBe(9);
      expect(log.sizeInBytes()).toBe(batch);
    });

    it('puts an append larger than segmentBytes in a segment of its own', async () => {
      const log = await open({ segmentBytes: 100, retentionBytes: 0 });
      await log.append(makeBatch({ records: 5, valueBytes: 100 }));
      await log.append(makeBatch({ records: 5, valueBytes: 100 }));
      expect((await readAll(log)).map((b) => b.baseOffset)).toEqual([0, 5]);
      expect(await log.enforceRetention()).toBe(1);
      expect(log.logStartOffset()).toBe(5);
    });

    it('rolls segments by age', async () => {
      const log = await open({ segmentMs: 1000, retentionBytes: 0 });
      await log.append(makeBatch());
      now += 999;
      await log.append(makeBatch());
      now += 1;
      await log.append(makeBatch());
      expect(await log.enforceRetention()).toBe(1);
      expect(log.logStartOffset()).toBe(2);
    });

    it('finds every offset across many segments', async () => {
      const log = await open({ segmentBytes: 4096, indexIntervalBytes: 256 });
      const expected: [number, number][] = [];
      for (let i = 0; i < 300; i++) {
        const records = 1 + (i % 7);
        const r = await log.append(
          makeBatch({ records, valueBytes: 20 + ((i * 37) % 90), tag: `b${i}` }),
        );
        expected.push([r.baseOffset, r.logEndOffset - 1]);
      }
      const end = log.logEndOffset();
      let batch = 0;
      for (let offset = 0; offset < end; offset++) {
        if (offset > expected[batch][1]) batch++;
        const [found] = decodeBatches((await log.read(offset, 1, true)).records);
        expect([found.baseOffset, found.lastOffset]).toEqual(expected[batch]);
        expect(found.values[0]).toMatch(new RegExp(`^b${batch}-0:`));
      }
      const all = await readAll(log, 0, 3000);
      expect(all.map((b) => [b.baseOffset, b.lastOffset])).toEqual(expected);
      expect(all.every((b) => b.crcOk)).toBe(true);
    });

    it('looks offsets up by timestamp across segments', async () => {
      const log = await open({ segmentBytes: 3 * sizes(2), indexIntervalBytes: 1 });
      // Mostly rising max timestamps with some going back, as producers with skewed clocks send.
      const maxTimestamps = [100, 200, 150, 300, 300, 250, 400, 500, 450, 600, 700, 650, 800, 900];
      for (const ts of maxTimestamps) {
        await log.append(
          makeBatch({ records: 2, baseTimestamp: ts - 1, timestamps: [ts - 1, ts] }),
        );
      }
      for (let target = 0; target <= 1000; target += 25) {
        const index = maxTimestamps.findIndex((ts) => ts >= target);
        const result = await log.offsetForTimestamp(target);
        if (index < 0) expect(result).toBeNull();
        else expect(result).toEqual({ offset: 2 * index, timestamp: maxTimestamps[index] });
      }
      await log.advanceLogStartOffset(5);
      expect(await log.offsetForTimestamp(0)).toEqual({ offset: 5, timestamp: 150 });
      expect(await log.offsetForTimestamp(300)).toEqual({ offset: 6, timestamp: 300 });
    });

    it('applies time retention to the oldest closed segments only', async () => {
      const log = await open({ segmentBytes: 2 * sizes(1), retentionMs: 1000 });
      const old = DEFAULT_TIMESTAMP - 5000;
      const young = DEFAULT_TIMESTAMP;
      // Segments: [old old] [old old] [young young] [old old] [old(active)]
      for (const ts of [old, old, old, old, young, young, old, old, old]) {
        await log.append(makeBatch({ baseTimestamp: ts }));
      }
      expect(await log.enforceRetention(DEFAULT_TIMESTAMP)).toBe(2);
      expect(log.logStartOffset()).toBe(4);
      await expect(log.read(3, 1024, true)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      expect(decodeBatches((await log.read(4, 1, true)).records)[0].baseOffset).toBe(4);
      // Once the young ones age, everything but the active segment goes.
      expect(await log.enforceRetention(DEFAULT_TIMESTAMP + 2000)).toBe(2);
      expect(log.logStartOffset()).toBe(8);
      expect(log.logEndOffset()).toBe(9);
    });

    it('applies size retention without going below retentionBytes', async () => {
      const batch = sizes(1);
      const log = await open({ segmentBytes: 3 * batch, retentionBytes: 7 * batch });
      for (let i = 0; i < 13; i++) await log.append(makeBatch());
      expect(log.sizeInBytes()).toBe(13 * batch);
      expect(await log.enforceRetention()).toBe(2);
      expect(log.sizeInBytes()).toBe(7 * batch);
      expect(log.logStartOffset()).toBe(6);
      expect(await log.enforceRetention()).toBe(0);
    });

    it('runs retention for every open log from the store', async () => {
      const a = await open({ segmentBytes: 1, retentionBytes: 0 }, { topic: 'a', partition: 0 });
      const b = await open({ segmentBytes: 1, retentionBytes: 0 }, { topic: 'b', partition: 3 });
      for (let i = 0; i < 3; i++) {
        await a.append(makeBatch());
        await b.append(makeBatch());
      }
      await store.enforceRetention();
      expect([a.logStartOffset(), b.logStartOffset()]).toEqual([2, 2]);
    });

    it('advances the log start offset and deletes segments below it', async () => {
      const batch = sizes(2);
      const log = await open({ segmentBytes: 2 * batch });
      for (let i = 0; i < 6; i++) await log.append(makeBatch({ records: 2 }));
      expect(log.sizeInBytes()).toBe(6 * batch);
      await log.advanceLogStartOffset(5); // inside the third batch, second segment
      expect(log.logStartOffset()).toBe(5);
      expect(log.sizeInBytes()).toBe(4 * batch);
      await expect(log.read(4, 1024, true)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      const { records, logStartOffset } = await log.read(5, 1, true);
      expect(logStartOffset).toBe(5);
      expect(decodeBatches(records)[0].baseOffset).toBe(4);
      await log.advanceLogStartOffset(2); // backwards: no-op
      expect(log.logStartOffset()).toBe(5);
      await expect(log.advanceLogStartOffset(13)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      await log.advanceLogStartOffset(12);
      expect(log.logStartOffset()).toBe(12);
      expect((await log.read(12, 1024, true)).records.length).toBe(0);
      expect((await log.append(makeBatch())).baseOffset).toBe(12);
    });

    it('wakes waitForAppend on append, abort and close', async () => {
      const log = await open();
      let woken = false;
      const waiting = log.waitForAppend(0, new AbortController().signal).then(() => (woken = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(woken).toBe(false);
      await log.append(makeBatch());
      await waiting;
      await log.waitForAppend(0, new AbortController().signal); // already past
      const aborter = new AbortController();
      const aborted = log.waitForAppend(5, aborter.signal);
      aborter.abort();
      await aborted;
      const closing = log.waitForAppend(5, new AbortController().signal);
      await log.close();
      await closing;
    });

    it('applies concurrent appends in call order while reads run', async () => {
      const log = await open({ segmentBytes: 2048, indexIntervalBytes: 128 });
      const appends = Array.from({ length: 200 }, (_, i) =>
        log.append(makeBatch({ records: 1 + (i % 3), tag: `c${i}` })),
      );
      await appends[0];
      const reads = Array.from({ length: 50 }, async () => {
        const end = log.logEndOffset();
        const batches = await readAll(log, 0);
        expect(batches.length).toBeGreaterThan(0);
        expect(batches[batches.length - 1].lastOffset).toBeGreaterThanOrEqual(end - 1);
      });
      const results = await Promise.all(appends);
      await Promise.all(reads);
      for (let i = 1; i < results.length; i++) {
        expect(results[i].baseOffset).toBe(results[i - 1].logEndOffset);
      }
      const batches = await readAll(log, 0);
      expect(batches.map((b) => b.values[0].split(':')[0])).toEqual(
        results.map((_, i) => `c${i}-0`),
      );
    });

    it('opens one log object per partition, lists and deletes logs', async () => {
      const tps: TopicPartition[] = [
        { topic: 'persistent://public/default/orders', partition: 0 },
        { topic: 'persistent://public/default/orders', partition: 7 },
        { topic: 'weird name/ü/%41/..', partition: 1 },
        { topic: '..', partition: 0 },
      ];
      for (const tp of tps) {
        const log = await open(undefined, tp);
        expect(await open(undefined, tp)).toBe(log);
        expect(log.topicPartition).toEqual(tp);
        await log.append(makeBatch());
      }
      const sortKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
      expect((await store.listLogs()).map(sortKey).sort()).toEqual(tps.map(sortKey).sort());
      await store.deleteLog(tps[2]);
      await store.deleteLog({ topic: 'never-existed', partition: 0 });
      expect((await store.listLogs()).map(sortKey).sort()).toEqual(
        [tps[0], tps[1], tps[3]].map(sortKey).sort(),
      );
      const recreated = await open(undefined, tps[2]);
      expect(recreated.logEndOffset()).toBe(0);
    });

    it('layers per-log config over the store defaults and validates it', async () => {
      const log = await open({ segmentBytes: 12345 });
      expect(log.config).toEqual({ ...DEFAULT_LOG_CONFIG, segmentBytes: 12345 });
      await expect(
        open({ segmentBytes: 0 }, { topic: 'bad', partition: 0 }),
      ).rejects.toBeInstanceOf(RangeError);
    });

    it('rejects use after close', async () => {
      const log = await open();
      await log.append(makeBatch());
      await log.close();
      await expect(log.append(makeBatch())).rejects.toBeInstanceOf(LogClosedError);
      await expect(log.read(0, 1024, true)).rejects.toBeInstanceOf(LogClosedError);
      const reopened = await open();
      expect(reopened).not.toBe(log);
      expect(reopened.logEndOffset()).toBe(1);
      await store.close();
      await expect(reopened.append(makeBatch())).rejects.toBeInstanceOf(LogClosedError);
      await expect(open()).rejects.toBeInstanceOf(LogClosedError);
    });

    describe('ownership claims', () => {
      const claim = (epoch: number): Promise<PartitionLog> =>
        store.openLog(TP, undefined, { epoch, graceMs: 0 });
      const tags = async (log: PartitionLog): Promise<string[]> =>
        (await readAll(log, 0)).map((b) => b.values[0].split(':')[0]);

      it('fences the object opened under an older epoch, or none, for good', async () => {
        const unclaimed = await open();
        expect(unclaimed.epoch).toBe(0);
        expect(unclaimed.stillClaimed()).toBe(true); // nobody has claimed the log
        await unclaimed.append(makeBatch({ tag: 'u' }));
        const first = await claim(1);
        expect(first).not.toBe(unclaimed);
        expect(first.epoch).toBe(1);
        expect(unclaimed.isFenced()).toBe(true);
        expect(unclaimed.stillClaimed()).toBe(false);
        await expect(unclaimed.append(makeBatch())).rejects.toMatchObject({
          name: 'FencedError',
          epoch: 0,
          claimedEpoch: 1,
        });
        expect(await claim(1)).toBe(first);
        expect(await open()).toBe(first);
        await first.append(makeBatch({ tag: 'a', records: 2 }));
        expect(first.stillClaimed()).toBe(true);
        const parked = first.waitForAppend(3, new AbortController().signal).catch((e) => e);

        const second = await claim(2);
        // A long poll on the superseded object ends with FencedError, and a new one is refused.
        expect(await parked).toBeInstanceOf(FencedError);
        await expect(first.waitForAppend(3, new AbortController().signal)).rejects.toBeInstanceOf(
          FencedError,
        );
        expect(first.stillClaimed()).toBe(false);
        expect(second.stillClaimed()).toBe(true);
        expect(second.logEndOffset()).toBe(3);
        await expect(first.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
        await expect(first.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
        await expect(first.advanceLogStartOffset(1)).rejects.toBeInstanceOf(FencedError);
        expect(first.isFenced()).toBe(true);
        expect(second.isFenced()).toBe(false);
        const results = await Promise.all(
          ['b', 'c', 'd'].map((tag) => second.append(makeBatch({ tag }))),
        );
        expect(results.map((r) => r.baseOffset)).toEqual([3, 4, 5]);
        expect(await tags(second)).toEqual(['u-0', 'a-0', 'b-0', 'c-0', 'd-0']);
        await store.enforceRetention(); // skips what is fenced
      });

      it('refuses a claim whose epoch is not above the current one', async () => {
        const owner = await claim(5);
        await expect(claim(4)).rejects.toMatchObject({
          name: 'FencedError',
          epoch: 4,
          claimedEpoch: 5,
        });
        expect(await claim(5)).toBe(owner);
        for (const epoch of [0, -1, 1.5, Number.NaN]) {
          await expect(claim(epoch)).rejects.toBeInstanceOf(RangeError);
        }
        await owner.append(makeBatch());
        expect(owner.isFenced()).toBe(false);
      });

      it('keeps the claim across a reopen', async () => {
        const owner = await claim(3);
        await owner.append(makeBatch({ tag: 'x' }));
        store = await harness.reopen(store);
        await expect(claim(3)).rejects.toBeInstanceOf(FencedError);
        const unclaimed = await open();
        expect(unclaimed.isFenced()).toBe(true);
        await expect(unclaimed.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
        expect(await tags(unclaimed)).toEqual(['x-0']); // reads stay allowed
        const next = await claim(4);
        expect((await next.append(makeBatch({ tag: 'y' }))).baseOffset).toBe(1);
        expect(await tags(next)).toEqual(['x-0', 'y-0']);
      });
    });

    describe('across a reopen', () => {
      it('keeps the data and continues the offsets', async () => {
        let log = await open({ segmentBytes: 3 * sizes(2) });
        for (let i = 0; i < 10; i++) await log.append(makeBatch({ records: 2, tag: `r${i}` }));
        store = await harness.reopen(store);
        log = await open({ segmentBytes: 3 * sizes(2) });
        expect(log.logEndOffset()).toBe(20);
        expect((await log.append(makeBatch({ tag: 'after' }))).baseOffset).toBe(20);
        const batches = await readAll(log, 0);
        expect(batches.map((b) => b.values[0].split(':')[0])).toEqual([
          ...Array.from({ length: 10 }, (_, i) => `r${i}-0`),
          'after-0',
        ]);
        expect((await log.offsetForTimestamp(DEFAULT_TIMESTAMP + 1))?.offset).toBe(0);
      });

      it('keeps the log start offset', async () => {
        let log = await open({ segmentBytes: 2 * sizes(1) });
        for (let i = 0; i < 5; i++) await log.append(makeBatch());
        await log.advanceLogStartOffset(3);
        store = await harness.reopen(store);
        log = await open();
        expect(log.logStartOffset()).toBe(3);
        expect(log.logEndOffset()).toBe(5);
        await expect(log.read(2, 1024, true)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
        expect(decodeBatches((await log.read(3, 1024, true)).records)[0].baseOffset).toBe(3);
      });
    });
  });
}
