/** Hand-checked byte layouts, so the codec is not only consistent with itself. */
import { describe, expect, it } from 'vitest';
import {
  ApiKey,
  apiKeyNames,
  apis,
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeFetchRequest,
  decodeMetadataRequest,
  decodeProduceRequest,
  decodeRequestHeader,
  encodeApiVersionsResponse,
  encodeFetchResponse,
  encodeMetadataRequest,
  encodeResponseHeader,
  ErrorCode,
  errorName,
  lookupApi,
  ProtocolDecodeError,
  Reader,
  Writer,
  ZERO_UUID,
} from '../../../plugins/kafka/protocol/index.js';
import { inVersions } from '../../../plugins/kafka/scripts/generate-protocol.js';
import { codecOf, decodeAll, encode, sample, schemas, versionsOf } from './helpers.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');

describe('request frames', () => {
  it('ApiVersions v0: header v1, empty body', () => {
    const r = new Reader(hex(`0012 0000 00000001 0003 ${str('abc')}`));
    expect(decodeRequestHeader(r)).toEqual({
      apiKey: 18,
      apiVersion: 0,
      correlationId: 1,
      clientId: 'abc',
      headerVersion: 1,
      supported: true,
    });
    expect(decodeApiVersionsRequest(r, 0)).toEqual({
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    });
    expect(r.remaining).toBe(0);
  });

  it('ApiVersions v3: header v2 keeps an int16 client id, body is compact and tagged', () => {
    const frame = hex(
      `0012 0003 00000007 0003 ${str('abc')} 00` + // header v2: tagged fields after client id
        `0a ${str('koppa-cli')} 04 ${str('1.0')} 00`,
    );
    const r = new Reader(frame);
    const h = decodeRequestHeader(r);
    expect(h).toMatchObject({ apiKey: 18, apiVersion: 3, correlationId: 7, headerVersion: 2 });
    expect(decodeApiVersionsRequest(r, 3)).toEqual({
      clientSoftwareName: 'koppa-cli',
      clientSoftwareVersion: '1.0',
    });
    expect(r.remaining).toBe(0);
  });

  it('Metadata v1: nullable topic array', () => {
    const r = new Reader(hex(`00000002 0003 ${str('foo')} 0001 ${str('b')}`));
    expect(decodeMetadataRequest(r, 1)).toEqual({
      topics: [
        { topicId: ZERO_UUID, name: 'foo' },
        { topicId: ZERO_UUID, name: 'b' },
      ],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const all = new Writer();
    encodeMetadataRequest(all, 1, { topics: null });
    expect(all.toBuffer().toString('hex')).toBe('ffffffff');
    // v0 has no null: "all topics" is the empty array there.
    const v0 = new Writer();
    encodeMetadataRequest(v0, 0, { topics: null });
    expect(v0.toBuffer().toString('hex')).toBe('00000000');
  });

  it('ControlledShutdown v0 uses request header v0, without client id', () => {
    const r = new Reader(hex('0007 0000 00000005 00000003'));
    expect(decodeRequestHeader(r)).toMatchObject({
      apiKey: 7,
      correlationId: 5,
      clientId: null,
      headerVersion: 0,
    });
    expect(r.int32()).toBe(3);
  });

  it('unknown apis and versions are read with a v1 header and flagged', () => {
    const unknown = new Reader(hex(`03e7 0001 00000009 ffff 1234`));
    expect(decodeRequestHeader(unknown)).toMatchObject({
      apiKey: 999,
      correlationId: 9,
      clientId: null,
      headerVersion: 1,
      supported: false,
    });
    expect(unknown.remaining).toBe(2);
    // A newer ApiVersions than ours is flexible, so its header has a tag section too.
    const newer = new Reader(hex(`0012 0063 0000000a 0001 ${str('x')} 00`));
    expect(decodeRequestHeader(newer)).toMatchObject({ apiVersion: 99, supported: false });
    expect(newer.remaining).toBe(0);
  });

  it('Produce v3 records are a view into the frame', () => {
    const records = Buffer.alloc(2000, 0xab);
    const frame = Buffer.concat([
      hex(`ffff 0001 00001388 00000001 0001 ${str('t')} 00000001 00000000 000007d0`),
      records,
    ]);
    const m = decodeProduceRequest(new Reader(frame), 3);
    const got = m.topicData[0].partitionData[0].records;
    expect(got?.equals(records)).toBe(true);
    expect(got?.buffer).toBe(frame.buffer);
    expect(m).toMatchObject({ transactionalId: null, acks: 1, timeoutMs: 5000 });
  });
});

describe('responses', () => {
  it('ApiVersions v0 response with header v0', () => {
    const w = new Writer();
    encodeResponseHeader(w, ApiKey.ApiVersions, 0, 1);
    encodeApiVersionsResponse(w, 0, {
      errorCode: 0,
      apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 9 }],
    });
    expect(w.toBuffer().toString('hex')).toBe(
      '00000001' + '0000' + '00000001 000000000009'.replace(/ /g, ''),
    );
  });

  it('ApiVersions v3 response keeps header v0; tagged fields only when not default', () => {
    const w = new Writer();
    encodeResponseHeader(w, ApiKey.ApiVersions, 3, 2);
    encodeApiVersionsResponse(w, 3, {
      errorCode: 35,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
    });
    expect(w.toBuffer().toString('hex')).toBe(
      '00000002' + '0023' + '02 0012 0000 0004 00'.replace(/ /g, '') + '00000000' + '00',
    );

    const tagged = new Writer();
    encodeApiVersionsResponse(tagged, 3, {
      errorCode: 0,
      apiKeys: [],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 5,
    });
    const buf = tagged.toBuffer();
    expect(buf.toString('hex')).toBe(
      '0000' + '01' + '00000000' + '01 01 08 0000000000000005'.replace(/ /g, ''),
    );
    expect(decodeApiVersionsResponse(new Reader(buf), 3)).toMatchObject({
      finalizedFeaturesEpoch: 5,
      zkMigrationReady: false,
      supportedFeatures: [],
    });
  });

  it('flexible responses get header v1, others v0', () => {
    const v = (apiKey: number, version: number): string => {
      const w = new Writer();
      encodeResponseHeader(w, apiKey, version, 0x01020304);
      return w.toBuffer().toString('hex');
    };
    expect(v(ApiKey.Metadata, 8)).toBe('01020304');
    expect(v(ApiKey.Metadata, 9)).toBe('0102030400');
    expect(v(ApiKey.Fetch, 12)).toBe('0102030400');
    expect(v(12345, 0)).toBe('01020304');
  });

  it('Fetch response carries a large record set without copying it', () => {
    const records = Buffer.alloc(64 * 1024, 1);
    const w = new Writer();
    encodeFetchResponse(w, 4, {
      throttleTimeMs: 0,
      responses: [
        {
          topic: 't',
          partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 10, records }],
        },
      ],
    });
    expect(w.finish()).toContain(records);
  });
});

