/**
 * The cluster as handlers see it from `initialize` on. A broker joins the cluster only once its
 * handlers listen (it must advertise real ports), so until then this view owns nothing and knows
 * no broker; handlers hold requests until `joined` resolves, as a Kafka broker processes requests
 * only once its start-up is complete. Listeners registered early are attached when the cluster
 * is bound.
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
  private readonly pending = new Map<Listener, () => void>();
  private markJoined!: () => void;
  /** Resolves once the broker has joined the cluster and this view shows it. */
  readonly joined = new Promise<void>((resolve) => (this.markJoined = resolve));

  constructor(readonly brokerId: number) {}

  bind(inner: ClusterView): void {
    this.inner = inner;
    for (const listener of this.pending.keys()) this.pending.set(listener, inner.onEvent(listener));
    this.markJoined();
  }

  liveBrokers(): BrokerInfo[] {
    return this.inner?.liveBrokers() ?? [];
  }

  broker(brokerId: number): BrokerInfo | undefined {
    return this.inner?.broker(brokerId);
  }

  ownerOf(partition: TopicPartition): Ownership | null {
    return this.inner?.ownerOf(partition) ?? null;
  }

  ownsNow(partition: TopicPartition): boolean {
    return this.inner?.ownsNow(partition) ?? false;
  }

  connected(): boolean {
    return this.inner?.connected() ?? false;
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
