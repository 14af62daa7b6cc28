/**
 * The logs this broker serves, on its `/metrics`: log end and start offsets and size per
 * topic-partition, read from the open logs when Prometheus scrapes. Only the partition's current
 * owner has it open, so a partition that moves leaves the old owner's `/metrics` and appears on
 * the new owner's. `topic` is the full topic name, as KoP's series label it.
 */
import type { HostMetrics } from '../../../src/api/index.js';
import type { Partition, PartitionManager } from './partition-manager.js';

export function publishLogMetrics(metrics: HostMetrics, partitions: PartitionManager): void {
  const gauge = (name: string, help: string, value: (p: Partition) => number) =>
    metrics.gauge({
      name,
      help,
      labelNames: ['topic', 'partition'],
      read: (set) => {
        for (const p of partitions.served())
          set({ topic: p.topic, partition: String(p.index) }, value(p));
      },
    });
  gauge(
    'koppa_log_end_offset',
    'Offset the next record appended to the partition gets (acknowledged appends), on its owner',
    (p) => p.log.logEndOffset(),
  );
  gauge(
    'koppa_log_start_offset',
    'First offset of the partition still held (after retention and compaction), on its owner',
    (p) => p.log.logStartOffset(),
  );
  gauge(
    'koppa_log_size_bytes',
    "Bytes of the partition's log, all segments together, on its owner",
    (p) => p.log.sizeInBytes(),
  );
}
