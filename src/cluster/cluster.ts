/**
 * The cluster as one broker runs it: its registration among the live brokers, the topics it
 * covers, and ownership of their partitions (see ownership.ts), with the metadata session's
 * health folded in so that a broker whose session is gone stops writing.
 *
 * Session events:
 * - `disconnected`: the session may still be alive, so the broker keeps serving what it holds
 *   (as Pulsar's brokers do, relying on the store's fence) and changes nothing until it is back;
 * - `connected`: same session, ownership intact, ownership work resumes;
 * - `expired`: 'lost' for every held partition; nothing is acquired until `reconnected`;
 * - `reconnected`: the live list is re-read, then every owner node; the broker takes part again
 *   and takes back what it is preferred for under new epochs.
 */
import type { Logger } from 'pino';
import type { MetadataStore, SessionEvent } from '../metadata/types.js';
import type { TopicPartition } from '../storage/types.js';
import type { TopicRegistry } from '../topics/topic-registry.js';
import { BrokerRegistry } from './broker-registry.js';
import { EpochStore } from './epochs.js';
import { PartitionOwnership } from './ownership.js';
import { TopicWatcher } from './topic-watcher.js';
import type {
  BrokerInfo,
  ClusterView,
  Ownership,
  OwnershipEvent,
  OwnershipListener,
} from './types.js';

export { DuplicateBrokerIdError } from './broker-registry.js';

export interface ClusterOptions {
  brokerId: number;
  rack?: string | null;
  store: MetadataStore;
  /**
   * The host's topic registry. Ownership follows the topic nodes the registry writes, read
   * from the store directly (the registry has no change listeners, and on ZooKeeper it does
   * not learn of topics other brokers create), so this is not consulted today.
   */
  topics?: TopicRegistry;
  logger: Logger;
  /** What each protocol handler advertises, by protocol name. */
  protocols: Record<string, string>;
  httpPort: number | null;
  /** Where other brokers reach the HTTP port (the admin API answers for the whole cluster). */
  httpHost?: string | null;
  /** Most metadata-store operations ownership runs at once. Default 16. */
  concurrency?: number;
  /**
   * The longest a partition given up on purpose waits for the listeners' reactions to 'lost'
   * before its owner node goes. Default LOST_REACTION_TIMEOUT_MS.
   */
  lostReactionTimeoutMs?: number;
}

/**
 * Long enough for appends in flight to settle and a log to close; a listener stuck longer (a
 * hung disk) must not keep the partition from its next owner, who then waits the fence grace.
 */
export const LOST_REACTION_TIMEOUT_MS = 10_000;

export class Cluster implements ClusterView {
  readonly brokerId: number;
  private readonly store: MetadataStore;
  private readonly logger: Logger;
  private readonly brokers: BrokerRegistry;
  private readonly topicWatcher: TopicWatcher;
  private readonly epochs: EpochStore;
  private readonly ownership: PartitionOwnership;
  private readonly listeners = new Set<OwnershipListener>();
  private readonly lostReactionTimeoutMs: number;
  private readonly unsubscribers: (() => void)[] = [];
  private changePending = false;
  private closed = false;
  private releasing?: Promise<void>;
  /** Bumped at every session event, so a slow `reconnected` recovery yields to a newer event. */
  private sessionEpoch = 0;
  /** Between `disconnected` and `connected` or `reconnected`. */
  private sessionConnected = true;
  /** The session expired during a graceful release: its owner nodes are gone already. */
  private sessionLostWhileReleasing = false;
  /** Set at `expired` until the broker takes part again. */
  private needsRecovery = false;

