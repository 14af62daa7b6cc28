/**
 * python consumer groups (test/clients/py/group_consumer.py): kafka-python and confluent-kafka
 * (librdkafka) members share a topic and consume every message once, commit, leave cleanly
 * (SIGINT: close) and hand over, and a member started later resumes from the commits;
 * confluent-kafka also with cooperative-sticky assignment, and static membership: a static member
 * restarted within the session timeout gets its partitions back without a rebalance.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import {
  createTopic,
  describeGroup,
  expectedKeys,
  keysOf,
  produceTo,
  pythonMember,
  type MemberProcess,
} from '../helpers/group-clients.js';
import {
  describeLifecycle,
  expectValuesAsProduced,
  splitBetween,
} from '../helpers/group-lifecycle.js';
import { waitFor } from '../helpers/wait.js';

describe('python consumer groups', () => {
  let broker: TestBroker;
  let dir: string;
  const members: MemberProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-py-groups-'));
    broker = await startTestBroker(
      { groupInitialRebalanceDelayMs: 200, groupMinSessionTimeoutMs: 1000 },
      { dataDir: dir },
    );
  });

  afterAll(async () => {
    for (const m of members) m.kill();
    await Promise.all(members.map((m) => m.exited));
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const scenarios = [
    { lib: 'kafka-python', strategy: undefined },
    { lib: 'confluent', strategy: undefined },
    { lib: 'confluent', strategy: 'cooperative-sticky' },
  ] as const;
  for (const { lib, strategy } of scenarios) {
    const name = strategy ? `${lib}-${strategy}` : lib;
    describeLifecycle({
      title: strategy ? `${lib}, ${strategy}` : lib,
      broker: () => broker,
      topic: `py-group-${name}`,
      group: `py-${name}`,
      cooperative: strategy === 'cooperative-sticky',
      spawn: (member, options) => {
        const settings = strategy ? { 'partition.assignment.strategy': strategy } : undefined;
        const m = pythonMember(member, lib, { ...options, settings });
        members.push(m);
        return m;
      },
    });
  }

  it('confluent-kafka static members: a restart within the session timeout does not rebalance', async () => {
    const topic = 'py-group-static';
    const group = 'py-static';
    await createTopic(broker.bootstrap, topic, 4);
    const staticMember = (instance: string) => {
      const m = pythonMember(instance, 'confluent', {
        bootstrap: broker.bootstrap,
        group,
        topic,
        clientId: `${group}-${instance}`,
        settings: { 'group.instance.id': instance },
      });
      members.push(m);
      return m;
    };
    const a = staticMember('a');
    const b = staticMember('b');
    await waitFor('a and b to share the partitions', () => splitBetween([a, b]), 30_000);
    const before = await waitFor('the stable group', async () => {
      const d = await describeGroup(broker.port, group);
      return d.state === 'Stable' && d.members.length === 2 ? d : null;
    });
    const instances = (d: typeof before) =>
      Object.fromEntries(d.members.map((m) => [m.groupInstanceId, m]));
    expect(instances(before).a.partitions).toEqual(a.held());
    expect(instances(before).b.partitions).toEqual(b.held());

    const aHeld = a.held();
    const bEvents = b.events.length;
    // A static member closes without LeaveGroup: it stays in the group until its session expires.
    expect(await a.stop('SIGINT')).toBe(0);
    const meanwhile = await describeGroup(broker.port, group);
    expect(meanwhile.members.map((m) => m.groupInstanceId).sort()).toEqual(['a', 'b']);

    const again = staticMember('a');
    await waitFor('the restarted a to get partitions', () => again.partitions.size > 0, 15_000);
    expect(again.held()).toEqual(aHeld);

    await produceTo(broker.bootstrap, topic, 4, 0, 25);
    const both = () => [...again.consumed, ...b.consumed];
    await waitFor('100 messages consumed', () => both().length >= 100);
    expect(keysOf(both())).toEqual(expectedKeys([0, 1, 2, 3], 0, 25));
    expectValuesAsProduced(topic, both());
    expect(new Set(again.consumed.map((m) => m.partition))).toEqual(new Set(aHeld));

    // No rebalance: b saw no revoke and no assignment since the first one.
    expect(b.events.slice(bEvents)).toEqual([]);
    const after = await describeGroup(broker.port, group);
    expect(after.state).toBe('Stable');
    expect(instances(after).b.memberId).toBe(instances(before).b.memberId);
    expect(instances(after).a.memberId).not.toBe(instances(before).a.memberId);
    expect(instances(after).a.partitions).toEqual(aHeld);
    expect(instances(after).b.partitions).toEqual(b.held());
  });
});
