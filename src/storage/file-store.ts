/**
 * The durable embedded message store: one directory of segment files per partition under
 * `dataDir` (see topic-dirs for the naming), opened on demand. The store owns what its logs share:
 * config defaults, the logger, and the memory budgets of tail caches and closed-segment indexes.
 * Several stores (brokers of one host, in one process or several) may share a data directory:
 * the owner of a partition opens its log with a claim, which fences everyone else (owner-fence).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isErrno } from './file-io.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { Limiter } from './limiter.js';
import { DEFAULT_LOG_CONFIG, resolveLogConfig } from './log-config.js';
import { silentLogger, type StorageLogger } from './logger.js';
import { MemoryBudget } from './memory-budget.js';
import { OwnerFence } from './owner-fence.js';
import { FilePartitionLog } from './partition-log.js';
import { TailCache } from './tail-cache.js';
import { logDir, partitionFromDirName, partitionKey, topicFromDirName } from './topic-dirs.js';
import {
  FencedError,
  LogClosedError,
  type LogClaim,
  type LogConfig,
  type MessageStore,
  type PartitionLog,
  type TopicPartition,
} from './types.js';

export { DEFAULT_LOG_CONFIG };

const MiB = 1024 * 1024;

/**
 * How long a claim waits, by default, between recording itself and reading the log's tail, unless
 * it takes over from a clean release. Appends do not depend on it: a superseded owner acknowledges
 * no write that completed after the claim, and the new owner seals the last segment and appends
 * to a new file (owner-fence). It gives the superseded owner's whole-file writes whose check
 * passed just before the claim (index files, the clean-shutdown marker, the log start offset,
 * retention's deletions) time to land before the tail is read: the longest it may take from a
 * check to the end of that write (a GC pause, a busy event loop, libuv's thread pool queued
 * behind slow fsyncs of other logs). Two seconds is far beyond that in normal operation and short
 * against ownership changes (ZooKeeper session timeouts are several seconds); a process frozen for
 * longer is not covered for those writes (owner-fence says what they can do). Skipped for a log
 * whose directory did not exist, which nobody can have had open.
 */
export const DEFAULT_FENCE_GRACE_MS = 2000;

/**
 * How many logs open at once (claim, tail validation, segment files). A broker taking over many
 * partitions at once (another one died) would otherwise queue all that I/O in libuv's thread
 * pool at once, ahead of the appends of the logs it already serves. The claims' graces are
 * waited outside this bound, so they overlap: a hundred partitions still take about one grace.
 */
export const DEFAULT_OPEN_CONCURRENCY = 8;

export interface FileMessageStoreOptions {
  dataDir: string;
  /** Store-wide log settings; openLog's config overrides them per log. */
  defaults?: Partial<LogConfig>;
  logger?: StorageLogger;
  /** Recent batches kept in memory for tail reads, all logs together. Default 64 MiB. */
  tailCacheBytes?: number;
  /** The most one log's tail cache holds. Default 4 MiB. */
  tailCacheBytesPerLog?: number;
  /** Memory for the indexes of closed segments, all logs together. Default 64 MiB. */
  indexCacheBytes?: number;
  /** Wall clock, ms (segment age, retention); tests pass a fake one. */
  clock?: () => number;
  /** The default of LogClaim.graceMs, ms. Default DEFAULT_FENCE_GRACE_MS (2 s). */
  fenceGraceMs?: number;
  /** Most logs opening at once, graces aside. Default DEFAULT_OPEN_CONCURRENCY. */
  openConcurrency?: number;
}

/** An open (or opening) log and the epoch it was claimed for (0: no claim). */
interface LogEntry {
  readonly epoch: number;
  readonly opening: Promise<FilePartitionLog>;
}

export class FileMessageStore implements MessageStore {
  readonly dataDir: string;
  private readonly defaults: LogConfig;
  private readonly logger: StorageLogger;
  private readonly clock: () => number;
  private readonly tailBudget: MemoryBudget;
  private readonly tailBytesPerLog: number;
  private readonly indexBudget: MemoryBudget;
  private readonly fenceGraceMs: number;
  private readonly opens: Limiter;
  private readonly logs = new Map<string, LogEntry>();
  private readonly deletions = new Map<string, Promise<void>>();
  private closing: Promise<void> | null = null;

  constructor(options: FileMessageStoreOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.defaults = resolveLogConfig(options.defaults);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
    this.tailBudget = new MemoryBudget(options.tailCacheBytes ?? 64 * MiB);
    this.tailBytesPerLog = options.tailCacheBytesPerLog ?? 4 * MiB;
    this.indexBudget = new MemoryBudget(options.indexCacheBytes ?? 64 * MiB);
    this.fenceGraceMs = options.fenceGraceMs ?? DEFAULT_FENCE_GRACE_MS;
    checkGrace(this.fenceGraceMs);
    this.opens = new Limiter(options.openConcurrency ?? DEFAULT_OPEN_CONCURRENCY);
  }

  openLog(
    tp: TopicPartition,
    config?: Partial<LogConfig>,
    claim?: LogClaim,
  ): Promise<PartitionLog> {
    if (this.closing) return Promise.reject(new LogClosedError());
    try {
      if (claim) checkClaim(claim);
    } catch (err) {
      return Promise.reject(err);
    }
    const key = partitionKey(tp);
    const existing = this.logs.get(key);
    if (existing && (!claim || claim.epoch === existing.epoch)) return existing.opening;
    if (existing && claim && claim.epoch < existing.epoch) {
      return Promise.reject(new FencedError(tp, claim.epoch, existing.epoch));
    }
    const forget = (): void => {
      if (this.logs.get(key) === entry) this.logs.delete(key);
    };
    const entry: LogEntry = {
      epoch: claim?.epoch ?? 0,
      opening: this.openNew(tp, config, claim, existing, forget),
    };
    this.logs.set(key, entry);
    entry.opening.catch(forget);
    return entry.opening;
  }

