/**
 * Partition ownership as one broker runs it. Each partition of each known topic has a state:
 * the owner node as last read (`/koppa/owners/<topic>/<partition>`, ephemeral, JSON
 * `{brokerId, epoch, topicId}`) and, when this broker holds it, the epoch it gained it under.
 * Work is per partition (one task at a time per partition, a bounded number overall), driven by
 * notifications on owner nodes and by changes of the live-broker list and of the topics:
 *
 * - no owner and this broker is preferred: take the next epoch (compare-and-set on the epoch
 *   node), create the owner node (losing that race is fine), check that no later epoch was
 *   handed out meanwhile (else give the node back and start again), then 'gained';
 * - held but no longer preferred (a broker joined, or this one is leaving): 'lost' first, then
 *   delete the owner node (compare-and-delete on its version) so the preferred broker takes it;
 * - an owner node of this broker that it does not hold (re-created by the store in a new
 *   session, or left by a failed step): adopt it under a new epoch when preferred, else delete;
 * - held, but the message store refused to claim its log under the held epoch because the log is
 *   claimed at or past it (`claimRefused`: the epochs restarted below the data directory's):
 *   'lost', then adopt the node under an epoch past the claim.
 */
import type { Logger } from 'pino';
import {
  BadVersionError,
  NotFoundError,
  type MetadataStore,
  type Notification,
} from '../metadata/types.js';
import type { TopicPartition } from '../storage/types.js';
import type { EpochStore } from './epochs.js';
import { ownerPath, partitionKey, partitionOfOwnerPath } from './paths.js';
import { preferredBroker } from './placement.js';
import type { WatchedTopic } from './topic-watcher.js';
import type { Ownership, OwnershipEvent } from './types.js';
import { WorkQueue } from './work-queue.js';

interface OwnerRecord extends Ownership {
  /** The topic id (hex) the node was written for. */
  topicId: string | null;
  /** The node's version, for compare-and-delete. */
  version: number;
}

interface PartitionState {
  readonly tp: TopicPartition;
  readonly key: string;
  /** The topic id this partition belongs to. */
  topicId: string;
  /** The owner node as last read; null when absent. */
  owner: OwnerRecord | null;
  /** The owner node must be (re-)read before deciding anything. */
  stale: boolean;
  /** Set while this broker holds the partition ('gained' sent, 'lost' not yet). */
  mine?: { epoch: number; version: number };
  /** The lowest epoch this broker may take the partition under (see claimRefused). */
  epochFloor?: number;
}

export interface OwnershipOptions {
  store: MetadataStore;
  brokerId: number;
  logger: Logger;
  epochs: EpochStore;
  /** Ids of the live brokers as last seen (this broker is added while it takes part). */
  liveBrokerIds: () => Iterable<number>;
  /** Settles once the listeners have reacted (see ClusterView.onEvent); never rejects. */
  emit: (event: OwnershipEvent) => Promise<void>;
  /** Tells that another broker's ownership changed (the caller debounces). */
  changed: () => void;
  /** Most metadata-store operations in flight at once. */
  concurrency: number;
}

export class PartitionOwnership {
  private readonly partitions = new Map<string, PartitionState>();
  /** Partition states by topic name, indexed by partition. */
  private readonly topics = new Map<string, PartitionState[]>();
  private readonly queue: WorkQueue;
  private readonly store: MetadataStore;
  private readonly brokerId: number;
  private readonly logger: Logger;
  private unsubscribe?: () => void;
  /** May acquire and keep partitions (false before start, after expiry, when leaving). */
  private participating = false;
  /** Bumped whenever the session is lost or replaced: work begun before it is void. */
  private generation = 0;

  constructor(private readonly options: OwnershipOptions) {
    this.store = options.store;
    this.brokerId = options.brokerId;
    this.logger = options.logger;
    this.queue = new WorkQueue({
      limit: options.concurrency,
      retryDelayMs: 500,
      onError: (key, err) =>
        this.logger.warn({ err, partition: key.replace('\u0000', '-') }, 'ownership step failed'),
    });
  }

  start(): void {
    this.unsubscribe = this.store.onNotification((n) => this.onNotification(n));
    this.participating = true;
  }

  // ---- what callers ask -------------------------------------------------------------------

