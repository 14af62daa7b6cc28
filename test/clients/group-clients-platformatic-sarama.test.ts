/**
 * @platformatic/kafka (flexible versions only: JoinGroup 6+, SyncGroup 5+, OffsetCommit 8+,
 * OffsetFetch 8+) Consumers with a groupId go through the group lifecycle; a sarama (Go, from
 * Debian) consumer group joins, consumes every message, commits, and a later run resumes there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import {
  committedOffsets,
  createTopic,
  describeGroup,
  expectedKeys,
  keysOf,
  PlatformaticMember,
  produceTo,
  type Consumed,
  type GroupMember,
} from '../helpers/group-clients.js';
import { describeLifecycle, expectValuesAsProduced } from '../helpers/group-lifecycle.js';
import { jsonLines, run } from '../helpers/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('@platformatic/kafka and sarama consumer groups', () => {
  let broker: TestBroker;
  let dir: string;
  let sarama: string;
  const members: GroupMember[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-js-go-groups-'));
    broker = await startTestBroker(
      { groupInitialRebalanceDelayMs: 200, groupMinSessionTimeoutMs: 1000 },
      { dataDir: join(dir, 'data') },
    );
    sarama = join(dir, 'sarama-group');
    await promisify(execFile)('go', ['build', '-o', sarama, './test/clients/go/sarama-group'], {
      cwd: ROOT,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: '/usr/share/gocode',
        GOCACHE: join(dir, 'gocache'),
      },
    });
  }, 120_000);

  afterAll(async () => {
    for (const m of members) m.kill();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describeLifecycle({
    title: '@platformatic/kafka',
    broker: () => broker,
    topic: 'platformatic-group',
    group: 'platformatic',
    spawn: async (name, options) => {
      const m = await PlatformaticMember.start(name, options);
      members.push(m);
      return m;
    },
  });

  describe('sarama', () => {
    const topic = 'sarama-group';
    const group = 'sarama';
    const runSarama = async (count: number) => {
      const { stdout } = await run(sarama, [broker.bootstrap, group, topic, String(count), '30'], {
        timeoutMs: 45_000,
      });
      const lines = jsonLines<Consumed & { done?: number }>(stdout);
      return { consumed: lines.filter((l) => l.done === undefined), done: lines.at(-1)?.done };
    };

    it('a sarama group member joins, consumes every message and commits', async () => {
      await createTopic(broker.bootstrap, topic, 4);
      await produceTo(broker.bootstrap, topic, 4, 0, 50);
      const { consumed, done } = await runSarama(200);
      expect(done).toBe(200);
      expect(keysOf(consumed)).toEqual(expectedKeys([0, 1, 2, 3], 0, 50));
      expectValuesAsProduced(topic, consumed);
      expect(await committedOffsets(broker.port, group, topic, 4)).toEqual([50, 50, 50, 50]);
      const g = await describeGroup(broker.port, group);
      expect([g.state, g.protocolType, g.members]).toEqual(['Empty', 'consumer', []]);
    });

    it('a later sarama member resumes from the committed offsets', async () => {
      await produceTo(broker.bootstrap, topic, 4, 50, 25);
      const { consumed, done } = await runSarama(100);
      expect(done).toBe(100);
      expect(keysOf(consumed)).toEqual(expectedKeys([0, 1, 2, 3], 50, 75));
      expect(await committedOffsets(broker.port, group, topic, 4)).toEqual([75, 75, 75, 75]);
    });
  });
});