  async listLogs(): Promise<TopicPartition[]> {
    const found: TopicPartition[] = [];
    for (const topicDir of await readDirs(this.dataDir)) {
      const topic = topicFromDirName(topicDir);
      if (topic === null) continue;
      for (const partitionDir of await readDirs(path.join(this.dataDir, topicDir))) {
        const partition = partitionFromDirName(partitionDir);
        if (partition !== null) found.push({ topic, partition });
      }
    }
    return found.sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
  }

  deleteLog(tp: TopicPartition): Promise<void> {
    if (this.closing) return Promise.reject(new LogClosedError());
    const key = partitionKey(tp);
    const previous = this.deletions.get(key) ?? Promise.resolve();
    const deletion = previous.catch(() => undefined).then(() => this.deleteNow(tp, key));
    this.deletions.set(key, deletion);
    const forget = (): void => {
      if (this.deletions.get(key) === deletion) this.deletions.delete(key);
    };
    deletion.then(forget, forget);
    return deletion;
  }

  async enforceRetention(now?: number): Promise<void> {
    const errors: unknown[] = [];
    for (const { opening } of [...this.logs.values()]) {
      try {
        await (await opening).enforceRetention(now);
      } catch (err) {
        // Closed or deleted meanwhile, or another owner's now.
        if (err instanceof LogClosedError || err instanceof FencedError) continue;
        this.logger.error({ err }, 'log retention failed');
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'retention failed for some logs');
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  /**
   * Opens a log object; with a claim, after fencing and closing `previous` (this store's object
   * under an older epoch, whose queued writes then finish or fail) and claiming the log on disk.
   */
  private async openNew(
    tp: TopicPartition,
    overrides: Partial<LogConfig> | undefined,
    claim: LogClaim | undefined,
    previous: LogEntry | undefined,
    onClosed: () => void,
  ): Promise<FilePartitionLog> {
    const config = resolveLogConfig(this.defaults, overrides);
    const topicPartition = { topic: tp.topic, partition: tp.partition };
    const old = await previous?.opening.catch(() => null);
    if (old && claim) {
      old.supersede(claim.epoch);
      await old.close().catch((err: unknown) => {
        this.logger.error({ ...topicPartition, err }, 'closing a superseded log failed');
      });
    }
    await this.deletions.get(partitionKey(tp))?.catch(() => undefined);
    return this.opens.run(async (slot) => {
      const dir = logDir(this.dataDir, tp);
      const fresh = !(await exists(dir));
      await makeDir(dir);
      const fence = claim
        ? await OwnerFence.claim(
            dir,
            topicPartition,
            claim.epoch,
            fresh ? 0 : (claim.graceMs ?? this.fenceGraceMs),
            this.logger,
            topicPartition,
            // The grace only waits: other logs may open meanwhile.
            (ms) => slot.outside(() => sleep(ms)),
          )
        : await OwnerFence.unclaimed(dir, topicPartition);
      try {
        return await FilePartitionLog.open({
          dir,
          topicPartition,
          config,
          logger: this.logger,
          clock: this.clock,
          indexBudget: this.indexBudget,
          tailCache: new TailCache(this.tailBudget, this.tailBytesPerLog),
          fence,
          recoverTail: claim !== undefined,
          // Unless a clean hand-over, the previous owner may still have a write in flight.
          sealTail: claim !== undefined && !fresh && !fence.handedOver,
          onClosed,
        });
      } catch (err) {
        await fence.release();
        throw err;
      }
    });
  }

  private async deleteNow(tp: TopicPartition, key: string): Promise<void> {
    const opening = this.logs.get(key)?.opening;
    this.logs.delete(key);
    const log = await opening?.catch(() => null);
    await log?.shutdown(false);
    const dir = logDir(this.dataDir, tp);
    // Renamed first so that a crash halfway never leaves a partial log that listLogs reports.
    const doomed = path.join(path.dirname(dir), `.${path.basename(dir)}.deleted-${randomUUID()}`);
    try {
      await rename(dir, doomed);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    await rm(doomed, { recursive: true, force: true });
    try {
      await rmdir(path.dirname(dir));
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST') && !isErrno(err, 'ENOENT'))
        throw err;
    }
    this.logger.info({ topic: tp.topic, partition: tp.partition }, 'deleted log');
  }

  private async closeNow(): Promise<void> {
    const results = await Promise.allSettled(
      [...this.logs.values()].map(async ({ opening }) => {
        const log = await opening.catch(() => null); // a failed open has nothing to close
        await log?.close();
      }),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    for (const err of errors) this.logger.error({ err }, 'closing a log failed');
    if (errors.length > 0) throw new AggregateError(errors, 'some logs did not close cleanly');
  }
}

function checkClaim(claim: LogClaim): void {
  if (!Number.isSafeInteger(claim.epoch) || claim.epoch < 1) {
    throw new RangeError(`owner epoch must be a positive safe integer, got ${claim.epoch}`);
  }
  if (claim.graceMs !== undefined) checkGrace(claim.graceMs);
}

function checkGrace(graceMs: number): void {
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new RangeError(`fence grace must be a finite number of ms >= 0, got ${graceMs}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Names of the subdirectories of `dir`; none when it does not exist. */
async function readDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** mkdir -p that survives deleteLog removing an empty topic directory at the same moment. */
async function makeDir(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dir, { recursive: true });
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') || attempt === 3) throw err;
    }
  }
}
