/**
 * The consumer-group lifecycle every group client goes through in the client tests, on its own
 * topic and group: two members share the partitions and consume every message once; their
 * commits land; one leaves cleanly and the other takes over; a member started later resumes
 * from the committed offsets.
 */
import { describe, expect, it } from 'vitest';
import type { TestBroker } from './broker.js';
import {
  committedOffsets,
  createTopic,
  describeGroup,
  expectedKeys,
  keysOf,
  produceTo,
  valueAt,
  type Consumed,
  type GroupMember,
  type MemberOptions,
} from './group-clients.js';
import { waitFor } from './wait.js';

export interface LifecycleOptions {
  title: string;
  broker: () => TestBroker;
  topic: string;
  group: string;
  /** Starts a member (and registers it for the file's afterAll). */
  spawn: (name: string, options: MemberOptions) => GroupMember | Promise<GroupMember>;
  /** Incremental rebalancing: a member keeps its partitions while others come and go. */
  cooperative?: boolean;
}

const PARTITIONS = 4;
const ALL = Array.from({ length: PARTITIONS }, (_, i) => i);

/** True when the members' held partitions are disjoint, cover every partition and none is idle. */
export function splitBetween(members: GroupMember[], partitions = PARTITIONS): boolean {
  const all = members.flatMap((m) => m.held()).sort((a, b) => a - b);
  return (
    all.length === partitions &&
    all.every((p, i) => p === i) &&
    members.every((m) => m.partitions.size > 0)
  );
}

/** Every consumed message carries the value that was produced at its partition and offset. */
export function expectValuesAsProduced(topic: string, consumed: Consumed[]): void {
  const wrong = consumed.filter((m) => m.value !== valueAt(topic, m.partition, m.offset));
  expect(wrong).toEqual([]);
}

export function describeLifecycle(o: LifecycleOptions): void {
  const { topic, group } = o;
  const member = (name: string) =>
    o.spawn(name, { bootstrap: o.broker().bootstrap, group, topic, clientId: `${group}-${name}` });
  const committed = () => committedOffsets(o.broker().port, group, topic, PARTITIONS);
  const committedAt = (offset: number) =>
    waitFor(
      `${group} to commit offset ${offset} on every partition`,
      async () => (await committed()).every((c) => c === offset),
      15_000,
    );
  let a: GroupMember;
  let b: GroupMember;

  describe(o.title, () => {
    it('two members share the partitions and consume every message once', async () => {
      await createTopic(o.broker().bootstrap, topic, PARTITIONS);
      [a, b] = await Promise.all([member('a'), member('b')]);
      await waitFor('a and b to share the partitions', () => splitBetween([a, b]), 30_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${a.describe()}\n${b.describe()}`);
        },
      );
      // The coordinator's view: the same two members with the same assignments.
      const g = await waitFor(
        'DescribeGroups to show the stable group',
        async () => {
          const d = await describeGroup(o.broker().port, group);
          return d.state === 'Stable' && d.members.length === 2 ? d : null;
        },
        10_000,
      );
      expect(g.protocolType).toBe('consumer');
      const byClient = Object.fromEntries(g.members.map((m) => [m.clientId, m.partitions]));
      expect(byClient).toEqual({ [`${group}-a`]: a.held(), [`${group}-b`]: b.held() });

      // Produced once the group is stable, so no rebalance can replay anything.
      await produceTo(o.broker().bootstrap, topic, PARTITIONS, 0, 50);
      const both = () => [...a.consumed, ...b.consumed];
      await waitFor('200 messages consumed', () => both().length >= 200, 20_000);
      expect(keysOf(both())).toEqual(expectedKeys(ALL, 0, 50));
      expectValuesAsProduced(topic, both());
      for (const m of [a, b])
        expect(new Set(m.consumed.map((x) => x.partition))).toEqual(new Set(m.held()));
    });

    it('commits land: OffsetFetch answers the end of every partition', async () => {
      await committedAt(50);
    });

    it('a member that leaves cleanly hands its partitions to the other', async () => {
      const bKept = b.held();
      const bEvents = b.events.length;
      const bMark = b.consumed.length;
      expect(await a.stop()).toBe(0);
      await waitFor('b to hold every partition', () => b.held().length === PARTITIONS, 15_000);
      const g = await describeGroup(o.broker().port, group);
      expect(g.members.map((m) => [m.clientId, m.partitions])).toEqual([[`${group}-b`, ALL]]);
      if (o.cooperative) {
        // Incremental: b gave nothing back, it only gained a's partitions.
        const since = b.events.slice(bEvents);
        expect(since.filter((e) => e.kind === 'revoked' && e.partitions.length > 0)).toEqual([]);
        expect(since.flatMap((e) => e.partitions).sort()).toEqual(
          ALL.filter((p) => !bKept.includes(p)),
        );
      }

      await produceTo(o.broker().bootstrap, topic, PARTITIONS, 50, 25);
      await waitFor('b to consume the 100 new messages', () => b.consumed.length >= bMark + 100);
      // From a's committed offsets on: nothing a had consumed is read again.
      const after = b.consumed.slice(bMark);
      expect(keysOf(after)).toEqual(expectedKeys(ALL, 50, 75));
      expectValuesAsProduced(topic, after);
      await committedAt(75);
    });

    it('a member started later resumes from the committed offsets', async () => {
      expect(await b.stop()).toBe(0);
      expect(await committed()).toEqual(Array(PARTITIONS).fill(75));
      const empty = await describeGroup(o.broker().port, group);
      expect([empty.state, empty.members]).toEqual(['Empty', []]);

      await produceTo(o.broker().bootstrap, topic, PARTITIONS, 75, 25);
      const c = await member('c');
      await waitFor('c to consume the 100 new messages', () => c.consumed.length >= 100, 30_000);
      expect(c.held()).toEqual(ALL);
      expect(keysOf(c.consumed)).toEqual(expectedKeys(ALL, 75, 100));
      expectValuesAsProduced(topic, c.consumed);
      await committedAt(100);
      expect(await c.stop()).toBe(0);
    });
  });
}
