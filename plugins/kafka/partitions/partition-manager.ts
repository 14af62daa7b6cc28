/**
 * The partitions this broker owns: their logs, opened with the topic's settings and claimed for
 * the ownership epoch (a broker with an older epoch can no longer append), and their
 * idempotent-producer state. Appends are checked and given their offsets in call order, then
 * handed to the log without waiting for the previous write, so the log can group writes and
 * fsyncs; the log keeps call order, so the offsets agree.
 */
import {
  batchHeader,
  FencedError,
  Limiter,
  type ClusterView,
  type Logger,
  type MessageStore,
  type PartitionLog,
  type TopicRegistry,
} from '../../../src/api/index.js';
import { ProducerStateTable } from '../producer/index.js';
import { readBatchInfos, type BatchInfo } from '../records/index.js';
import { logConfigOf } from '../topics/topic-configs.js';

/** How far back from the log end producer state is rebuilt when a partition is opened. */
const PRODUCER_STATE_REPLAY_OFFSETS = 10_000;
const REPLAY_READ_BYTES = 4 * 1024 * 1024;
/**
 * Most partitions replaying their producer state at once (reads of up to REPLAY_READ_BYTES each):
 * a broker taking over many partitions must not read all their tails at once. The store bounds
 * its own part of an open (claim, tail validation) separately, graces aside.
 */
export const DEFAULT_REPLAY_CONCURRENCY = 8;

export interface PartitionManagerOptions {
  /** Default DEFAULT_REPLAY_CONCURRENCY. */
  replayConcurrency?: number;
}

export interface Partition {
  readonly topic: string;
  readonly index: number;
  readonly log: PartitionLog;
  readonly producers: ProducerStateTable;
  /** The ownership epoch this broker serves the partition under (Kafka's leader epoch). */
  readonly epoch: number;
  /** The offset the next append gets; runs ahead of the log while writes are in flight. */
  nextOffset: number;
  /** Settles when every append handed out so far has settled. */
  lastAppend: Promise<unknown>;
  /** Set when a write failed or ownership moved: no more appends through this object. */
  closed: boolean;
  /** Aborted when ownership moves away, so long polls on the partition answer at once. */
  readonly movedAway: AbortController;
}

/** The partition moved to another broker (or failed) while a request for it was in flight. */
export class PartitionUnavailableError extends Error {
  constructor() {
    super('the partition is no longer served by this broker');
    this.name = 'PartitionUnavailableError';
  }
}

export type AppendOutcome =
  | { kind: 'appended'; baseOffset: number; logStartOffset: number }
  | { kind: 'duplicate'; baseOffset: number; logStartOffset: number }
  | { kind: 'rejected'; errorCode: number };

