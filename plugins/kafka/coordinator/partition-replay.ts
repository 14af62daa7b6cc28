/**
 * Replay of a __consumer_offsets partition into groups, as Kafka's loadGroupsAndOffsets: the
 * latest record per key wins and a tombstone deletes its key.
 */
import { Group } from './group.js';
import { TopicPartitionMap } from './offsets.js';
import type { GroupRecord, OffsetRecord, StoredRecord } from './types.js';

export class PartitionReplay {
  private readonly groupRecords = new Map<string, GroupRecord>();
  private readonly offsets = new Map<string, TopicPartitionMap<OffsetRecord>>();

  add(record: StoredRecord): void {
    if (record.kind === 'group') {
      if (record.value === null) this.groupRecords.delete(record.groupId);
      else this.groupRecords.set(record.groupId, record.value);
      return;
    }
    let offsets = this.offsets.get(record.groupId);
    if (record.value === null) {
      offsets?.delete(record.topic, record.partition);
      return;
    }
    if (offsets === undefined) {
      offsets = new TopicPartitionMap();
      this.offsets.set(record.groupId, offsets);
    }
    offsets.set(record.topic, record.partition, record.value);
  }

  /** Every group with metadata, and every group with only offsets (one that never had members). */
  *groups(offsetsPartition: number, now: number): IterableIterator<Group> {
    const groupIds = new Set([...this.groupRecords.keys(), ...this.offsets.keys()]);
    for (const groupId of groupIds) {
      const record = this.groupRecords.get(groupId) ?? null;
      const offsets = this.offsets.get(groupId);
      if (record === null && (offsets === undefined || offsets.size === 0)) continue;
      yield Group.restore(groupId, offsetsPartition, record, offsets?.entries() ?? [], now);
    }
  }
}
