/**
 * What a new owner does about the previous owner's writes that may still be in flight: after a
 * claim that was not a clean hand-over it seals the last segment at the length it validated (a
 * seal record every later open honours) and appends to a new segment file; the previous owner
 * checks its claim again after each write and acknowledges nothing that completed after the
 * claim. Writes "in flight" are made deterministic by holding LogSegment.append (after the fence
 * check, before the write) until the test lets it go.
 */
import { appendFile, readFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileMessageStore, type FileMessageStoreOptions } from '../../../src/storage/file-store.js';
import { LogSegment, segmentFileName } from '../../../src/storage/segment.js';
import { logDir } from '../../../src/storage/topic-dirs.js';
import {
  FencedError,
  type AppendResult,
  type LogConfig,
  type PartitionLog,
  type TopicPartition,
} from '../../../src/storage/types.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { DEFAULT_TIMESTAMP, makeBatch } from '../../helpers/record-batches.js';
import { readAll } from '../../helpers/storage-contract.js';
import { makeTempDir, removeTempDir } from '../../helpers/storage-temp.js';

const TP: TopicPartition = { topic: 'persistent://public/default/sealed', partition: 1 };
const CONFIG: Partial<LogConfig> = { indexIntervalBytes: 256 };
const GRACE_MS = 50;
const FUTURE = DEFAULT_TIMESTAMP + 1_000_000;

const tagsOf = async (log: PartitionLog): Promise<string[]> =>
  (await readAll(log, 0)).map((b) => b.values[0].split(':')[0]);

const name = (base: number, suffix: string): string => segmentFileName(base, suffix);

/**
 * Holds the next LogSegment.append after the fence check let it through, as a write queued in
 * libuv's thread pool (or in a frozen process) is held: `reached` resolves once it is held,
 * `release()` lets the write go.
 */
function holdNextWrite(): { reached: Promise<void>; release(): void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const reachedP = new Promise<void>((resolve) => (reached = resolve));
  const original = LogSegment.prototype.append;
  vi.spyOn(LogSegment.prototype, 'append').mockImplementationOnce(async function (
    this: LogSegment,
    ...args: Parameters<LogSegment['append']>
  ) {
    reached();
    await released;
    return original.apply(this, args);
  });
  return { reached: reachedP, release };
}