describe('tagged fields', () => {
  // tag count 2: tag 1000 with 2 bytes, tag 1001 empty.
  const unknownTags = hex(`02 e807 02 ${str('zz')} e907 00`);

  it('unknown tags at the end of every flexible message are skipped', () => {
    let checked = 0;
    for (const msg of schemas) {
      const codec = codecOf(msg);
      for (const version of versionsOf(msg)) {
        if (!inVersions(msg.flexibleVersions, version)) continue;
        // With no tagged field set, the message ends with an empty tag section: one 0 byte.
        const plain = encode(codec, version, sample(msg, version, 'minimal').input);
        expect(plain[plain.length - 1]).toBe(0);
        const withTags = Buffer.concat([plain.subarray(0, plain.length - 1), unknownTags]);
        expect(decodeAll(codec, version, withTags), `${msg.name} v${version}`).toEqual(
          decodeAll(codec, version, plain),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('unknown tags inside nested structs are skipped, known ones read', () => {
    // Fetch v12, one topic with one partition whose tag section holds an unknown tag.
    const frame = hex(
      '00000000 000001f4 00000001 00100000 01 00000000 00000000' + // replica..sessionEpoch
        `02 02 ${str('t')}` + // topics: 1, name "t"
        '02 00000000 ffffffff 0000000000000064 ffffffff ffffffffffffffff 00100000' + // partition
        `01 05 03 ${str('abc')}` + // partition tags: unknown tag 5
        '00' + // topic tags
        '01 01' + // forgotten topics: empty; rack id ""
        `01 00 02 02 ${str('c')}`, // message tags: ClusterId (tag 0) = "c"
    );
    const r = new Reader(frame);
    const m = decodeFetchRequest(r, 12);
    expect(r.remaining).toBe(0);
    expect(m.clusterId).toBe('c');
    expect(m.topics[0].partitions[0]).toMatchObject({ partition: 0, fetchOffset: 100 });
  });

  it('a known tag whose size disagrees with its value is an error', () => {
    // ApiVersions v3 response, FinalizedFeaturesEpoch (tag 1) announced as 4 bytes.
    const bad = hex('0000 01 00000000 01 01 04 0000000000000005');
    expect(() => decodeApiVersionsResponse(new Reader(bad), 3)).toThrow(ProtocolDecodeError);
  });
});

describe('tables', () => {
  it('api keys, versions and error codes', () => {
    expect(ApiKey.Produce).toBe(0);
    expect(ApiKey.ApiVersions).toBe(18);
    expect(apiKeyNames[ApiKey.DescribeTopicPartitions]).toBe('DescribeTopicPartitions');
    expect(apis[ApiKey.ApiVersions]).toMatchObject({ minVersion: 0, maxVersion: 4 });
    expect(apis[ApiKey.Metadata].isFlexible(9)).toBe(true);
    expect(apis[ApiKey.Metadata].requestHeaderVersion(8)).toBe(1);
    expect(apis[ApiKey.ApiVersions].responseHeaderVersion(4)).toBe(0);
    expect(apis[ApiKey.ControlledShutdown].requestHeaderVersion(0)).toBe(0);
    expect(apis[ApiKey.ControlledShutdown].requestHeaderVersion(3)).toBe(2);
    expect(lookupApi(ApiKey.Fetch)?.name).toBe('Fetch');
    expect(lookupApi(-1)).toBeUndefined();
    expect(lookupApi(1000)).toBeUndefined();
    expect(ErrorCode.UNSUPPORTED_VERSION).toBe(35);
    expect(ErrorCode.UNKNOWN_SERVER_ERROR).toBe(-1);
    expect(errorName(3)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(errorName(9999)).toBe('UNKNOWN_ERROR_CODE_9999');
  });
});
