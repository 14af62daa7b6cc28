/**
 * The group-id mapping of one broker, put together for its policy: the FindCoordinator writer,
 * the broker-wide watched cache, the fetch path's resolver, and either the coordinator's
 * lifecycle (`coordinator`, the default) or KoP's (`kop`). See the modules for each part.
 */
import type { Logger, MetadataStore } from '../../../src/api/index.js';
import type { GroupCoordinatorApi } from '../coordinator/types.js';
import { KopPolicy } from './kop-policy.js';
import { CoordinatorLifecycle } from './lifecycle.js';
import { MappingReconciler } from './reconciler.js';
import { MappingCache } from './node-cache.js';
import { MappingResolver } from './resolver.js';
import { newGroupMappingStats, type GroupMappingStats } from './stats.js';
import type { ClientKey, GroupResolver } from './types.js';
import { MappingWriter } from './writer.js';

export const GROUP_ID_LIFECYCLE_POLICIES = ['coordinator', 'kop'] as const;
export type GroupIdLifecyclePolicy = (typeof GROUP_ID_LIFECYCLE_POLICIES)[number];

export interface GroupMappingOptions {
  store: MetadataStore;
  /** groupIdZooKeeperPath */
  root: string;
  policy: GroupIdLifecyclePolicy;
  /** groupIdWriteTimeoutMs */
  writeTimeoutMs: number;
  brokerId: number;
  coordinator: Pick<
    GroupCoordinatorApi,
    'describeGroups' | 'listGroups' | 'onMemberRemoved' | 'onGroupEvents'
  >;
  /** The full name (`persistent://...`) of a topic named as Kafka clients or the host name it. */
  fullTopicName: (topic: string) => string;
  isShuttingDown: () => boolean;
  logger: Logger;
  /** The reconciler (coordinator policy); intervalMs -1 turns it off. */
  reconcile: { intervalMs: number; opsPerSecond: number; orphanGraceMs: number };
  /** Resolver timings, for tests (see MappingResolver). */
  pendingLimitMs?: number;
  assignmentWaitMs?: number;
  /** Default: writeTimeoutMs + ABSENT_GRACE_MARGIN_MS. */
  absentGraceMs?: number;
}

/**
 * How much longer than groupIdWriteTimeoutMs the resolver awaits the node of a client it never
 * saw in a group. The fetch it answers came after the client's FindCoordinator, whose write
 * completes within groupIdWriteTimeoutMs when it completes in time; this margin covers the watch's
 * notification and this broker's re-read under a loaded store (normally milliseconds), and a write
 * that ran a little late. An assign() consumer's counts wait that long before they are counted
 * without a group: a few seconds, well within a scrape interval.
 */
export const ABSENT_GRACE_MARGIN_MS = 5_000;

export class GroupMapping {
  readonly stats: GroupMappingStats = newGroupMappingStats();
  readonly resolver: GroupResolver;
  readonly cache: MappingCache;
  private readonly writer: MappingWriter;
  private readonly coordinatorResolver?: MappingResolver;
  private readonly lifecycle?: CoordinatorLifecycle;
  readonly reconciler?: MappingReconciler;
  private readonly kop?: KopPolicy;
  private closed = false;

  constructor(readonly options: GroupMappingOptions) {
    const { store, root, logger } = options;
    const stats = this.stats;
    this.cache = new MappingCache({ store, root, logger, stats });
    this.writer = new MappingWriter({
      store,
      root,
      brokerId: options.brokerId,
      timeoutMs: options.writeTimeoutMs,
      logger,
      stats,
    });
    if (options.policy === 'kop') {
      this.kop = new KopPolicy({
        store,
        root,
        cache: this.cache,
        timeoutMs: options.writeTimeoutMs,
        logger,
        stats,
      });
      this.resolver = this.kop;
    } else {
      this.coordinatorResolver = new MappingResolver({
        cache: this.cache,
        stats,
        fullTopicName: options.fullTopicName,
        pendingLimitMs: options.pendingLimitMs,
        assignmentWaitMs: options.assignmentWaitMs,
        absentGraceMs: options.absentGraceMs ?? options.writeTimeoutMs + ABSENT_GRACE_MARGIN_MS,
      });
      this.resolver = this.coordinatorResolver;
      this.lifecycle = new CoordinatorLifecycle({
        store,
        root,
        brokerId: options.brokerId,
        cache: this.cache,
        coordinator: options.coordinator,
        fullTopicName: options.fullTopicName,
        isShuttingDown: options.isShuttingDown,
        logger,
        stats,
      });
      if (options.reconcile.intervalMs > 0) {
        this.reconciler = new MappingReconciler({
          store,
          root,
          cache: this.cache,
          lifecycle: this.lifecycle,
          coordinator: options.coordinator,
          ...options.reconcile,
          isShuttingDown: options.isShuttingDown,
          logger,
          stats,
        });
        this.reconciler.start();
      }
    }
  }

  /**
   * This broker answered a FindCoordinator for these groups (key type 0, answered without error):
   * records them for the client. Resolves within `writeTimeoutMs`; never rejects.
   */
  async findCoordinatorAnswered(
    client: ClientKey,
    groupIds: readonly string[],
    connectionId: number,
  ): Promise<void> {
    if (groupIds.length === 0) return;
    this.coordinatorResolver?.noteFindCoordinator(connectionId, groupIds);
    const write = this.writer.record(client, groupIds);
    this.kop?.recorded(connectionId, client, groupIds, write);
    await write;
  }

  /** A Kafka connection closed (the server's hook). */
  connectionClosed(client: ClientKey, connectionId: number): void {
    this.resolver.connectionClosed(client, connectionId);
  }

  /** Stops the coordinator's side (no more writes from it); the resolver keeps answering. */
  stopCoordinatorSide(): void {
    this.reconciler?.stop();
    this.lifecycle?.stop();
  }

  /**
   * Resolves once the store work started so far is done (the kop policy's close deletes too), or
   * after `limitMs` if given.
   */
  async drain(limitMs?: number): Promise<void> {
    const done = Promise.all([this.lifecycle?.drain(), this.kop?.drain()]);
    if (limitMs === undefined) {
      await done;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, limitMs)))]);
    clearTimeout(timer);
  }

  /** Stops everything (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopCoordinatorSide();
    this.cache.close();
  }
}
