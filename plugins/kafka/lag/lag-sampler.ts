/**
 * Each coordinator's lag samples of the groups it serves. Every `intervalMs` it reads, in one
 * call of the positions reader (one request per partition owner), the log end offset of every
 * partition its groups have committed offsets on, and the timestamp of the batch at each
 * committed offset; then, per group and partition:
 *   lag        = max(0, log end offset - committed offset)
 *   lagSeconds = 0 when lag is 0, else (sample time - that batch's first timestamp) / 1000, >= 0.
 * The next sample starts `intervalMs` after the previous one ended, so samples never overlap (a
 * slow owner is bounded by the reader's peer timeout). Samples are kept only for groups the
 * coordinator still serves, and read only while it does.
 */
import type { GroupPartitionLag, GroupLagView, LogPositions, LogPositionsReader } from './types.js';
import type { HeldGroup, HeldGroups } from './held-groups.js';

export interface LagSamplerLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LagSamplerOptions {
  groups: HeldGroups;
  positions: LogPositionsReader;
  /** The full topic name for a topic as clients committed it. */
  fullTopicName(topic: string): string;
  intervalMs: number;
  logger: LagSamplerLogger;
  /** Wall clock, ms: the sample time. */
  now?: () => number;
}

/** The longest stop() waits for a sample in progress; its result is dropped anyway. */
const STOP_WAIT_MS = 1000;

interface GroupSample {
  /** The group object sampled: a group lost and loaded again is another object. */
  readonly group: HeldGroup;
  readonly lags: GroupPartitionLag[];
  /** By topic as clients named it, then partition. */
  readonly byPartition: Map<string, Map<number, GroupPartitionLag>>;
}

/** A committed offset to sample, with the query key of its partition. */
interface Committed {
  topic: string;
  fullTopic: string;
  partition: number;
  offset: number;
  key: string;
}

/**
 * The lag of one partition from its owner's answer at `sampledAt`. Unknown (nulls) when the
 * owner could not tell, or the committed offset is negative (no position); lagSeconds alone is
 * unknown when no batch holds the committed offset (below the log start: retention deleted it).
 */
export function partitionLag(
  committedOffset: number,
  positions: LogPositions | undefined,
  sampledAt: number,
): Pick<GroupPartitionLag, 'logEndOffset' | 'lag' | 'lagSeconds'> {
  const logEndOffset = positions?.error === undefined ? positions?.logEndOffset : undefined;
  if (logEndOffset === undefined) return { logEndOffset: null, lag: null, lagSeconds: null };
  if (committedOffset < 0) return { logEndOffset, lag: null, lagSeconds: null };
  const lag = Math.max(0, logEndOffset - committedOffset);
  if (lag === 0) return { logEndOffset, lag, lagSeconds: 0 };
  const timestamp = positions?.timestamps?.[String(committedOffset)];
  const lagSeconds =
    timestamp === undefined || timestamp === null
      ? null
      : Math.max(0, (sampledAt - timestamp) / 1000);
  return { logEndOffset, lag, lagSeconds };
}

export class LagSampler implements GroupLagView {
  private samples = new Map<string, GroupSample>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: LagSamplerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Samples every intervalMs from now on, the first one intervalMs from now. */
  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.schedule();
  }

  /** Stops sampling; a sample in progress is waited for briefly and its result dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.samples.clear();
    const running = this.running;
    if (running) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        running,
        new Promise<void>((resolve) => (timeout = setTimeout(resolve, STOP_WAIT_MS))),
      ]);
      clearTimeout(timeout);
    }
  }

  /** Takes a sample now, or joins the one in progress (samples never overlap). */
  sample(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.takeSample()
      .catch((err: unknown) => this.options.logger.warn({ err }, 'consumer lag sample failed'))
      .finally(() => (this.running = null));
    return this.running;
  }

  lagOf(groupId: string): GroupPartitionLag[] | undefined {
    return this.current(groupId)?.lags;
  }

  /**
   * The sampled lag of a group the coordinator holds on a partition (topic as clients named it);
   * undefined unless this very group object was sampled (not a group lost and loaded again).
   */
  partitionLagOf(
    group: HeldGroup,
    topic: string,
    partition: number,
  ): GroupPartitionLag | undefined {
    const sample = this.samples.get(group.groupId);
    return sample?.group === group ? sample.byPartition.get(topic)?.get(partition) : undefined;
  }

  private current(groupId: string): GroupSample | undefined {
    const sample = this.samples.get(groupId);
    if (sample === undefined) return undefined;
    // Lost since the sample (the partition moved, the group was deleted): not ours to show.
    return this.options.groups.heldGroup(groupId) === sample.group ? sample : undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sample().finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async takeSample(): Promise<void> {
    const { groups, positions, fullTopicName, logger } = this.options;
    const held = [...groups.heldGroups()];
    // One query per partition, asking timestamps at every offset committed on it.
    const queries = new Map<string, { topic: string; partition: number; offsets: Set<number> }>();
    const committedOf = new Map<HeldGroup, Committed[]>();
    for (const group of held) {
      const committed: Committed[] = [];
      for (const { topic, partition, record } of group.offsets.all()) {
        const fullTopic = fullTopicName(topic);
        const key = `${fullTopic}\u0000${partition}`;
        let query = queries.get(key);
        if (query === undefined) {
          query = { topic: fullTopic, partition, offsets: new Set() };
          queries.set(key, query);
        }
        if (record.offset >= 0) query.offsets.add(record.offset);
        committed.push({ topic, fullTopic, partition, offset: record.offset, key });
      }
      committedOf.set(group, committed);
    }
    const asked = [...queries.values()].map(({ topic, partition, offsets }) => ({
      topic,
      partition,
      timestampsAt: [...offsets],
    }));
    const answers = asked.length === 0 ? [] : await positions.read(asked);
    const sampledAt = this.now();
    if (this.stopped) return;
    const byKey = new Map<string, LogPositions>();
    let unknown = 0;
    for (const answer of answers) {
      byKey.set(`${answer.topic}\u0000${answer.partition}`, answer);
      if (answer.error !== undefined) unknown++;
    }
    if (unknown > 0) {
      logger.debug(
        { partitions: unknown, example: answers.find((a) => a.error)?.error },
        'lag sample: some partitions had no positions',
      );
    }
    const next = new Map<string, GroupSample>();
    for (const group of held) {
      // Lost while the positions were read: not sampled.
      if (groups.heldGroup(group.groupId) !== group) continue;
      const lags: GroupPartitionLag[] = [];
      const byPartition = new Map<string, Map<number, GroupPartitionLag>>();
      for (const c of committedOf.get(group)!) {
        const lag: GroupPartitionLag = {
          topic: c.fullTopic,
          partition: c.partition,
          committedOffset: c.offset,
          ...partitionLag(c.offset, byKey.get(c.key), sampledAt),
          sampledAt,
        };
        lags.push(lag);
        let partitions = byPartition.get(c.topic);
        if (partitions === undefined) {
          partitions = new Map();
          byPartition.set(c.topic, partitions);
        }
        partitions.set(c.partition, lag);
      }
      next.set(group.groupId, { group, lags, byPartition });
    }
    this.samples = next;
  }
}