  ownerOf(tp: TopicPartition): Ownership | null {
    const state = this.partitions.get(partitionKey(tp));
    const owner = state?.owner;
    if (!state || !owner || owner.topicId !== state.topicId) return null;
    return { brokerId: owner.brokerId, epoch: owner.epoch };
  }

  ownsNow(tp: TopicPartition): boolean {
    return this.partitions.get(partitionKey(tp))?.mine !== undefined;
  }

  /** The topic id the partition belongs to, when it is known. */
  topicIdOf(tp: TopicPartition): string | undefined {
    return this.partitions.get(partitionKey(tp))?.topicId;
  }

  /** Partitions this broker holds, with their epochs. */
  held(): { partition: TopicPartition; epoch: number }[] {
    const held: { partition: TopicPartition; epoch: number }[] = [];
    for (const state of this.partitions.values()) {
      if (state.mine) held.push({ partition: state.tp, epoch: state.mine.epoch });
    }
    return held;
  }

  /** Resolves once no ownership work runs or waits (retries due later aside). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // ---- what changes -----------------------------------------------------------------------

  /** A topic appeared, grew, was deleted (`topic` undefined) or was created again. */
  updateTopic(name: string, topic: WatchedTopic | undefined): void {
    const states = this.topics.get(name) ?? [];
    const count = topic ? topic.partitions : 0;
    const replaced = topic !== undefined && states.length > 0 && states[0].topicId !== topic.id;
    // Partitions that no longer exist (topic deleted or replaced): drop them without 'lost',
    // as the contract says, and delete this broker's owner nodes.
    const keep = replaced ? 0 : Math.min(count, states.length);
    for (const state of states.slice(keep)) {
      this.partitions.delete(state.key);
      state.mine = undefined;
      this.schedule(state, true);
    }
    const next = states.slice(0, keep);
    for (let p = keep; p < count; p++) {
      const tp = { topic: name, partition: p };
      const state: PartitionState = {
        tp,
        key: partitionKey(tp),
        topicId: topic!.id,
        owner: null,
        stale: true,
      };
      next.push(state);
      this.partitions.set(state.key, state);
      this.schedule(state, false);
    }
    if (next.length > 0) this.topics.set(name, next);
    else this.topics.delete(name);
    if (keep !== states.length || keep !== count) this.options.changed();
  }

  /** The live brokers changed (or may have): every partition's preferred owner may differ. */
  reconsiderAll(reread = false): void {
    for (const state of this.partitions.values()) {
      if (reread) state.stale = true;
      this.schedule(state, false);
    }
  }

  /**
   * The session's connection is lost, but the session may still be alive (ZooKeeper restarting,
   * a network blip): keep serving what is held, change nothing until it is back. Should the
   * session have expired meanwhile, the next owner's claim fences this broker's writes in the
   * store, and `expired` follows once the session timeout has passed.
   */
  disconnected(): void {
    this.queue.pause();
  }

  /** The same session is back: nothing was lost. */
  connected(): void {
    this.queue.resume();
    this.reconsiderAll();
  }

  /** The session is (presumed) gone: every held partition is lost. */
  expired(): void {
    this.participating = false;
    this.generation++;
    this.queue.pause();
    this.queue.clear();
    void this.loseAll(); // nothing to wait for: the node is not deleted
  }

  /** A session is back after expiry: take part again, re-reading every owner node. */
  reconnected(): void {
    this.participating = true;
    this.generation++;
    this.queue.resume();
    this.reconsiderAll(true);
  }

  /**
   * Graceful hand-over: stop taking partitions, send 'lost' for everything held, let running
   * steps finish and the listeners react. Returns the owner nodes of this broker (path and
   * version) to delete.
   */
  async leave(): Promise<{ path: string; version: number }[]> {
    this.participating = false;
    this.queue.stop();
    // 'lost' at once; a step still running can no longer gain (it gives its node back).
    const reactions = this.loseAll();
    await this.queue.idle();
    await reactions;
    const nodes: { path: string; version: number }[] = [];
    for (const state of this.partitions.values()) {
      if (state.owner?.brokerId === this.brokerId) {
        nodes.push({ path: ownerPath(state.tp), version: state.owner.version });
      }
    }
    return nodes;
  }

