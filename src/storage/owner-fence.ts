/**
 * Ownership-epoch fencing of a partition log that several processes may open (brokers of one host
 * sharing a data directory). Files in the partition directory:
 *
 *   owner-epoch               the claimed epoch, in decimal, and a newline. Every claim installs a
 *                             new file (write, fsync, rename over, fsync the directory), so the
 *                             path names a new inode after every claim.
 *   owner-epoch.<20 digits>   an empty marker per claimed epoch, made before the claim is
 *                             installed; a claimer removes those below its own once it holds.
 *   owner-epoch.released      the last epoch whose holder released the log cleanly, in decimal:
 *                             written (atomically) by the log object holding that claim, once it
 *                             has closed with every write landed.
 *
 * A log object keeps the claim file it installed open (so that its inode number cannot be reused)
 * and stats the path to check its claim: the same device and inode means the claim is still its
 * own. The stat is synchronous on purpose: on a local file system it is a dentry-cache hit of
 * ~2 µs, where an async stat costs a thread-pool round trip of 20-40 µs; and it leaves no await
 * between the check and the submission of a write. It sees claims made by other processes.
 *
 * Appends (partition-log). A group of appends checks the claim right before its write and again
 * once the write has completed, and is acknowledged only if both pass. So:
 * - An acknowledged write landed before any newer claim was installed. A claimer reads the tail
 *   after installing its claim, so every newer owner has every acknowledged write.
 * - A write that passed the first check can still wait arbitrarily long before it lands (in
 *   libuv's thread pool behind slow fsyncs, on a hung disk, in a process frozen by SIGSTOP or a
 *   VM pause) and then lands at the file position it was given, whatever happened meanwhile. So a
 *   new owner never writes into a file in which an older one may have such a write pending:
 *   unless the claim is a clean hand-over (below), it seals the last segment at the length it
 *   validated, with a seal record (`<base offset>.sealed`, see segment) that every open honours,
 *   by any process and after restarts (bytes past it are never read), and appends to a new
 *   segment file. An empty last segment's file is moved aside instead, and the new segment of the
 *   same base offset gets a new file. The late write is refused by its second check, and lands
 *   past the sealed length or in a file nobody reads; only if it landed before the new owner read
 *   the tail is it part of the log, unacknowledged (its producer retries: as after a lost
 *   response, an idempotent producer's retry is deduplicated, another's may be stored twice).
 * - The first check is what keeps an old owner from writing into a segment file created after
 *   the claim was installed (it checks after creating a segment, before writing into it), which
 *   lets a new owner take over an empty file of the name it wants (partition-log startSegment).
 *
 * The grace. After installing its claim, a claimer waits a grace before it reads the tail.
 * Appends do not depend on it (above). What it bounds is the old owner's writes of whole files by
 * path: index files (written on a roll or a clean close), the clean-shutdown marker, the log start
 * offset checkpoint, deletions by retention. One whose check passed before the claim lands within
 * the grace, before the new owner reads, unless the old owner stalls longer; past the grace it is
 * not prevented, and does this much: an owner writes index files only for its active segment,
 * and only once it holds data, describing bytes that had landed before its check, so below the
 * sealed length (a reader rebuilding a closed segment's indexes writes what that segment holds);
 * every load checks them against the segment's (sealed) length and end offset, and a sealed
 * segment's time index against the recorded max timestamp, and rebuilds what fails; a
 * claimer validates the tail whatever the clean-shutdown marker says (an open without a claim
 * trusts it); a log start offset or deletion applies what the old owner was asked before the
 * claim. Likewise a claimer's own open is not fenced against a claim made meanwhile: a claimer
 * frozen inside its open past the next claimer's grace can cut a torn tail late (after a clean
 * hand-over only; the same cut the next claimer makes) or start a segment file (exclusively:
 * it never replaces one, nor does its seal record replace another).
 *
 * A graceful hand-over skips the grace and the seal. A log object that closes cleanly records its
 * epoch E as released, after its write queue drained and its last writes (indexes, clean-shutdown
 * marker) completed, and only while its claim is still installed; a closing object takes no more
 * writes. A claimer that finds the claim it replaces (read before installing its own) to be E, and
 * E released, waits no grace and appends to the last segment, because no write can land after it
 * reads the tail:
 * - E's holder has nothing in flight and writes nothing more (the record says so, and an epoch is
 *   claimed at most once per log: a claim must be above the installed one, so no other object
 *   ever holds E);
 * - the owners before E cannot either: E's own claim waited the grace and sealed, or skipped both
 *   by this same rule, before E read the tail, so their writes had landed or could only land
 *   where nobody reads;
 * - a claimer between E and this one could have installed its claim and written after E was
 *   read. Every claimer makes its marker before installing, so this claimer looks again once its
 *   own claim is installed: a marker above E and below its epoch means such a claimer may exist,
 *   and it waits the grace and seals after all. One that installs later than that look replaces
 *   a claim whose marker is above its own, finds that marker after installing, and gives up
 *   without writing (below).
 * A killed owner leaves no record, so its successor waits the grace and seals. A claim on a log
 * whose directory did not exist yet does neither: nobody can have had it open (file-store).
 *
 * Renames are not conditional, so a stale claimer (one that read the old epoch, then stalled past
 * a newer claim) could put its lower epoch back. The markers catch it: after its grace, a claimer
 * that finds a marker above its epoch gives up, and one that finds its claim replaced by a lower
 * one installs its own again.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { open, readdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno, readFileIfExists, writeFileAtomically } from './file-io.js';
import type { StorageLogger } from './logger.js';
import { FencedError, type TopicPartition } from './types.js';

export const OWNER_EPOCH_FILE = 'owner-epoch';
export const RELEASED_EPOCH_FILE = `${OWNER_EPOCH_FILE}.released`;
const MARKER_NAME = /^owner-epoch\.(\d{20})$/;
/** Claim rounds before a claim that keeps being overwritten by lower epochs gives up. */
const MAX_CLAIM_ROUNDS = 3;