export class PartitionManager {
  private readonly partitions = new Map<string, Promise<Partition>>();
  /** The partitions of `partitions` whose opening has finished: what this broker serves now. */
  private readonly opened = new Map<string, Partition>();
  /** Topics whose logs are being removed: nothing may open them meanwhile. */
  private readonly deleting = new Set<string>();
  private readonly replays: Limiter;

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicRegistry,
    private readonly cluster: ClusterView,
    private readonly logger: Logger,
    options: PartitionManagerOptions = {},
  ) {
    this.replays = new Limiter(options.replayConcurrency ?? DEFAULT_REPLAY_CONCURRENCY);
  }

  /** True when the topic exists (and is not being deleted) and has this partition. */
  exists(topic: string, index: number): boolean {
    const metadata = this.topics.get(topic);
    return (
      metadata !== undefined &&
      !this.deleting.has(topic) &&
      index >= 0 &&
      index < metadata.partitions
    );
  }

  /**
   * The partition if this broker owns it, opened and claimed if needed; null when the topic has
   * no such partition, is being deleted, or another broker owns it.
   */
  get(topic: string, index: number): Promise<Partition> | null {
    if (!this.exists(topic, index)) return null;
    // ownsNow too: after 'lost' the owner node still names this broker until it is deleted,
    // and a log closed by `lost` must not be opened again under the old epoch meanwhile.
    const owner = this.cluster.ownerOf({ topic, partition: index });
    if (!owner || owner.brokerId !== this.cluster.brokerId) return null;
    if (!this.cluster.ownsNow({ topic, partition: index })) return null;
    const key = keyOf(topic, index);
    let partition = this.partitions.get(key);
    if (!partition) {
      const opening = this.open(topic, index, this.topics.get(topic)!.configs, owner.epoch);
      this.partitions.set(key, opening);
      opening.then(
        (opened) => {
          if (this.partitions.get(key) === opening) this.opened.set(key, opened);
        },
        () => undefined,
      );
      opening.catch((err: unknown) => {
        if (err instanceof FencedError) {
          // Usually ownership moving on (a newer owner claimed the log meanwhile). But a claim
          // at or past our epoch while we hold it may be the data directory outliving the
          // metadata store's epochs: the cluster checks, and then moves the epoch past it
          // (in the background: this is no metadata round trip for the request that opened).
          this.logger.debug({ topic, partition: index, err }, 'claim refused while opening');
          if (err.claimedEpoch !== null && err.claimedEpoch >= err.epoch)
            this.cluster.claimRefused({ topic, partition: index }, err.epoch, err.claimedEpoch);
        } else this.logger.error({ err, topic, partition: index }, 'partition failed to open');
        this.forget(key, opening);
      });
      partition = opening;
    }
    return partition;
  }

  /**
   * This broker gained the partition under `epoch`: open and claim it now, so recovery runs
   * before traffic. A partition still cached under an older epoch (lost and regained) is
   * dropped first, so it is claimed again under the new one.
   */
  gained(topic: string, index: number, epoch: number): void {
    const key = keyOf(topic, index);
    const cached = this.partitions.get(key);
    if (cached) {
      this.partitions.delete(key);
      this.opened.delete(key);
      void cached.then(
        (partition) => {
          partition.closed = true;
        },
        () => undefined,
      );
    }
    const opening = this.get(topic, index);
    opening?.then(
      (partition) => {
        if (partition.epoch !== epoch)
          this.logger.warn(
            { topic, partition: index, epoch, opened: partition.epoch },
            'partition opened under another epoch',
          );
      },
      () => undefined,
    );
  }

  /**
   * This broker lost the partition: no more appends through it; in-flight writes settle, then
   * the log closes, which tells the next owner (through the store) that it need not wait out the
   * fence grace.
   */
  async lost(topic: string, index: number): Promise<void> {
    const key = keyOf(topic, index);
    const open = this.partitions.get(key);
    this.partitions.delete(key);
    this.opened.delete(key);
    const partition = await open?.catch(() => undefined);
    if (!partition) return;
    partition.closed = true;
    partition.movedAway.abort();
    await partition.lastAppend;
    await partition.log.close();
  }

  /** Appends one validated batch, unless the producer state says it is a duplicate or out of order. */
  append(partition: Partition, records: Buffer, batch: BatchInfo): Promise<AppendOutcome> {
    if (partition.closed) return Promise.reject(new PartitionUnavailableError());
    const verdict = partition.producers.check(batch);
    if (verdict.kind === 'error')
      return Promise.resolve({ kind: 'rejected', errorCode: verdict.errorCode });
    if (verdict.kind === 'duplicate') {
      // The original may still be in flight: answer once it is written.
      return partition.lastAppend.then(() => ({
        kind: 'duplicate',
        baseOffset: verdict.baseOffset,
        logStartOffset: partition.log.logStartOffset(),
      }));
    }
    const baseOffset = partition.nextOffset;
    partition.nextOffset += batch.lastOffsetDelta + 1;
    partition.producers.onAppended(batch, baseOffset);
    // Kafka stamps each batch with the leader epoch it was written under (KIP-101); clients use
    // it to check their position after the leader changes (KIP-320). Outside the CRC'd range.
    records.writeInt32BE(partition.epoch, batch.position + batchHeader.PARTITION_LEADER_EPOCH);
    const appending = partition.log.append(records).then((result): AppendOutcome => {
      if (result.baseOffset !== baseOffset) {
        throw new Error(`log assigned offset ${result.baseOffset}, expected ${baseOffset}`);
      }
      return { kind: 'appended', baseOffset, logStartOffset: result.logStartOffset };
    });
    partition.lastAppend = appending.catch((err: unknown) => {
      // Offsets and producer state no longer match the log: start over from the log.
      if (!partition.closed)
        this.logger.warn(
          { err, topic: partition.topic, partition: partition.index },
          'append failed',
        );
      partition.closed = true;
      this.forget(keyOf(partition.topic, partition.index));
    });
    return appending;
  }

  /** Forgets idempotent producers silent for longer than Kafka's producer.id.expiration.ms. */
  async expireProducers(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const open of this.partitions.values()) {
      const partition = await open.catch(() => undefined);
      if (partition) removed += partition.producers.removeExpired(now);
    }
    return removed;
  }

  /**
   * Removes a topic's logs. Until `done` runs, the topic's partitions cannot be opened, so a
   * produce racing the deletion fails instead of writing into a log about to vanish.
   */
  async dropTopic(topic: string, partitionCount: number, done: () => Promise<void>): Promise<void> {
    this.deleting.add(topic);
    try {
      for (let index = 0; index < partitionCount; index++) {
        await this.lost(topic, index);
        await this.store.deleteLog({ topic, partition: index });
      }
      await done();
    } finally {
      this.deleting.delete(topic);
    }
  }

  /** The partitions open and served now (not those still opening, nor those given up). */
  *served(): Iterable<Partition> {
    for (const partition of this.opened.values()) if (!partition.closed) yield partition;
  }

  private forget(key: string, expected?: Promise<Partition>): void {
    if (expected === undefined || this.partitions.get(key) === expected) {
      this.partitions.delete(key);
      this.opened.delete(key);
    }
  }

  private async open(
    topic: string,
    index: number,
    configs: Record<string, string>,
    epoch: number,
  ): Promise<Partition> {
    const tp = { topic, partition: index };
    // The claim makes a broker with an older epoch unable to append to this log, and lets this
    // one see everything written before it.
    const log = await this.store.openLog(tp, logConfigOf(configs), { epoch });
    const producers = new ProducerStateTable();
    await this.replays.run(async () => {
      await replayProducerState(log, producers);
      await this.cluster.recordEpochStart(tp, epoch, log.logEndOffset());
    });
    this.logger.debug(
      { topic, partition: index, epoch, logEndOffset: log.logEndOffset() },
      'partition opened',
    );
    return {
      topic,
      index,
      log,
      producers,
      epoch,
      nextOffset: log.logEndOffset(),
      lastAppend: Promise.resolve(),
      closed: false,
      movedAway: new AbortController(),
    };
  }
}

function keyOf(topic: string, index: number): string {
  return `${topic}\u0000${index}`;
}

/**
 * Rebuilds idempotent-producer state from the batch headers of the log's tail, so that a producer
 * that goes on after a change of owner or a restart is neither rejected nor duplicated.
 */
async function replayProducerState(
  log: PartitionLog,
  producers: ProducerStateTable,
): Promise<void> {
  let offset = Math.max(log.logStartOffset(), log.logEndOffset() - PRODUCER_STATE_REPLAY_OFFSETS);
  while (offset < log.logEndOffset()) {
    const { records } = await log.read(offset, REPLAY_READ_BYTES, true);
    const batches = [...readBatchInfos(records)];
    producers.rebuildFromBatches(batches);
    const last = batches.at(-1);
    if (!last) break;
    offset = last.baseOffset + last.lastOffsetDelta + 1;
  }
}