  /**
   * The partition's log is claimed on disk at `claimedEpoch`, at or past the epoch this broker
   * holds it under: take it again under an epoch past the claim (see ClusterView.claimRefused).
   */
  claimRefused(tp: TopicPartition, epoch: number, claimedEpoch: number): void {
    const state = this.partitions.get(partitionKey(tp));
    if (!state?.mine || state.mine.epoch !== epoch || claimedEpoch < epoch) return;
    state.epochFloor = Math.max(state.epochFloor ?? 0, claimedEpoch + 1);
    this.logger.warn(
      { partition: tp, epoch, claimedEpoch },
      'the log is claimed at or past the epoch this broker holds (metadata store reset?); taking the partition again under a later epoch',
    );
    // Read the owner node again first: a newer owner would explain the claim as well.
    this.schedule(state, true);
  }

  /** Stops all work; held partitions are lost (their nodes stay until the session ends). */
  stop(): void {
    this.participating = false;
    this.generation++;
    this.unsubscribe?.();
    this.queue.stop();
    void this.loseAll(); // nothing to wait for: the node is not deleted
  }

  // ---- the per-partition step -------------------------------------------------------------

  private onNotification(n: Notification): void {
    const tp = partitionOfOwnerPath(n.path);
    if (!tp) return;
    const state = this.partitions.get(partitionKey(tp));
    this.logger.debug(
      { partition: tp, type: n.type, known: state !== undefined },
      'owner notification',
    );
    if (state) this.schedule(state, true);
  }

  private schedule(state: PartitionState, reread: boolean): void {
    if (reread) state.stale = true;
    this.queue.schedule(state.key, () => this.step(state));
  }

  private async step(state: PartitionState): Promise<void> {
    const generation = this.generation;
    if (state.stale) await this.readOwner(state);
    if (generation !== this.generation) return;
    const owner = state.owner;
    const current = this.partitions.get(state.key) === state;
    if (!current) {
      // The partition is gone (its topic deleted or replaced): only clean up.
      if (owner?.brokerId === this.brokerId && owner.topicId === state.topicId) {
        await this.deleteQuietly(state, owner.version);
      }
      return;
    }
    const preferred = this.participating
      ? preferredBroker(state.tp, this.candidates()) === this.brokerId
      : false;
    const ownerIsMe = owner?.brokerId === this.brokerId;

    if (state.mine) {
      if (!ownerIsMe || owner?.epoch !== state.mine.epoch) {
        // The node went away or was replaced under this broker.
        void this.lose(state);
        this.schedule(state, false);
      } else if (!preferred) {
        await this.handOver(state);
      } else if (state.mine.epoch < (state.epochFloor ?? 0)) {
        // Still this broker's, under an epoch the store refuses: again, under a later one.
        await this.lose(state);
        await this.adopt(state, owner.version);
      }
      return;
    }
    if (ownerIsMe) {
      const stale = owner!.topicId !== state.topicId;
      if (preferred && !stale) await this.adopt(state, owner!.version);
      else if (this.participating || stale) await this.deleteQuietly(state, owner!.version);
      return;
    }
    if (!owner && preferred) await this.acquire(state);
  }

  private candidates(): Set<number> {
    const ids = new Set(this.options.liveBrokerIds());
    ids.add(this.brokerId);
    return ids;
  }

  private async readOwner(state: PartitionState): Promise<void> {
    state.stale = false;
    let node;
    try {
      node = await this.store.get(ownerPath(state.tp));
    } catch (err) {
      state.stale = true;
      throw err;
    }
    let next: OwnerRecord | null = null;
    if (node) {
      try {
        next = { ...decodeOwner(node.value), version: node.stat.version };
      } catch (err) {
        this.logger.warn({ err, partition: state.tp }, 'ignoring an unreadable owner node');
      }
    }
    const previous = state.owner;
    state.owner = next;
    this.logger.debug({ partition: state.tp, owner: next }, 'owner node read');
    const moved =
      previous?.brokerId !== next?.brokerId ||
      previous?.epoch !== next?.epoch ||
      previous?.topicId !== next?.topicId;
    const others =
      (previous !== null && previous.brokerId !== this.brokerId) ||
      (next !== null && next.brokerId !== this.brokerId);
    if (moved && others) this.options.changed();
  }