interface ClaimFile {
  readonly handle: FileHandle;
  readonly dev: bigint;
  readonly ino: bigint;
}

export class OwnerFence {
  private superseded: FencedError | null = null;
  private released = false;

  private constructor(
    private readonly file: string,
    private readonly topicPartition: TopicPartition,
    /** 0 for a log opened without a claim. */
    readonly epoch: number,
    /** The claim file this fence installed; null without a claim (no claim file must exist). */
    private readonly claimFile: ClaimFile | null,
    /**
     * The claim replaced one released cleanly (see the header): no write of an earlier owner can
     * land any more. False for any other claim, and without a claim.
     */
    readonly handedOver = false,
  ) {}

  /** For a log opened without a claim: it may write while nobody has claimed the log. */
  static async unclaimed(dir: string, topicPartition: TopicPartition): Promise<OwnerFence> {
    const file = path.join(dir, OWNER_EPOCH_FILE);
    const fence = new OwnerFence(file, topicPartition, 0, null);
    if ((await statIfExists(file)) !== null) fence.supersede(await readClaimedEpoch(file));
    return fence;
  }

  /**
   * Claims the log in `dir` for `epoch`: refuses (FencedError) unless `epoch` is above the
   * installed claim and not below any marker; installs the claim; waits `graceMs` (none when
   * the claim it replaced was released cleanly, see the header); checks that
   * the claim still holds and that no higher claim came first.
   */
  static async claim(
    dir: string,
    topicPartition: TopicPartition,
    epoch: number,
    graceMs: number,
    logger: StorageLogger,
    logFields: Readonly<Record<string, unknown>>,
    /** How the grace is waited out (the store frees its open slot meanwhile). */
    wait: (ms: number) => Promise<unknown> = sleep,
  ): Promise<OwnerFence> {
    const file = path.join(dir, OWNER_EPOCH_FILE);
    for (let round = 1; ; round++) {
      const [installed, highest, released] = await Promise.all([
        readClaimedEpoch(file),
        highestMarker(dir),
        readClaimedEpoch(path.join(dir, RELEASED_EPOCH_FILE)),
      ]);
      if (installed === null) {
        logger.warn({ ...logFields, file }, 'unreadable owner epoch file; trusting the markers');
      }
      if (epoch < highest || (installed !== null && epoch <= installed)) {
        throw new FencedError(topicPartition, epoch, Math.max(installed ?? 0, highest));
      }
      await writeFile(path.join(dir, markerName(epoch)), '');
      await writeFileAtomically(file, `${epoch}\n`, `${file}.${randomUUID()}.tmp`);
      let fence: OwnerFence | null = null;
      try {
        // The previous owner released the log cleanly: nothing of it can land any more (header).
        const handedOver =
          installed !== null &&
          installed > 0 &&
          released === installed &&
          !(await markers(dir)).some((m) => m.epoch > installed && m.epoch < epoch);
        fence = await OwnerFence.adopt(file, topicPartition, epoch, handedOver);
        const grace = handedOver ? 0 : graceMs;
        if (grace > 0) await wait(grace);
        fence.check();
        const higher = await highestMarker(dir);
        if (higher > epoch) throw fence.supersede(higher);
        await pruneMarkers(dir, epoch);
        logger.info(
          {
            ...logFields,
            epoch,
            previousEpoch: installed,
            previousReleased: handedOver,
            graceMs: grace,
          },
          'claimed log ownership',
        );
        return fence;
      } catch (err) {
        await fence?.release();
        const overwrittenByStale =
          err instanceof FencedError && err.claimedEpoch !== null && err.claimedEpoch < epoch;
        if (!overwrittenByStale || round === MAX_CLAIM_ROUNDS) throw err;
        logger.warn(
          { ...logFields, epoch, claimedEpoch: err.claimedEpoch },
          'a stale claim replaced ours; claiming again',
        );
      }
    }
  }