  /** Registers the broker (a live duplicate id is refused), then takes part in ownership. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      await cluster.begin();
    } catch (err) {
      cluster.shutDown();
      throw err;
    }
    return cluster;
  }

  private constructor(options: ClusterOptions) {
    this.brokerId = options.brokerId;
    this.store = options.store;
    this.logger = options.logger.child({ brokerId: options.brokerId });
    const concurrency = Math.max(1, options.concurrency ?? 16);
    this.lostReactionTimeoutMs = options.lostReactionTimeoutMs ?? LOST_REACTION_TIMEOUT_MS;
    const self: BrokerInfo = {
      brokerId: options.brokerId,
      rack: options.rack ?? null,
      protocols: { ...options.protocols },
      httpPort: options.httpPort,
      httpHost: options.httpHost ?? null,
    };
    this.brokers = new BrokerRegistry(this.store, self, this.logger, () => {
      this.ownership.reconsiderAll();
      this.changed();
    });
    this.epochs = new EpochStore(this.store);
    this.ownership = new PartitionOwnership({
      store: this.store,
      brokerId: this.brokerId,
      logger: this.logger,
      epochs: this.epochs,
      liveBrokerIds: () => this.brokers.brokers().keys(),
      emit: (event) => this.emit(event),
      changed: () => this.changed(),
      concurrency,
    });
    this.topicWatcher = new TopicWatcher(
      this.store,
      this.logger,
      (name) => this.ownership.updateTopic(name, this.topicWatcher.get(name)),
      Math.max(1, Math.ceil(concurrency / 2)),
    );
  }

  private async begin(): Promise<void> {
    this.unsubscribers.push(this.store.onSessionEvent((event) => this.onSessionEvent(event)));
    await this.brokers.start();
    this.ownership.start();
    await this.topicWatcher.start();
    this.logger.info(
      { liveBrokers: [...this.brokers.brokers().keys()], topics: this.topicWatcher.list().length },
      'joined the cluster',
    );
  }

  // ---- ClusterView ------------------------------------------------------------------------

  liveBrokers(): BrokerInfo[] {
    return [...this.brokers.brokers().values()].sort((a, b) => a.brokerId - b.brokerId);
  }

  broker(brokerId: number): BrokerInfo | undefined {
    return this.brokers.brokers().get(brokerId);
  }

  ownerOf(partition: TopicPartition): Ownership | null {
    return this.ownership.ownerOf(partition);
  }

  ownsNow(partition: TopicPartition): boolean {
    return !this.closed && this.ownership.ownsNow(partition);
  }

  connected(): boolean {
    return this.sessionConnected;
  }

  async epochHistory(partition: TopicPartition): Promise<{ epoch: number; startOffset: number }[]> {
    const { record } = await this.epochs.read(partition);
    const topicId = this.ownership.topicIdOf(partition);
    // A history kept for a deleted topic of the same name is not this topic's.
    if (topicId !== undefined && record.topicId !== null && record.topicId !== topicId) return [];
    return record.history.map((e) => ({ epoch: e.epoch, startOffset: e.startOffset }));
  }

  async recordEpochStart(
    partition: TopicPartition,
    epoch: number,
    startOffset: number,
  ): Promise<void> {
    const outcome = await this.epochs.recordStart(partition, epoch, startOffset);
    if (outcome === 'stale') {
      this.logger.warn(
        { partition, epoch, startOffset },
        'not recording the start of an epoch older than the newest recorded',
      );
    }
  }

  claimRefused(partition: TopicPartition, epoch: number, claimedEpoch: number): void {
    if (!this.closed) this.ownership.claimRefused(partition, epoch, claimedEpoch);
  }

  onEvent(listener: OwnershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- beyond the view --------------------------------------------------------------------

  /** Partitions this broker holds now, with their epochs. */
  ownedPartitions(): { partition: TopicPartition; epoch: number }[] {
    return this.ownership.held();
  }

  /** Resolves once no ownership or topic work is running or waiting (for tests and tools). */
  async settled(): Promise<void> {
    await this.topicWatcher.idle();
    await this.ownership.idle();
  }

  /**
   * Graceful shutdown: 'lost' for every held partition and the listeners' reactions awaited
   * (their logs closed), then the broker's registration and its owner nodes are deleted so that
   * the preferred live brokers take over at once, without a fence grace. Then `close`.
   */
  release(): Promise<void> {
    this.releasing ??= this.doRelease();
    return this.releasing;
  }

