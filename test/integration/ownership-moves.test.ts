/**
 * Partitions move to a broker that joins: a long poll waiting on a moved partition answers at
 * once with NOT_LEADER_OR_FOLLOWER, and Metadata names the new leader with a higher epoch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode, type FetchRequest } from '../../plugins/kafka/protocol/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { decodeResponseFrame, encodeRequestFrame, RawConnection } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'moving';
const PARTITIONS = 12;

describe('ownership moving to a joining broker', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(2, { logFenceGraceMs: 0 });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  const metadata = async (conn: RawConnection) =>
    (
      await conn.request(ApiKey.Metadata, 12, {
        topics: [{ name: TOPIC }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      })
    ).body.topics[0].partitions;

  it('wakes long polls on moved partitions and shows the new leaders', async () => {
    const broker0 = cluster.brokers[0]!;
    const conn = await RawConnection.open(broker0.listeners[0].port);
    await conn.createTopic(TOPIC, PARTITIONS);
    const before = await waitFor('every partition led', async () => {
      const partitions = await metadata(conn);
      return partitions.every((p) => p.leaderId >= 0) ? partitions : null;
    });
    const owned = before.filter((p) => p.leaderId === 0).map((p) => p.partitionIndex);
    expect(owned.length).toBeGreaterThan(0);

    // A long poll on every partition broker 0 leads, far longer than this test may take.
    const poll: FetchRequest = {
      replicaId: -1,
      maxWaitMs: 60_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: TOPIC,
          partitions: owned.map((partition) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
    const poller = await RawConnection.open(broker0.listeners[0].port);
    poller.write(encodeRequestFrame(ApiKey.Fetch, 12, 1, poll));
    await conn.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 't',
      clientSoftwareVersion: '1',
    });

    await cluster.addBroker();
    const answer = decodeResponseFrame(ApiKey.Fetch, 12, (await poller.readFrame(20_000))!);
    const moved = answer.body.responses[0].partitions.filter(
      (p) => p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    expect(moved.length).toBeGreaterThan(0);

    const after = await waitFor('the moved partitions led by broker 2', async () => {
      const partitions = await metadata(conn);
      return moved.every((m) => partitions[m.partitionIndex].leaderId === 2) ? partitions : null;
    });
    for (const m of moved) {
      expect(after[m.partitionIndex].leaderEpoch).toBeGreaterThan(
        before[m.partitionIndex].leaderEpoch!,
      );
    }
    poller.close();
    conn.close();
  });
});