describe('FileMessageStore: sealing the previous owner out', () => {
  let dataDir: string;
  let dir: string;
  const stores: FileMessageStore[] = [];

  const broker = (options: Partial<FileMessageStoreOptions> = {}): FileMessageStore => {
    const store = new FileMessageStore({ dataDir, fenceGraceMs: GRACE_MS, ...options });
    stores.push(store);
    return store;
  };
  const files = async (): Promise<string[]> =>
    (await readdir(dir)).filter((f) => /^\d{20}\./.test(f)).sort();
  const sizeOf = async (file: string): Promise<number> => (await stat(path.join(dir, file))).size;
  const sealRecord = async (base: number): Promise<Record<string, number>> =>
    JSON.parse(await readFile(path.join(dir, name(base, '.sealed')), 'utf8')) as Record<
      string,
      number
    >;
  /** A owns the log at epoch 1 with batches a0..a<n-1> (one record each, a<i> at time T + i). */
  const ownerA = async (n: number, options: Partial<FileMessageStoreOptions> = {}) => {
    const store = broker(options);
    const a = await store.openLog(TP, CONFIG, { epoch: 1 });
    for (let i = 0; i < n; i++) {
      await a.append(makeBatch({ tag: `a${i}`, baseTimestamp: DEFAULT_TIMESTAMP + i }));
    }
    return { store, a };
  };

  beforeEach(async () => {
    dataDir = await makeTempDir('koppa-seal-');
    dir = logDir(dataDir, TP);
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    await removeTempDir(dataDir);
  });

  it('seals the last segment at the validated length and appends to a new one after an unclean claim', async () => {
    await ownerA(5);
    const sealedBytes = await sizeOf(name(0, '.log'));
    const { logger, records } = captureLogs();
    const b = await broker({ logger }).openLog(TP, CONFIG, { epoch: 2 });
    expect(await files()).toEqual([
      name(0, '.index'),
      name(0, '.log'),
      name(0, '.sealed'),
      name(0, '.timeindex'),
      name(5, '.log'),
    ]);
    expect(await sealRecord(0)).toEqual({
      bytes: sealedBytes,
      nextOffset: 5,
      maxTimestamp: DEFAULT_TIMESTAMP + 4,
      epoch: 2,
    });
    expect(records.map((r) => r.msg)).toContain(
      'sealed the last segment after an unclean claim; appending to a new one',
    );
    const results = await Promise.all(
      ['b0', 'b1', 'b2'].map((tag) => b.append(makeBatch({ tag }))),
    );
    expect(results.map((r) => r.baseOffset)).toEqual([5, 6, 7]);
    expect(await sizeOf(name(0, '.log'))).toBe(sealedBytes);
    expect(await sizeOf(name(5, '.log'))).toBe(3 * makeBatch({ tag: 'b0' }).length);
    expect(await tagsOf(b)).toEqual([
      'a0-0',
      'a1-0',
      'a2-0',
      'a3-0',
      'a4-0',
      'b0-0',
      'b1-0',
      'b2-0',
    ]);
  });

  it('appends to the same segment after a clean release (the hand-over that skips the grace)', async () => {
    const { a } = await ownerA(3);
    await a.close();
    const { logger, records } = captureLogs();
    const b = await broker({ logger, fenceGraceMs: 60_000 }).openLog(TP, CONFIG, { epoch: 2 });
    expect(records.find((r) => r.msg === 'claimed log ownership')).toMatchObject({
      graceMs: 0,
      previousReleased: true,
    });
    await b.append(makeBatch({ tag: 'b' }));
    expect((await files()).filter((f) => f.endsWith('.log') || f.endsWith('.sealed'))).toEqual([
      name(0, '.log'),
    ]);
    expect(await tagsOf(b)).toEqual(['a0-0', 'a1-0', 'a2-0', 'b-0']);
  });

  it("keeps a write in flight across the claim out of the new owner's data, and A never acknowledges it", async () => {
    const { a } = await ownerA(5);
    const held = holdNextWrite();
    const late = a.append(makeBatch({ records: 3, tag: 'late', baseTimestamp: FUTURE }));
    const lateOutcome = late.then(
      () => 'acknowledged',
      (err: unknown) => err,
    );
    await held.reached; // A passed its check; its write has not landed

    const storeB = broker();
    const b = await storeB.openLog(TP, CONFIG, { epoch: 2 });
    expect(b.logEndOffset()).toBe(5);
    const acked: AppendResult[] = [];
    for (const tag of ['b0', 'b1']) acked.push(await b.append(makeBatch({ tag })));
    expect(acked.map((r) => r.baseOffset)).toEqual([5, 6]);

    held.release(); // A's write lands now, at the position B validated up to
    expect(await lateOutcome).toBeInstanceOf(FencedError);
    expect(await lateOutcome).toMatchObject({ epoch: 1, claimedEpoch: 2 });
    // It did land: in the sealed segment's file, past its sealed length.
    const sealed = await sealRecord(0);
    expect(await sizeOf(name(0, '.log'))).toBeGreaterThan(sealed.bytes);

    const expected = ['a0-0', 'a1-0', 'a2-0', 'a3-0', 'a4-0', 'b0-0', 'b1-0'];
    expect(await tagsOf(b)).toEqual(expected);
    expect(await b.offsetForTimestamp(FUTURE)).toBeNull();
    await storeB.close();

    // A restart: a fresh store over the same files, with a claim and without.
    const reopened = await broker({ indexCacheBytes: 0 }).openLog(TP, CONFIG, {
      epoch: 3,
      graceMs: 0,
    });
    expect(reopened.logEndOffset()).toBe(7);
    expect(await tagsOf(reopened)).toEqual(expected);
    expect(await reopened.offsetForTimestamp(FUTURE)).toBeNull();
    const { records } = await reopened.read(4, 1 << 20, true);
    expect(records.length).toBe(makeBatch({ tag: 'a4' }).length); // a4 alone, nothing after it
  });

  it('starts an empty last segment in a new file, so a write in flight into the old one lands nowhere', async () => {
    const { a } = await ownerA(0);
    const held = holdNextWrite();
    const late = a.append(makeBatch({ tag: 'late' })).then(
      () => 'acknowledged',
      (err: unknown) => err,
    );
    await held.reached;

    const { logger, records } = captureLogs();
    const storeB = broker({ logger });
    const b = await storeB.openLog(TP, CONFIG, { epoch: 2 });
    expect(records.map((r) => r.msg)).toContain(
      'started the empty last segment in a new file after an unclean claim',
    );
    for (const tag of ['b0', 'b1']) await b.append(makeBatch({ tag }));
    held.release();
    expect(await late).toBeInstanceOf(FencedError);

    expect(await tagsOf(b)).toEqual(['b0-0', 'b1-0']);
    expect((await readdir(dir)).filter((f) => f.includes('superseded'))).toEqual([]);
    expect((await files()).filter((f) => f.endsWith('.sealed'))).toEqual([]);
    await storeB.close();
    const reader = await broker().openLog(TP, CONFIG);
    expect(await tagsOf(reader)).toEqual(['b0-0', 'b1-0']);
  });

  it('never reads bytes past the sealed length, after a restart too', async () => {
    await ownerA(5);
    const storeB = broker();
    const b = await storeB.openLog(TP, CONFIG, { epoch: 2 });
    await b.append(makeBatch({ tag: 'b0' }));
    const { bytes } = await sealRecord(0);
    // What a late write of A would leave: a sound batch (offsets 5.., a future timestamp) and a
    // torn one after it.
    const lateBatch = makeBatch({ records: 2, tag: 'late', baseTimestamp: FUTURE, baseOffset: 5 });
    await appendFile(
      path.join(dir, name(0, '.log')),
      Buffer.concat([lateBatch, lateBatch.subarray(0, 30)]),
    );

    const check = async (log: PartitionLog): Promise<void> => {
      expect(log.logEndOffset()).toBe(6);
      expect(await tagsOf(log)).toEqual(['a0-0', 'a1-0', 'a2-0', 'a3-0', 'a4-0', 'b0-0']);
      expect(await log.offsetForTimestamp(FUTURE)).toBeNull();
      expect((await log.read(4, 1 << 20, true)).records.length).toBe(bytes / 5);
    };
    await check(b);
    await storeB.close();
    expect(await sizeOf(name(0, '.log'))).toBe(bytes + lateBatch.length + 30); // ignored, not cut

    const { logger, records } = captureLogs();
    await check(await broker({ logger, indexCacheBytes: 0 }).openLog(TP, CONFIG));
    expect(
      records.find((r) => r.msg === 'ignoring bytes written past the sealed length of a segment'),
    ).toMatchObject({
      sealedBytes: bytes,
      ignoredBytes: lateBatch.length + 30,
    });
    await check(await broker({ indexCacheBytes: 0 }).openLog(TP, CONFIG, { epoch: 3 }));
  });

  it("rebuilds a sealed segment's indexes when a late writer left entries it does not hold", async () => {
    await ownerA(40);
    const storeB = broker();
    const b = await storeB.openLog(TP, CONFIG, { epoch: 2 });
    await b.append(makeBatch({ tag: 'b0' }));
    await storeB.close();
    const { bytes, maxTimestamp } = await sealRecord(0);
    const indexFile = path.join(dir, name(0, '.index'));
    const timeFile = path.join(dir, name(0, '.timeindex'));
    const offsets = await readFile(indexFile);
    const times = await readFile(timeFile);
    expect(offsets.length).toBeGreaterThan(8);
    expect(times.length).toBeGreaterThan(12);
    const expected = [...Array.from({ length: 40 }, (_, i) => `a${i}-0`), 'b0-0'];
    const reopen = async (): Promise<{ log: PartitionLog; problems: unknown[] }> => {
      const { logger, records } = captureLogs();
      const log = await broker({ logger, indexCacheBytes: 0 }).openLog(TP, CONFIG);
      expect(await tagsOf(log)).toEqual(expected);
      const last = await log.offsetForTimestamp(maxTimestamp);
      expect(last).toEqual({ offset: 39, timestamp: maxTimestamp });
      return {
        log,
        problems: records
          .filter((r) => r.msg === 'rebuilding segment indexes')
          .map((r) => r.problem),
      };
    };

    // An offset index entry for a batch past the sealed length (A indexed its late write).
    const extra = Buffer.alloc(8);
    extra.writeUInt32BE(40, 0);
    extra.writeUInt32BE(bytes, 4);
    await writeFile(indexFile, Buffer.concat([offsets, extra]));
    expect((await reopen()).problems).toEqual([expect.stringMatching(/out of order or range/)]);

    // A time index cut before its last entry (A's close wrote its indexes late, without the
    // final max entry a seal adds): it would understate the segment's max timestamp.
    await truncate(timeFile, times.length - 12);
    expect((await reopen()).problems).toEqual([
      'time index does not end at the sealed max timestamp',
    ]);
    // Rebuilt and written back: whole again.
    expect(await readFile(timeFile)).toEqual(times);
  });

  it('honours a seal record left by a claim that stopped before it started the next segment', async () => {
    await ownerA(5);
    await broker().openLog(TP, CONFIG, { epoch: 2 }); // B seals segment 0 and starts 5
    const { bytes } = await sealRecord(0);
    // As if B had died between the two: no segment 5 yet; and a late write of A's.
    await unlink(path.join(dir, name(5, '.log')));
    await appendFile(path.join(dir, name(0, '.log')), makeBatch({ tag: 'late', baseOffset: 5 }));

    const c = await broker().openLog(TP, CONFIG, { epoch: 3, graceMs: 0 });
    expect(c.logEndOffset()).toBe(5);
    expect((await c.append(makeBatch({ tag: 'c' }))).baseOffset).toBe(5);
    expect(await sizeOf(name(5, '.log'))).toBe(makeBatch({ tag: 'c' }).length);
    expect((await sealRecord(0)).bytes).toBe(bytes);
    expect(await tagsOf(c)).toEqual(['a0-0', 'a1-0', 'a2-0', 'a3-0', 'a4-0', 'c-0']);
  });

  it('takes the seal record of a claimer that sealed the segment first', async () => {
    await ownerA(5);
    const prefix = 3 * makeBatch({ tag: 'a0' }).length;
    // An older claimer, stalled since it validated three batches, seals the segment while this
    // claim is sealing it (its record appears between this open's listing and its own record).
    const original = LogSegment.prototype.persist;
    vi.spyOn(LogSegment.prototype, 'persist').mockImplementationOnce(async function (
      this: LogSegment,
      ...args: Parameters<LogSegment['persist']>
    ) {
      await writeFile(
        path.join(dir, name(0, '.sealed')),
        `${JSON.stringify({ bytes: prefix, nextOffset: 3, maxTimestamp: DEFAULT_TIMESTAMP + 2, epoch: 1 })}\n`,
      );
      return original.apply(this, args);
    });
    const b = await broker().openLog(TP, CONFIG, { epoch: 2 });
    expect(b.logEndOffset()).toBe(3);
    expect((await b.append(makeBatch({ tag: 'b' }))).baseOffset).toBe(3);
    expect(await tagsOf(b)).toEqual(['a0-0', 'a1-0', 'a2-0', 'b-0']);
    expect((await files()).filter((f) => f.endsWith('.log'))).toEqual([
      name(0, '.log'),
      name(3, '.log'),
    ]);
  });

  it('deletes a sealed segment with its seal record (retention)', async () => {
    await ownerA(5);
    const b = await broker().openLog(TP, { ...CONFIG, retentionBytes: 1 }, { epoch: 2 });
    await b.append(makeBatch({ tag: 'b' }));
    expect(await files()).toContain(name(0, '.sealed'));
    expect(await b.enforceRetention()).toBe(1);
    expect(await files()).toEqual([name(5, '.log')]);
    expect(b.logStartOffset()).toBe(5);
    expect((await readAll(b, 5)).map((batch) => batch.values[0].split(':')[0])).toEqual(['b-0']);
  });

  describe('what the previous owner sees', () => {
    it('logs refused appends apart from the hand-over, with their count', async () => {
      const { logger, records } = captureLogs();
      const { store, a } = await ownerA(2, { logger });
      await broker().openLog(TP, CONFIG, { epoch: 2 });
      for (let i = 0; i < 3; i++) {
        await expect(a.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
      }
      const refused = () =>
        records.filter((r) => r.msg === 'append refused: another owner claimed the log');
      expect(records.filter((r) => r.msg?.toString().startsWith('log fenced'))).toHaveLength(1);
      // The first at once; the next ones (within the interval) when the log closes.
      expect(refused()).toHaveLength(1);
      expect(refused()[0]).toMatchObject({
        epoch: 1,
        claimedEpoch: 2,
        refusedAppends: 1,
        refusedAfterWrite: 0,
      });
      await store.close();
      expect(refused()).toHaveLength(2);
      expect(refused()[1]).toMatchObject({ refusedAppends: 3 });
    });

    it('logs a hand-over in process without refused appends as fenced only', async () => {
      const { logger, records } = captureLogs();
      const { store } = await ownerA(2, { logger });
      await store.openLog(TP, CONFIG, { epoch: 2 }); // a regain: the epoch-1 object is superseded
      const messages = records.map((r) => r.msg);
      expect(messages).toContain('log fenced: another owner claimed it; it takes no more writes');
      expect(messages).not.toContain('append refused: another owner claimed the log');
    });

    it('counts the appends refused after their write', async () => {
      const { logger, records } = captureLogs();
      const { a } = await ownerA(1, { logger });
      const held = holdNextWrite();
      const late = a.append(makeBatch()).catch((err: unknown) => err);
      await held.reached;
      await broker().openLog(TP, CONFIG, { epoch: 2 });
      held.release();
      expect(await late).toBeInstanceOf(FencedError);
      expect(
        records.find((r) => r.msg === 'append refused: another owner claimed the log'),
      ).toMatchObject({ refusedAppends: 1, refusedAfterWrite: 1 });
    });

    it('answers stillClaimed from the claim file, for good once fenced', async () => {
      const unclaimed = await broker().openLog(TP, CONFIG);
      expect(unclaimed.stillClaimed()).toBe(true); // nobody has claimed the log
      const { a } = await ownerA(1);
      expect(unclaimed.stillClaimed()).toBe(false);
      expect(a.stillClaimed()).toBe(true);
      const storeB = broker();
      const b = await storeB.openLog(TP, CONFIG, { epoch: 2 });
      // A has not written since: only a look at the disk tells.
      expect(a.isFenced()).toBe(false);
      expect(a.stillClaimed()).toBe(false);
      expect(a.isFenced()).toBe(true);
      expect(b.stillClaimed()).toBe(true);
      await storeB.close();
      expect(b.stillClaimed()).toBe(false); // closed
      expect(a.stillClaimed()).toBe(false); // for good, though nobody holds the claim now
    });

    it('ends long polls on a fenced log with FencedError instead of resolving them', async () => {
      const { a } = await ownerA(1);
      const signal = new AbortController().signal;
      const parked = a.waitForAppend(a.logEndOffset(), signal).then(
        () => 'resolved',
        (err: unknown) => err,
      );
      await broker().openLog(TP, CONFIG, { epoch: 2 });
      // A claim by another process wakes nobody; A's next write finds it and ends the wait.
      const pending = await Promise.race([
        parked,
        new Promise((resolve) => setTimeout(() => resolve('pending'), 20)),
      ]);
      expect(pending).toBe('pending');
      await expect(a.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
      expect(await parked).toBeInstanceOf(FencedError);
      // A new long poll is refused at once, every time: a caller cannot spin on it.
      for (let i = 0; i < 3; i++) {
        await expect(a.waitForAppend(a.logEndOffset(), signal)).rejects.toBeInstanceOf(FencedError);
      }
    });
  });
});
