/**
 * kcat -G (librdkafka 2.x's KafkaConsumer) consumer groups, with range and with
 * cooperative-sticky assignment: two members share a topic and consume every message once,
 * commits land, a member that leaves (SIGINT: close, commit, LeaveGroup) hands its partitions to
 * the other, and a member started later resumes from the committed offsets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { kcatMember, type MemberProcess } from '../helpers/group-clients.js';
import { describeLifecycle } from '../helpers/group-lifecycle.js';

describe('kcat -G consumer groups', () => {
  let broker: TestBroker;
  let dir: string;
  const members: MemberProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-kcat-groups-'));
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

  for (const strategy of ['range', 'cooperative-sticky']) {
    describeLifecycle({
      title: `partition.assignment.strategy=${strategy}`,
      broker: () => broker,
      topic: `kcat-group-${strategy}`,
      group: `kcat-${strategy}`,
      cooperative: strategy === 'cooperative-sticky',
      spawn: (name, options) => {
        const m = kcatMember(name, {
          ...options,
          settings: { 'partition.assignment.strategy': strategy },
        });
        members.push(m);
        return m;
      },
    });
  }
});