  /**
   * Stops following the store. Held partitions are lost ('lost' is sent); nothing is deleted:
   * the owner nodes and the registration go when the metadata session ends.
   */
  async close(): Promise<void> {
    this.shutDown();
  }

  // ---- internals --------------------------------------------------------------------------

  private async doRelease(): Promise<void> {
    if (this.closed) return;
    this.topicWatcher.stop();
    const nodes = await this.ownership.leave();
    try {
      // Deregister first: were the owner nodes deleted while this broker still looked alive,
      // the others would wait for it to take them back.
      await this.brokers.deregister().catch((err: unknown) => {
        // The session's end removes it anyway; the owner nodes are still worth trying.
        this.logger.warn({ err }, 'could not remove the broker registration');
      });
      this.brokers.stop();
      await inBatches(nodes, 16, async ({ path, version }) => {
        // A session lost meanwhile took its nodes along; one at the same version is another's.
        if (this.sessionLostWhileReleasing) return;
        try {
          await this.store.delete(path, version);
        } catch {
          // Gone already, or no longer this broker's: either way not ours to delete.
        }
      });
      this.logger.info({ partitions: nodes.length }, 'released ownership and left the cluster');
    } finally {
      this.shutDown();
    }
  }

  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.topicWatcher.stop();
    this.brokers.stop();
    this.ownership.stop();
  }

  private onSessionEvent(event: SessionEvent): void {
    if (this.releasing && (event === 'expired' || event === 'reconnected')) {
      this.sessionLostWhileReleasing = true;
    }
    this.sessionConnected = event === 'connected' || event === 'reconnected';
    if (this.closed || this.releasing) return;
    const epoch = ++this.sessionEpoch;
    this.logger.info({ event }, 'metadata session event');
    switch (event) {
      case 'disconnected':
        this.ownership.disconnected();
        break;
      case 'connected':
        // After an interrupted recovery the session is back but the broker must still rejoin.
        if (this.needsRecovery) void this.recover(epoch);
        else {
          this.ownership.connected();
          void this.brokers.refresh();
        }
        break;
      case 'expired':
        this.needsRecovery = true;
        this.ownership.expired();
        break;
      case 'reconnected':
        void this.recover(epoch);
        break;
    }
  }

  /** After a new session: re-read the live brokers and the topics, then take part again. */
  private async recover(epoch: number): Promise<void> {
    await this.brokers.refresh();
    if (epoch !== this.sessionEpoch || this.closed || this.releasing) return;
    this.needsRecovery = false;
    this.topicWatcher.rescan();
    this.ownership.reconnected();
    this.changed();
  }

  /** Settles once every listener's reaction has (never rejects), or the bounded wait passed. */
  private emit(event: OwnershipEvent): Promise<void> {
    const reactions: Promise<void>[] = [];
    for (const listener of [...this.listeners]) {
      try {
        const reaction = listener(event);
        if (reaction)
          reactions.push(
            reaction.catch((err: unknown) =>
              this.logger.error({ err, event }, 'ownership listener failed'),
            ),
          );
      } catch (err) {
        this.logger.error({ err, event }, 'ownership listener failed');
      }
    }
    if (reactions.length === 0) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.logger.warn({ event }, 'gave up waiting for the reaction to a lost partition');
        resolve();
      }, this.lostReactionTimeoutMs);
      timer.unref();
    });
    return Promise.race([Promise.all(reactions).then(() => undefined), timeout]).finally(() =>
      clearTimeout(timer),
    );
  }

  /** 'changed', debounced: many owner nodes changing at once make one event. */
  private changed(): void {
    if (this.changePending || this.closed) return;
    this.changePending = true;
    setImmediate(() => {
      this.changePending = false;
      if (!this.closed) this.emit({ kind: 'changed' });
    });
  }
}

async function inBatches<T>(
  items: T[],
  size: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(run));
  }
}
