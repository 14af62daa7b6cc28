/**
 * The cluster as handlers see it from `initialize` on. A broker joins the cluster only once its
 * handlers listen (it must advertise real ports), so until then this view owns nothing and shows
 * no broker but this one (once the host has named it, as soon as the handlers listen): a client
 * that asks that early learns where this broker is and that no partition has a leader yet, and
 * retries, rather than finding no broker at all. Listeners registered early are attached when
 * the cluster is bound.
 */
import type {
  BrokerInfo,
  ClusterView,
  Ownership,
  OwnershipListener as Listener,
} from '../cluster/types.js';
import type { TopicPartition } from '../storage/types.js';

export class DeferredClusterView implements ClusterView {
  private inner?: ClusterView;
  private self?: BrokerInfo;
  private readonly pending = new Map<Listener, () => void>();

  constructor(readonly brokerId: number) {}

  /** This broker as it will register: the one live broker shown until the cluster is bound. */
  showSelf(self: BrokerInfo): void {
    this.self = self;
  }

  bind(inner: ClusterView): void {
    this.inner = inner;
    for (const listener of this.pending.keys()) this.pending.set(listener, inner.onEvent(listener));
  }

  liveBrokers(): BrokerInfo[] {
    if (this.inner) return this.inner.liveBrokers();
    return this.self ? [this.self] : [];
  }

  broker(brokerId: number): BrokerInfo | undefined {
    if (this.inner) return this.inner.broker(brokerId);
    return brokerId === this.self?.brokerId ? this.self : undefined;
  }

  ownerOf(partition: TopicPartition): Ownership | null {
    return this.inner?.ownerOf(partition) ?? null;
  }

  ownsNow(partition: TopicPartition): boolean {
    return this.inner?.ownsNow(partition) ?? false;
  }

  async epochHistory(partition: TopicPartition) {
    return this.inner ? this.inner.epochHistory(partition) : [];
  }

  async recordEpochStart(
    partition: TopicPartition,
    epoch: number,
    startOffset: number,
  ): Promise<void> {
    await this.inner?.recordEpochStart(partition, epoch, startOffset);
  }

  claimRefused(partition: TopicPartition, epoch: number, claimedEpoch: number): void {
    this.inner?.claimRefused(partition, epoch, claimedEpoch);
  }

  onEvent(listener: Listener): () => void {
    this.pending.set(listener, this.inner?.onEvent(listener) ?? (() => undefined));
    return () => {
      this.pending.get(listener)?.();
      this.pending.delete(listener);
    };
  }
}
