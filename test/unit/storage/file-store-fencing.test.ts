/**
 * Ownership fencing between two FileMessageStores over one data directory, as two brokers of one
 * host have them: a claim by one fences the other's log object through the files alone.
 */
import { open, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileMessageStore, type FileMessageStoreOptions } from '../../../src/storage/file-store.js';
import { OWNER_EPOCH_FILE, RELEASED_EPOCH_FILE } from '../../../src/storage/owner-fence.js';
import { FilePartitionLog } from '../../../src/storage/partition-log.js';
import { LogSegment } from '../../../src/storage/segment.js';
import { logDir } from '../../../src/storage/topic-dirs.js';
import {
  FencedError,
  type AppendResult,
  type LogConfig,
  type PartitionLog,
  type TopicPartition,
} from '../../../src/storage/types.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { makeBatch } from '../../helpers/record-batches.js';
import { readAll } from '../../helpers/storage-contract.js';
import { makeTempDir, removeTempDir } from '../../helpers/storage-temp.js';

const TP: TopicPartition = { topic: 'persistent://public/default/fenced', partition: 2 };
const CONFIG: Partial<LogConfig> = { indexIntervalBytes: 256 };
const GRACE_MS = 50;

const tagsOf = async (log: PartitionLog): Promise<string[]> =>
  (await readAll(log, 0)).map((b) => b.values[0].split(':')[0]);

