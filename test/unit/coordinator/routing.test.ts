/** Routing a request to its group's __consumer_offsets partition hashes each group id once. */
import { describe, expect, it, vi } from 'vitest';
import * as placement from '../../../plugins/kafka/coordinator/placement.js';
import { harness, stableGroup } from './helpers.js';

vi.mock('../../../plugins/kafka/coordinator/placement.js', async (importOriginal) => {
  const original = await importOriginal<typeof placement>();
  return { ...original, offsetsPartitionFor: vi.fn(original.offsetsPartitionFor) };
});

const hashed = vi.mocked(placement.offsetsPartitionFor);

describe('routing', () => {
  it('remembers the partition of a group id instead of hashing it on every heartbeat', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    const heartbeat = () =>
      h.coordinator.heartbeat({
        groupId: 'g',
        generationId: a.generationId,
        memberId: a.memberId,
        groupInstanceId: null,
      });
    await heartbeat();
    hashed.mockClear();
    for (let i = 0; i < 100; i++) await heartbeat();
    expect(hashed).not.toHaveBeenCalled();
  });

  it('remembers a bounded number of group ids, forgetting the oldest first', () => {
    const h = harness();
    const ids = Array.from({ length: 10_001 }, (_, i) => `group-${i}`);
    h.coordinator.describeGroups(ids);
    hashed.mockClear();
    h.coordinator.describeGroups(ids.slice(1));
    expect(hashed).not.toHaveBeenCalled();
    h.coordinator.describeGroups([ids[0]]);
    expect(hashed).toHaveBeenCalledTimes(1);
    expect(hashed).toHaveBeenCalledWith(ids[0], h.config.offsetsTopicNumPartitions);
  });
});
