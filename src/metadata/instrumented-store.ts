/**
 * A metadata store that measures the one it wraps, for the broker's `/metrics`: how long each
 * operation takes, how many fail, and whether the store is connected now. Each broker wraps the
 * store session it opened (its own object, also when the standalone's brokers share a tree), so
 * its registry shows its own operations only.
 *
 * A failure is an operation the store could not answer (no connection within the operation
 * timeout, a closed store, an unexpected error). A conditional write that meets another version
 * (BadVersionError) and a delete of a missing node (NotFoundError) are answers, not failures:
 * they are how the callers' read-modify-write loops work.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { HostMetrics } from '../metrics/index.js';
import {
  BadVersionError,
  NotFoundError,
  type GetResult,
  type MetadataStore,
  type Notification,
  type PutOptions,
  type ReadOptions,
  type SessionEvent,
  type Stat,
} from './types.js';

/** Operations as they are labelled (`operation`). */
export type MetadataOperation =
  'get' | 'put' | 'delete' | 'delete_recursive' | 'exists' | 'children';

const OPERATIONS: readonly MetadataOperation[] = [
  'get',
  'put',
  'delete',
  'delete_recursive',
  'exists',
  'children',
];

export const METADATA_OPERATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class InstrumentedMetadataStore implements MetadataStore {
  private readonly durations: Histogram<'operation'>;
  private readonly failures: Counter<'operation'>;
  /** 1 while the store has a connection; a store is connected when it opens. */
  private connected = 1;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MetadataStore,
    metrics: HostMetrics,
  ) {
    const registers = [metrics.registry];
    this.durations = new Histogram({
      name: 'koppa_metadata_store_operation_duration_seconds',
      help: 'Time metadata store operations took (ZooKeeper round trips, or in-memory work)',
      labelNames: ['operation'],
      buckets: METADATA_OPERATION_BUCKETS,
      registers,
    });
    this.failures = new Counter({
      name: 'koppa_metadata_store_operation_failures_total',
      help: 'Metadata store operations the store could not answer (unavailable, timed out, closed); version conflicts and missing nodes are answers, not failures',
      labelNames: ['operation'],
      registers,
    });
    // Every operation's series from the start, so that rates exist before the first failure.
    for (const operation of OPERATIONS) {
      this.durations.zero({ operation });
      this.failures.inc({ operation }, 0);
    }
    const state = () => this.connected;
    new Gauge({
      name: 'koppa_metadata_store_connected',
      help: '1 while the metadata store is connected (its session events), 0 while it is not',
      registers,
      collect() {
        this.set(state());
      },
    });
    this.unsubscribe = store.onSessionEvent((event) => {
      this.connected = event === 'connected' || event === 'reconnected' ? 1 : 0;
    });
  }

  get(path: string, options?: ReadOptions): Promise<GetResult | null> {
    return this.measure('get', () => this.store.get(path, options));
  }

  put(path: string, value: Buffer, options?: PutOptions): Promise<Stat> {
    return this.measure('put', () => this.store.put(path, value, options));
  }

  delete(path: string, expectedVersion?: number): Promise<void> {
    return this.measure('delete', () => this.store.delete(path, expectedVersion));
  }

  deleteRecursive(path: string): Promise<void> {
    return this.measure('delete_recursive', () => this.store.deleteRecursive(path));
  }

  exists(path: string, options?: ReadOptions): Promise<Stat | null> {
    return this.measure('exists', () => this.store.exists(path, options));
  }

  children(path: string, options?: ReadOptions): Promise<string[]> {
    return this.measure('children', () => this.store.children(path, options));
  }

  onNotification(listener: (n: Notification) => void): () => void {
    return this.store.onNotification(listener);
  }

  unwatch(path: string): void {
    this.store.unwatch(path);
  }

  onSessionEvent(listener: (event: SessionEvent) => void): () => void {
    return this.store.onSessionEvent(listener);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.connected = 0;
    await this.store.close();
  }

  private async measure<T>(operation: MetadataOperation, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof BadVersionError) && !(err instanceof NotFoundError))
        this.failures.inc({ operation });
      throw err;
    } finally {
      this.durations.observe({ operation }, (performance.now() - started) / 1000);
    }
  }
}
