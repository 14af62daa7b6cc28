/**
 * Bad input closes only the connection it came on (with a logged reason) or gets the Kafka
 * error a Kafka broker would give; a well-behaved client on another connection keeps working.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { captureLogs, type CapturedLogs } from '../helpers/log-capture.js';
import { decodeResponseFrame, encodeRequestFrame, RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';

describe('malformed input', () => {
  let broker: TestBroker;
  let logs: CapturedLogs;
  let producer: Producer;
  let background: Promise<void>;
  let stopBackground = false;
  const acked: number[] = [];

  beforeAll(async () => {
    logs = captureLogs('info');
    broker = await startTestBroker({}, { logger: logs.logger });
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'well-behaved',
      logLevel: logLevel.NOTHING,
    });
    producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    // A well-behaved client producing throughout every bad-input case below.
    background = (async () => {
      for (let i = 0; i < 100_000 && !stopBackground; i++) {
        const [meta] = await producer.send({
          topic: 'well-behaved',
          acks: -1,
          messages: [{ value: `m${i}` }],
        });
        acked.push(Number(meta.baseOffset));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  });

  afterAll(async () => {
    stopBackground = true;
    await background;
    await producer.disconnect();
    await broker.stop();
  });

  const closedWithReason = async (bytes: Buffer, reason: RegExp) => {
    const before = logs.records.length;
    const conn = await RawConnection.open(broker.port);
    conn.write(bytes);
    expect(await conn.waitClosed()).toBe(true);
    const logged = logs.records.slice(before).filter((r) => r.msg === 'closing connection');
    expect(logged.map((r) => String(r.reason))).toContainEqual(expect.stringMatching(reason));
  };

  const frame = (payload: Buffer) => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return Buffer.concat([size, payload]);
  };

  it('closes a connection whose size prefix says 2 GiB, before allocating it', async () => {
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0x7fffffff, 0);
    await closedWithReason(huge, /bad frame/);
    const negative = Buffer.alloc(8);
    negative.writeUInt32BE(0x80000000, 0);
    await closedWithReason(negative, /bad frame/);
  });

  it('closes a connection whose frame holds a truncated request', async () => {
    const good = encodeRequestFrame(ApiKey.Metadata, 9, 7, {
      topics: [{ name: 'well-behaved' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    await closedWithReason(frame(good.subarray(4, good.length - 6)), /malformed request/);
    await closedWithReason(frame(Buffer.from([0, 3])), /malformed request header/);
  });

  it('survives a frame that never completes and a client that vanishes mid-frame', async () => {
    const conn = await RawConnection.open(broker.port);
    const partial = Buffer.alloc(4 + 10);
    partial.writeInt32BE(1000, 0);
    conn.write(partial);
    conn.close();
    const again = await RawConnection.open(broker.port);
    const { body } = await again.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'raw',
      clientSoftwareVersion: '1',
    });
    expect(body.errorCode).toBe(ErrorCode.NONE);
    again.close();
  });

  it('closes connections that send random bytes', async () => {
    for (let i = 0; i < 20; i++) {
      const conn = await RawConnection.open(broker.port);
      const junk = randomBytes(64 + i * 31);
      junk.writeInt32BE(junk.length - 4, 0); // a plausible size, then garbage
      conn.write(junk);
      expect(await conn.waitClosed()).toBe(true);
    }
  });

  it('closes a connection that uses an unknown api key or an unsupported version', async () => {
    const unknown = encodeRequestFrame(ApiKey.ApiVersions, 0, 1, {});
    unknown.writeInt16BE(9999, 4);
    await closedWithReason(unknown, /unknown or unsupported api key/);
    const tooNew = encodeRequestFrame(ApiKey.Metadata, 1, 1, { topics: null });
    tooNew.writeInt16BE(99, 6);
    await closedWithReason(tooNew, /unsupported api version/);
  });

  it('answers an ApiVersions version it does not know with UNSUPPORTED_VERSION in a v0 body', async () => {
    const conn = await RawConnection.open(broker.port);
    const request = encodeRequestFrame(ApiKey.ApiVersions, 3, 42, {
      clientSoftwareName: 'future',
      clientSoftwareVersion: '9',
    });
    request.writeInt16BE(77, 6);
    conn.write(request);
    const response = await conn.readFrame();
    expect(response).not.toBeNull();
    const { correlationId, body } = decodeResponseFrame(ApiKey.ApiVersions, 0, response!);
    expect(correlationId).toBe(42);
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(body.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions)).toEqual({
      apiKey: 18,
      minVersion: 0,
      maxVersion: 4,
    });
    conn.close();
  });

  it('refuses a batch with a bad CRC with CORRUPT_MESSAGE, and a pre-v2 message set too', async () => {
    const conn = await RawConnection.open(broker.port);
    const produce = (records: Buffer) =>
      conn.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: 'well-behaved', partitionData: [{ index: 0, records }] }],
      });
    const bad = buildBatch({ recordCount: 3 });
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0xff, bad.length - 1);
    const corrupt = await produce(bad);
    expect(corrupt.body.responses[0].partitionResponses[0].errorCode).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    const old = await produce(buildBatch({ magic: 1, recordCount: 1 }));
    // Kafka refuses magic 0/1 in Produce v3+ with INVALID_RECORD.
    expect(old.body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_RECORD);
    conn.close();
  });

  it('kept the well-behaved client working throughout, with no gap in its offsets', async () => {
    // Still acknowledged after all the bad input: the next send completes (bounded by 10 s, not
    // by a pace, so a busy machine does not fail it).
    const seen = acked.length;
    for (let waited = 0; acked.length <= seen && waited < 10_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(acked.length).toBeGreaterThan(seen);
    expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i));
  });
});
