/**
 * A long poll on a partition whose log another broker has claimed (in the shared data directory)
 * without this broker knowing yet: the fetch answers NOT_LEADER_OR_FOLLOWER, so the client asks
 * the new leader, and the connection stays open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { FileMessageStore } from '../../src/storage/file-store.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { fetchRequest, RawConnection } from '../helpers/raw-client.js';

const TOPIC = 'claimed';

describe('fetch from a log another owner claimed', () => {
  let broker: TestBroker;
  let conn: RawConnection;
  let other: FileMessageStore;

  beforeAll(async () => {
    broker = await startTestBroker();
    conn = await RawConnection.open(broker.port);
    expect(await conn.createTopic(TOPIC, 1)).toBe(ErrorCode.NONE);
    other = new FileMessageStore({ dataDir: broker.dataDir });
  });
  afterAll(async () => {
    conn.close();
    await other.close();
    await broker.stop();
  });

  it('answers NOT_LEADER_OR_FOLLOWER instead of waiting or failing the connection', async () => {
    // Opened and empty: this broker serves it.
    expect((await conn.fetchPartition(TOPIC, 0, 0)).errorCode).toBe(ErrorCode.NONE);

    await other.openLog(
      { topic: `persistent://public/default/${TOPIC}`, partition: 0 },
      undefined,
      {
        epoch: 99,
        graceMs: 0,
      },
    );
    const { body } = await conn.request(
      ApiKey.Fetch,
      12,
      fetchRequest(TOPIC, [{ partition: 0, fetchOffset: 0 }], { maxWaitMs: 10_000, minBytes: 1 }),
    );
    expect(body.responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The connection serves on.
    expect((await conn.fetchPartition(TOPIC, 0, 0)).errorCode).toBe(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
  });
});
