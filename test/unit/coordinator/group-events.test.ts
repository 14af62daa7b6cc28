/**
 * The coordinator's group events, which the group-id mapping acts on: members added (joined,
 * restarted, restored), members heard from, rebalances completed with their assignments, groups
 * removed, and groups released without anyone leaving (unload, shutdown).
 */
import { describe, expect, it } from 'vitest';
import type { GroupEventListener } from '../../../plugins/kafka/coordinator/types.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import { harness, joinParams, stableGroup, type Harness } from './helpers.js';

function record(h: Harness): string[] {
  const seen: string[] = [];
  const listener: GroupEventListener = {
    memberAdded: (m, how) => seen.push(`added ${m.groupId} ${m.clientId}@${m.clientHost} ${how}`),
    memberSeen: (m) => seen.push(`seen ${m.groupId} ${m.clientId}`),
    assignmentCompleted: (e) =>
      seen.push(
        `assigned ${e.groupId} gen ${e.generationId} ${e.protocolType}: ${e.members
          .map((m) => `${m.clientId}@${m.clientHost}=${m.assignment.toString()}`)
          .join(' ')}`,
      ),
    groupRemoved: (g) => seen.push(`removed ${g}`),
    groupsReleased: (ids) => seen.push(`released ${ids.join(',')}`),
  };
  h.coordinator.onGroupEvents(listener);
  return seen;
}

describe('group events', () => {
  it('tell of joins, the completed assignment, heartbeats and commits', async () => {
    const h = harness();
    const seen = record(h);
    const [a, b] = await stableGroup(h, [
      { clientId: 'a' },
      { clientId: 'b', clientHost: '/10.0.0.2' },
    ]);
    expect(seen).toEqual([
      'added g a@/10.0.0.1 joined',
      'added g b@/10.0.0.2 joined',
      `assigned g gen 1 consumer: a@/10.0.0.1=assignment-${a.memberId} b@/10.0.0.2=assignment-${b.memberId}`,
    ]);
    seen.length = 0;
    await h.coordinator.heartbeat({
      groupId: 'g',
      generationId: 1,
      memberId: b.memberId,
      groupInstanceId: null,
    });
    await h.coordinator.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }],
    });
    expect(seen).toEqual(['seen g b', 'seen g a']);
  });

  it('tell of a static member restarting on another host, and the assignment it now holds', async () => {
    const h = harness();
    await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b', groupInstanceId: 'b-i' }]);
    const seen = record(h);
    const restarted = await h.coordinator.joinGroup(
      joinParams({ clientId: 'b', groupInstanceId: 'b-i', clientHost: '/10.0.0.9' }),
    );
    expect(restarted.errorCode).toBe(ErrorCode.NONE);
    expect(seen[0]).toBe('added g b@/10.0.0.9 restarted');
    expect(seen[1]).toMatch(/^assigned g gen 1 consumer: a@\/10\.0\.0\.1=.* b@\/10\.0\.0\.9=/);
    expect(h.events.map((e) => [e.clientHost, e.reason])).toEqual([['/10.0.0.1', 'fenced']]);
  });

  it('tell of an unload and a shutdown as released groups, with no member removed', async () => {
    const h = harness();
    await stableGroup(h, [{ clientId: 'a' }]);
    await stableGroup(h, [{ clientId: 'b' }], 'other');
    const seen = record(h);
    h.coordinator.unload(h.partitionOf('g'));
    expect(seen).toEqual(['released g']);
    h.coordinator.shutdown();
    expect(seen).toEqual(['released g', 'released other']);
    expect(h.events).toEqual([]);
  });

  it('tell of a deleted group', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{ clientId: 'a' }]);
    await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
    const seen = record(h);
    expect(await h.coordinator.deleteGroups(['g'])).toEqual([{ groupId: 'g', errorCode: 0 }]);
    expect(seen).toEqual(['removed g']);
  });

  it('tell of the members and assignment of a Stable group a load restores', async () => {
    const source = harness();
    const [a] = await stableGroup(source, [{ clientId: 'a' }]);
    const h = harness({}, () => false);
    const seen = record(h);
    const partition = h.partitionOf('g');
    h.coordinator.beginLoad(partition);
    h.coordinator.loadRecords(partition, source.persistence.records);
    h.coordinator.completeLoad(partition);
    expect(seen).toEqual([
      'added g a@/10.0.0.1 restored',
      `assigned g gen 1 consumer: a@/10.0.0.1=assignment-${a.memberId}`,
    ]);
  });
});