  private async acquire(state: PartitionState): Promise<void> {
    const generation = this.generation;
    const epoch = await this.options.epochs.next(state.tp, state.topicId, state.epochFloor);
    if (!this.stillCurrent(state, generation)) return;
    const value = encodeOwner(this.brokerId, epoch, state.topicId);
    let version: number;
    try {
      const stat = await this.store.put(ownerPath(state.tp), value, {
        ephemeral: true,
        expectedVersion: -1,
      });
      version = stat.version;
    } catch (err) {
      if (!(err instanceof BadVersionError)) throw err;
      this.schedule(state, true); // another broker was quicker: see who
      return;
    }
    await this.confirm(state, generation, epoch, version);
  }

  /** Takes over an owner node of this broker that it does not hold, under a new epoch. */
  private async adopt(state: PartitionState, nodeVersion: number): Promise<void> {
    const generation = this.generation;
    const epoch = await this.options.epochs.next(state.tp, state.topicId, state.epochFloor);
    if (!this.stillCurrent(state, generation)) return;
    let version: number;
    try {
      const stat = await this.store.put(
        ownerPath(state.tp),
        encodeOwner(this.brokerId, epoch, state.topicId),
        { expectedVersion: nodeVersion },
      );
      version = stat.version;
    } catch (err) {
      if (!(err instanceof BadVersionError)) throw err;
      this.schedule(state, true);
      return;
    }
    await this.confirm(state, generation, epoch, version);
  }

  /**
   * The owner node holds `epoch`: make sure no later epoch was handed out while this broker
   * was between taking the epoch and writing the node (a later owner may have come and gone
   * meanwhile), then hold the partition.
   */
  private async confirm(
    state: PartitionState,
    generation: number,
    epoch: number,
    version: number,
  ): Promise<void> {
    const { record } = await this.options.epochs.read(state.tp);
    if (generation !== this.generation) return; // the next session sorts the node out
    if (record.epoch !== epoch || !this.participating || this.partitions.get(state.key) !== state) {
      await this.deleteQuietly(state, version);
      this.schedule(state, true);
      return;
    }
    state.owner = { brokerId: this.brokerId, epoch, topicId: state.topicId, version };
    state.mine = { epoch, version };
    state.epochFloor = undefined;
    this.logger.debug({ partition: state.tp, epoch }, 'gained');
    void this.options.emit({ kind: 'gained', partition: state.tp, epoch });
  }

  private stillCurrent(state: PartitionState, generation: number): boolean {
    return (
      generation === this.generation &&
      this.participating &&
      this.partitions.get(state.key) === state
    );
  }

  /**
   * 'lost' first, so that writes stop, and its reactions awaited (the log closed, so the next
   * owner skips the fence grace); then the node goes so the preferred broker takes it.
   */
  private async handOver(state: PartitionState): Promise<void> {
    const version = state.mine!.version;
    const generation = this.generation;
    await this.lose(state);
    // A session lost meanwhile took the node with it; one at the same version now is another's.
    if (generation === this.generation) await this.deleteQuietly(state, version);
  }

  /** Sends 'lost'; settles once the listeners have reacted. */
  private lose(state: PartitionState): Promise<void> {
    const mine = state.mine;
    if (!mine) return Promise.resolve();
    state.mine = undefined;
    this.logger.debug({ partition: state.tp, epoch: mine.epoch }, 'lost');
    return this.options.emit({ kind: 'lost', partition: state.tp, epoch: mine.epoch });
  }

  private async loseAll(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((state) => this.lose(state)));
  }

  private async deleteQuietly(state: PartitionState, version: number): Promise<void> {
    this.logger.debug({ partition: state.tp, version }, 'deleting owner node');
    try {
      await this.store.delete(ownerPath(state.tp), version);
    } catch (err) {
      if (!(err instanceof NotFoundError) && !(err instanceof BadVersionError)) throw err;
    }
    state.stale = true;
  }
}

function encodeOwner(brokerId: number, epoch: number, topicId: string): Buffer {
  return Buffer.from(JSON.stringify({ brokerId, epoch, topicId }));
}

function decodeOwner(value: Buffer): Omit<OwnerRecord, 'version'> {
  const parsed = JSON.parse(value.toString('utf8')) as Partial<OwnerRecord>;
  if (typeof parsed.brokerId !== 'number' || typeof parsed.epoch !== 'number') {
    throw new Error('owner node without broker id and epoch');
  }
  return {
    brokerId: parsed.brokerId,
    epoch: parsed.epoch,
    topicId: typeof parsed.topicId === 'string' ? parsed.topicId : null,
  };
}