  /** The error every write gets once this fence has found its claim superseded. */
  get fenced(): FencedError | null {
    return this.superseded;
  }

  /** Fences for good; returns the error writes get from now on. */
  supersede(claimedEpoch: number | null): FencedError {
    this.superseded ??= new FencedError(this.topicPartition, this.epoch, claimedEpoch);
    return this.superseded;
  }

  /**
   * Returns if the claim on disk is still this fence's, else throws FencedError (and stays
   * fenced). One synchronous stat of the claim file; reading it only on the way to fencing.
   */
  check(): void {
    if (this.superseded) throw this.superseded;
    const current = statSync(this.file, { bigint: true, throwIfNoEntry: false });
    const own = this.claimFile;
    const holds =
      own === null ? current === undefined : current?.ino === own.ino && current.dev === own.dev;
    if (!holds) throw this.supersede(readClaimedEpochNow(this.file));
  }

  /**
   * Records that this claim was released cleanly, so that the next claimer may skip its grace
   * (see the header). The caller guarantees that nothing it wrote is in flight and that it
   * writes nothing more. Only while the claim is still this fence's; false when it is not.
   */
  async markReleased(): Promise<boolean> {
    if (this.claimFile === null || this.released) return false;
    try {
      this.check();
    } catch (err) {
      if (err instanceof FencedError) return false;
      throw err;
    }
    // A newer claim installed after the check is harmless: the record names this epoch, which
    // is then no longer the installed one, so no claimer trusts it.
    const dir = path.dirname(this.file);
    const releasedFile = path.join(dir, RELEASED_EPOCH_FILE);
    await writeFileAtomically(
      releasedFile,
      `${this.epoch}\n`,
      `${releasedFile}.${randomUUID()}.tmp`,
    );
    return true;
  }

  /** Lets the claim file go (the log closed). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.claimFile?.handle.close();
  }

  /** Opens the claim just installed; FencedError when another claim already replaced it. */
  private static async adopt(
    file: string,
    topicPartition: TopicPartition,
    epoch: number,
    handedOver: boolean,
  ): Promise<OwnerFence> {
    const handle = await open(file, 'r');
    try {
      const { dev, ino } = await handle.stat({ bigint: true });
      const found = parseEpoch(await handle.readFile('utf8'));
      if (found !== epoch) throw new FencedError(topicPartition, epoch, found);
      return new OwnerFence(file, topicPartition, epoch, { handle, dev, ino }, handedOver);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
}

/** The epoch in the claim file: 0 when there is none, null when it is unreadable. */
export async function readClaimedEpoch(file: string): Promise<number | null> {
  const contents = await readFileIfExists(file);
  return contents === null ? 0 : parseEpoch(contents.toString('utf8'));
}

function readClaimedEpochNow(file: string): number | null {
  try {
    return parseEpoch(readFileSync(file, 'utf8'));
  } catch (err) {
    return isErrno(err, 'ENOENT') ? 0 : null;
  }
}

function parseEpoch(text: string): number | null {
  if (!/^\d{1,16}\n?$/.test(text)) return null;
  const epoch = Number(text.trim());
  return Number.isSafeInteger(epoch) ? epoch : null;
}

function markerName(epoch: number): string {
  return `${OWNER_EPOCH_FILE}.${String(epoch).padStart(20, '0')}`;
}

async function markers(dir: string): Promise<{ name: string; epoch: number }[]> {
  const found: { name: string; epoch: number }[] = [];
  for (const name of await readdir(dir)) {
    const match = MARKER_NAME.exec(name);
    if (match) found.push({ name, epoch: Number(match[1]) });
  }
  return found;
}

async function highestMarker(dir: string): Promise<number> {
  return (await markers(dir)).reduce((max, m) => Math.max(max, m.epoch), 0);
}

async function pruneMarkers(dir: string, below: number): Promise<void> {
  for (const { name, epoch } of await markers(dir)) {
    if (epoch >= below) continue;
    try {
      await unlink(path.join(dir, name));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
}

async function statIfExists(file: string): Promise<{ dev: bigint; ino: bigint } | null> {
  try {
    return await stat(file, { bigint: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}
