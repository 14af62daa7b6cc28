/**
 * Loading a __consumer_offsets partition into the coordinator: retried for as long as the
 * partition is owned, cancelled when it is lost, and a stale load never completes a newer one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeStoredRecord } from '../../../plugins/kafka/coordinator/offsets-records.js';
import type {
  GroupCoordinatorApi,
  StoredRecord,
} from '../../../plugins/kafka/coordinator/types.js';
import { OffsetsTopic } from '../../../plugins/kafka/offsets/offsets-topic.js';
import type {
  Partition,
  PartitionManager,
} from '../../../plugins/kafka/partitions/partition-manager.js';
import { encodeRecordBatch } from '../../../plugins/kafka/records/index.js';
import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import type { TopicRegistry } from '../../../src/topics/topic-registry.js';
import { captureLogs } from '../../helpers/log-capture.js';

const FULL_NAME = 'persistent://public/__kafka/__consumer_offsets';

describe('loading an offsets partition', () => {
  let partition: Partition;
  /** What `partitions.get` answers next; a test replaces it. */
  let open: () => Promise<Partition>;
  let opens: number;
  let calls: string[];
  let logs: ReturnType<typeof captureLogs>;
  let topic: OffsetsTopic;

  const coordinator = {
    loadRecords: (p: number, records: Iterable<StoredRecord>, token?: number) =>
      calls.push(`records p${p} token ${token} x${[...records].length}`),
    completeLoad: (p: number, token?: number) => calls.push(`complete p${p} token ${token}`),
  } as unknown as GroupCoordinatorApi;

  const retries = () =>
    logs.records
      .filter((r) => r.msg === 'loading offsets partition failed, retrying')
      .map((r) => r.retryInMs);

  beforeEach(async () => {
    const store = new MemoryMessageStore();
    const log = await store.openLog({ topic: FULL_NAME, partition: 0 }, {}, { epoch: 1 });
    const commit: StoredRecord = {
      kind: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 0,
      value: {
        offset: 5,
        leaderEpoch: -1,
        metadata: '',
        commitTimestamp: 1,
        expireTimestamp: null,
      },
    };
    await log.append(encodeRecordBatch([{ ...encodeStoredRecord(commit), timestamp: 1 }]));
    partition = { log } as Partition;
    open = () => Promise.resolve(partition);
    opens = 0;
    calls = [];
    logs = captureLogs('warn');
    const partitions = {
      get: () => {
        opens++;
        return open();
      },
    } as unknown as PartitionManager;
    topic = new OffsetsTopic({
      partitions,
      topics: {} as TopicRegistry,
      fullName: FULL_NAME,
      numPartitions: 1,
      compactionRecords: 1000,
      logger: logs.logger,
    });
    vi.useFakeTimers();
  });

  afterEach(async () => {
    vi.useRealTimers();
    await topic.close();
  });

  it('retries with a capped backoff for as long as it takes, logging every failure', async () => {
    let failures = 8;
    open = () =>
      failures-- > 0
        ? Promise.reject(new Error('log cannot be opened'))
        : Promise.resolve(partition);
    const loading = topic.load(coordinator, 0, 7);
    await vi.advanceTimersByTimeAsync(120_000);
    await loading;
    expect(retries()).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(opens).toBe(9);
    expect(calls).toEqual(['records p0 token 7 x1', 'complete p0 token 7']);
  });

  it('stops retrying once the partition is lost', async () => {
    open = () => Promise.reject(new Error('log cannot be opened'));
    const loading = topic.load(coordinator, 0, 7);
    await vi.advanceTimersByTimeAsync(1600); // failed at 0, 500 and 1500 ms
    expect(opens).toBe(3);
    topic.cancelLoad(0);
    await loading;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(opens).toBe(3);
    expect(calls).toEqual([]);
  });

  it('does not let a load begun before the partition was lost complete the next one', async () => {
    let release!: (p: Partition) => void;
    open = () => new Promise((resolve) => (release = resolve));
    // Gained under epoch 4: the load waits for the log.
    const stale = topic.load(coordinator, 0, 4);
    await vi.advanceTimersByTimeAsync(0);
    // Lost, and gained again under epoch 6 (its load queues behind the old one).
    topic.cancelLoad(0);
    open = () => Promise.resolve(partition);
    const current = topic.load(coordinator, 0, 6);
    release(partition);
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all([stale, current]);
    expect(calls).toEqual(['records p0 token 6 x1', 'complete p0 token 6']);
  });
});