async function waitFor(what: string, done: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('FileMessageStore ownership fencing across stores', () => {
  let dataDir: string;
  let dir: string;
  const stores: FileMessageStore[] = [];

  const broker = (options: Partial<FileMessageStoreOptions> = {}): FileMessageStore => {
    const store = new FileMessageStore({ dataDir, fenceGraceMs: GRACE_MS, ...options });
    stores.push(store);
    return store;
  };
  const claimedEpoch = async (): Promise<string> =>
    (await readFile(path.join(dir, OWNER_EPOCH_FILE), 'utf8').catch(() => '')).trim();
  const segmentFiles = async (): Promise<string[]> =>
    (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();

  beforeEach(async () => {
    dataDir = await makeTempDir('koppa-fence-');
    dir = logDir(dataDir, TP);
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    await removeTempDir(dataDir);
  });

  it("fences A's appends once B claims, for good; B continues after all of A's batches", async () => {
    const a = await broker().openLog(TP, CONFIG, { epoch: 1 });
    const acked: AppendResult[] = [];
    for (let i = 0; i < 20; i++)
      acked.push(await a.append(makeBatch({ records: 3, tag: `a${i}` })));
    expect(await claimedEpoch()).toBe('1');

    const storeB = broker();
    const b = await storeB.openLog(TP, CONFIG, { epoch: 2 });
    expect(await claimedEpoch()).toBe('2');
    expect((await readdir(dir)).filter((f) => f.startsWith(`${OWNER_EPOCH_FILE}.`))).toEqual([
      `${OWNER_EPOCH_FILE}.${'2'.padStart(20, '0')}`,
    ]);
    expect(b.epoch).toBe(2);
    expect(b.logEndOffset()).toBe(acked[acked.length - 1].logEndOffset);
    expect(await tagsOf(b)).toEqual(acked.map((_, i) => `a${i}-0`));

    // A still has the log open and believes it owns it: its next append is refused...
    expect(a.isFenced()).toBe(false);
    const refused = await a.append(makeBatch({ tag: 'late' })).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(FencedError);
    expect(refused).toMatchObject({ epoch: 1, claimedEpoch: 2, topicPartition: TP });
    // ...and so is everything after, without another look at the disk.
    expect(a.isFenced()).toBe(true);
    await expect(a.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
    await expect(a.advanceLogStartOffset(3)).rejects.toBeInstanceOf(FencedError);
    await expect(a.enforceRetention()).rejects.toBeInstanceOf(FencedError);
    await stores[0].enforceRetention(); // the store skips its fenced logs
    // Reads stay allowed: A's view is a prefix of the log.
    expect((await tagsOf(a)).length).toBe(20);
    // A long poll at A's end would wait for data that never comes: it is refused at once.
    await expect(
      a.waitForAppend(a.logEndOffset(), new AbortController().signal),
    ).rejects.toBeInstanceOf(FencedError);
    expect(a.stillClaimed()).toBe(false);

    // B's appends follow A's last acknowledged batch, contiguously, concurrent ones included.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        b.append(makeBatch({ records: 1 + (i % 3), tag: `b${i}` })),
      ),
    );
    expect(results[0].baseOffset).toBe(acked[acked.length - 1].logEndOffset);
    for (let i = 1; i < results.length; i++) {
      expect(results[i].baseOffset).toBe(results[i - 1].logEndOffset);
    }

    // A's close writes nothing (no indexes, no clean-shutdown marker) into B's log.
    await stores[0].close();
    expect(await readdir(dir)).not.toContain('.clean-shutdown');
    await b.append(makeBatch({ tag: 'after-a-closed' }));
    await storeB.close();

    const reader = await broker().openLog(TP, CONFIG);
    expect(await tagsOf(reader)).toEqual([
      ...acked.map((_, i) => `a${i}-0`),
      ...results.map((_, i) => `b${i}-0`),
      'after-a-closed-0',
    ]);
  });

  it('refuses a claim whose epoch is not above the current one, from any store', async () => {
    const b = await broker().openLog(TP, CONFIG, { epoch: 7 });
    await b.append(makeBatch());
    const other = broker();
    for (const epoch of [7, 6, 1]) {
      await expect(other.openLog(TP, CONFIG, { epoch })).rejects.toMatchObject({
        name: 'FencedError',
        epoch,
        claimedEpoch: 7,
      });
    }
    expect(await claimedEpoch()).toBe('7');
    await expect(b.append(makeBatch())).resolves.toMatchObject({ baseOffset: 1 });
  });

  it('fences a log opened without a claim, and opens one as fenced on a claimed log', async () => {
    const unclaimed = await broker().openLog(TP, CONFIG);
    await unclaimed.append(makeBatch({ tag: 'u' }));
    expect(await claimedEpoch()).toBe('');
    const owner = await broker().openLog(TP, CONFIG, { epoch: 1 });
    await expect(unclaimed.append(makeBatch())).rejects.toMatchObject({
      name: 'FencedError',
      epoch: 0,
      claimedEpoch: 1,
    });
    const late = await broker().openLog(TP, CONFIG);
    expect(late.isFenced()).toBe(true);
    await expect(late.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
    await owner.append(makeBatch({ tag: 'o' }));
    expect(await tagsOf(owner)).toEqual(['u-0', 'o-0']);
  });

  it('keeps a write that passed its check just before the claim and landed during the grace, unacknowledged', async () => {
    const a = await broker().openLog(TP, CONFIG, { epoch: 1 });
    for (let i = 0; i < 5; i++) await a.append(makeBatch({ tag: `a${i}` }));

    // A's next write group passes its fence check, then stalls before its write.
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let checked!: () => void;
    const writeReached = new Promise<void>((resolve) => (checked = resolve));
    const original = LogSegment.prototype.append;
    vi.spyOn(LogSegment.prototype, 'append').mockImplementationOnce(async function (
      this: LogSegment,
      ...args: Parameters<LogSegment['append']>
    ) {
      checked();
      await stalled;
      return original.apply(this, args);
    });
    const inFlight = a.append(makeBatch({ records: 2, tag: 'in-flight' }));
    await writeReached;

    const grace = 400;
    const started = Date.now();
    const claiming = broker().openLog(TP, CONFIG, { epoch: 2, graceMs: grace });
    await waitFor('the claim', async () => (await claimedEpoch()) === '2');
    release(); // lands after the claim, within the grace
    // Landed after the claim: A's check after the write finds it, so A does not acknowledge it
    // (its producer retries at B, which may then hold it twice, as after any lost response).
    await expect(inFlight).rejects.toMatchObject({ name: 'FencedError', claimedEpoch: 2 });
    const b = await claiming;
    expect(Date.now() - started).toBeGreaterThanOrEqual(grace - 5);

    // B read it when it validated the tail, after the grace: it is part of the log.
    expect(b.logEndOffset()).toBe(7);
    expect(await tagsOf(b)).toEqual(['a0-0', 'a1-0', 'a2-0', 'a3-0', 'a4-0', 'in-flight-0']);
    expect((await b.append(makeBatch({ tag: 'b' }))).baseOffset).toBe(7);
    await expect(a.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
  });

  it('validates the whole tail on a claim, even after a clean shutdown', async () => {
    const storeA = broker();
    const a = await storeA.openLog(TP, CONFIG, { epoch: 1 });
    for (let i = 0; i < 6; i++) await a.append(makeBatch({ records: 2, tag: `a${i}` }));
    await storeA.close();
    expect(await readdir(dir)).toContain('.clean-shutdown');
    // A stray write of the old owner after its clean close: one byte flipped inside the last
    // batch's records. Its header is intact, so only a CRC check finds it.
    const [segment] = await segmentFiles();
    const file = path.join(dir, segment);
    const size = (await readFile(file)).length;
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from([0x5a]), 0, 1, size - 3);
    await fh.close();

    const b = await broker().openLog(TP, CONFIG, { epoch: 2 });
    expect(await tagsOf(b)).toEqual(['a0-0', 'a1-0', 'a2-0', 'a3-0', 'a4-0']);
    expect((await b.append(makeBatch({ tag: 'b' }))).baseOffset).toBe(10);
  });

  it('lets a fenced object neither roll nor create segments', async () => {
    const one = makeBatch({ records: 1 }).length;
    const config = { ...CONFIG, segmentBytes: 3 * one };
    const a = await broker().openLog(TP, config, { epoch: 1 });
    for (let i = 0; i < 3; i++) await a.append(makeBatch());
    expect(await segmentFiles()).toHaveLength(1);
    const b = await broker().openLog(TP, config, { epoch: 2 }); // seals A's segment, starts one
    const files = await segmentFiles();
    expect(files).toHaveLength(2);
    await expect(a.append(makeBatch())).rejects.toBeInstanceOf(FencedError); // would roll
    expect(await segmentFiles()).toEqual(files);
    for (let i = 0; i < 4; i++) await b.append(makeBatch()); // the fourth rolls
    expect(await segmentFiles()).toHaveLength(3);
    expect(b.logEndOffset()).toBe(7);
  });

  it('waits the grace before reading the tail, but not for a brand-new log', async () => {
    const slow = broker({ fenceGraceMs: 300 });
    let started = Date.now();
    const first = await slow.openLog(TP, CONFIG, { epoch: 1 });
    expect(Date.now() - started).toBeLessThan(300);
    await first.append(makeBatch());
    started = Date.now();
    await broker({ fenceGraceMs: 300 }).openLog(TP, CONFIG, { epoch: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(295);
    started = Date.now();
    await broker({ fenceGraceMs: 300 }).openLog(TP, CONFIG, { epoch: 3, graceMs: 0 });
    expect(Date.now() - started).toBeLessThan(300);
  });

  describe('hand-over', () => {
    const BIG_GRACE = 60_000;
    /** The grace each claim waited, from what the store logged. */
    const claims = (records: Record<string, unknown>[]) =>
      records
        .filter((r) => r.msg === 'claimed log ownership')
        .map((r) => ({ epoch: r.epoch, graceMs: r.graceMs }));
    const marker = (epoch: number): string =>
      path.join(dir, `${OWNER_EPOCH_FILE}.${String(epoch).padStart(20, '0')}`);

    it('skips the grace when the previous owner closed the log cleanly', async () => {
      const { logger, records } = captureLogs();
      const a = await broker({ logger }).openLog(TP, CONFIG, { epoch: 1 });
      await a.append(makeBatch({ tag: 'a' }));
      await a.close();
      expect((await readFile(path.join(dir, RELEASED_EPOCH_FILE), 'utf8')).trim()).toBe('1');

      // A grace this long would time the test out: the claim must not wait it.
      const b = await broker({ logger, fenceGraceMs: BIG_GRACE }).openLog(TP, CONFIG, { epoch: 2 });
      expect(claims(records)).toEqual([
        { epoch: 1, graceMs: 0 }, // a brand-new log
        { epoch: 2, graceMs: 0 },
      ]);
      expect(await tagsOf(b)).toEqual(['a-0']);
      expect((await b.append(makeBatch())).baseOffset).toBe(1);
    });

    it('waits the grace after an owner that did not close (killed), or closed fenced', async () => {
      const { logger, records } = captureLogs();
      const a = await broker({ logger }).openLog(TP, CONFIG, { epoch: 1 });
      await a.append(makeBatch({ tag: 'a' }));
      await a.close();
      // B takes over from A's clean release, then dies with the log open.
      const b = await broker({ logger }).openLog(TP, CONFIG, { epoch: 2 });
      await b.append(makeBatch({ tag: 'b' }));
      const c = await broker({ logger }).openLog(TP, CONFIG, { epoch: 3 });
      // B closes only now, fenced: that records nothing.
      await b.close();
      const d = await broker({ logger }).openLog(TP, CONFIG, { epoch: 4 });
      expect(claims(records)).toEqual([
        { epoch: 1, graceMs: 0 },
        { epoch: 2, graceMs: 0 },
        { epoch: 3, graceMs: GRACE_MS },
        { epoch: 4, graceMs: GRACE_MS },
      ]);
      expect(await tagsOf(d)).toEqual(['a-0', 'b-0']);
      await expect(c.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
    });

    it('waits the grace when another claimer may have come between the release and its claim', async () => {
      const { logger, records } = captureLogs();
      const a = await broker({ logger }).openLog(TP, CONFIG, { epoch: 1 });
      await a.append(makeBatch({ tag: 'a' }));
      await a.close();
      // A claimer for 2 made its marker (and may have installed its claim and written since).
      await writeFile(marker(2), '');
      await broker({ logger }).openLog(TP, CONFIG, { epoch: 3 });
      expect(claims(records).at(-1)).toEqual({ epoch: 3, graceMs: GRACE_MS });
    });
  });

  it('opens a bounded number of logs at once, while the graces of their claims overlap', async () => {
    const partitions = Array.from({ length: 12 }, (_, partition) => ({ ...TP, partition }));
    // Logs some owner has open (not released): taking them over costs the grace.
    const previous = broker();
    for (const tp of partitions) await previous.openLog(tp, CONFIG, { epoch: 1 });
    const claimed = async () => {
      let count = 0;
      for (const tp of partitions) {
        const text = await readFile(path.join(logDir(dataDir, tp), OWNER_EPOCH_FILE), 'utf8');
        if (text.trim() === '2') count++;
      }
      return count;
    };

    let opening = 0;
    let mostAtOnce = 0;
    let claimedWhenFirstOpened = -1;
    const original = FilePartitionLog.open.bind(FilePartitionLog);
    vi.spyOn(FilePartitionLog, 'open').mockImplementation(async (options) => {
      if (claimedWhenFirstOpened < 0) claimedWhenFirstOpened = await claimed();
      mostAtOnce = Math.max(mostAtOnce, ++opening);
      try {
        return await original(options);
      } finally {
        opening--;
      }
    });
    const takeover = broker({ openConcurrency: 2, fenceGraceMs: 1000 });
    const logs = await Promise.all(
      partitions.map((tp) => takeover.openLog(tp, CONFIG, { epoch: 2 })),
    );
    expect(logs.map((log) => log.epoch)).toEqual(partitions.map(() => 2));
    expect(mostAtOnce).toBe(2);
    // Every claim was installed (its grace begun) before the first grace ended: the graces
    // waited side by side, not two at a time.
    expect(claimedWhenFirstOpened).toBe(partitions.length);
  });

  describe('stale claimers', () => {
    const marker = (epoch: number): string =>
      path.join(dir, `${OWNER_EPOCH_FILE}.${String(epoch).padStart(20, '0')}`);
    /** What a claimer that read an old epoch, then stalled, does late: install its claim. */
    const staleInstall = async (epoch: number): Promise<void> => {
      await writeFile(marker(epoch), '');
      await writeFile(path.join(dir, 'stale.tmp'), `${epoch}\n`);
      await rename(path.join(dir, 'stale.tmp'), path.join(dir, OWNER_EPOCH_FILE));
    };

    it('refuses an epoch below a marker an interrupted claim left', async () => {
      const a = await broker().openLog(TP, CONFIG, { epoch: 2 });
      await a.append(makeBatch());
      await writeFile(marker(5), ''); // a claimer for 5 stopped before installing its claim
      await expect(broker().openLog(TP, CONFIG, { epoch: 4 })).rejects.toMatchObject({
        claimedEpoch: 5,
      });
      const b = await broker().openLog(TP, CONFIG, { epoch: 5, graceMs: 0 });
      expect(await claimedEpoch()).toBe('5');
      await expect(a.append(makeBatch())).rejects.toBeInstanceOf(FencedError);
      expect((await b.append(makeBatch())).baseOffset).toBe(1);
    });

    it('claims again when a stale, lower claim replaced its own during the grace', async () => {
      await (await broker().openLog(TP, CONFIG, { epoch: 1 })).append(makeBatch());
      const claiming = broker().openLog(TP, CONFIG, { epoch: 3, graceMs: 150 });
      await waitFor('the claim', async () => (await claimedEpoch()) === '3');
      await staleInstall(2);
      const b = await claiming;
      expect(await claimedEpoch()).toBe('3');
      expect((await b.append(makeBatch())).baseOffset).toBe(1);
    });

    it('gives up when it finds that it replaced a higher claim', async () => {
      await (await broker().openLog(TP, CONFIG, { epoch: 1 })).append(makeBatch());
      const claiming = broker().openLog(TP, CONFIG, { epoch: 3, graceMs: 150 });
      await waitFor('the claim', async () => (await claimedEpoch()) === '3');
      // A claimer for 4 had installed its claim just before ours overwrote it.
      await writeFile(marker(4), '');
      await expect(claiming).rejects.toMatchObject({ name: 'FencedError', claimedEpoch: 4 });
      // The owner for 4 finds its claim gone and claims again (its epoch is still the highest).
      const owner = await broker().openLog(TP, CONFIG, { epoch: 4, graceMs: 0 });
      expect((await owner.append(makeBatch())).baseOffset).toBe(1);
    });
  });
});
