/**
 * The records of __consumer_offsets in Kafka's own format, so that a new owner of a partition
 * (and any tool that reads the topic, such as Burrow) understands what another broker wrote.
 *
 * A record key is an int16 version followed by the key struct of that version; a value is an
 * int16 version followed by the value struct; a null value is a tombstone. Key versions:
 *   0, 1  OffsetCommitKey (both have the same fields; Kafka 3.x writes 1)
 *   2     GroupMetadataKey
 *   3+    records of the new consumer-group protocol (KIP-848) and share groups, not ours
 * We write the value versions Kafka 3.x writes (MetadataVersion.offsetCommitValueVersion and
 * groupMetadataValueVersion): OffsetCommitValue v3, or v1 when the commit carries an expire
 * timestamp (v1 is the only version that has one, and it has no leader epoch); GroupMetadataValue
 * v3. Every value version 0..4 is read, with the defaults Kafka's loader applies to older ones.
 */
import {
  decodeGroupMetadataKey,
  encodeGroupMetadataKey,
} from '../protocol/generated/group-metadata-key.js';
import {
  decodeGroupMetadataValue,
  encodeGroupMetadataValue,
  type GroupMetadataValue,
} from '../protocol/generated/group-metadata-value.js';
import {
  decodeOffsetCommitKey,
  encodeOffsetCommitKey,
} from '../protocol/generated/offset-commit-key.js';
import {
  decodeOffsetCommitValue,
  encodeOffsetCommitValue,
  type OffsetCommitValue,
} from '../protocol/generated/offset-commit-value.js';
import { ProtocolDecodeError, Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import type { GroupRecord, MemberRecord, OffsetRecord, StoredRecord } from './types.js';

/** Key version Kafka 3.x writes for offset commits; 0 is read too. */
export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
/** Value version written for a commit without an expire timestamp. */
export const OFFSET_COMMIT_VALUE_VERSION = 3;
/** Value version written for a commit with an expire timestamp (OffsetCommit v2-4 retention). */
export const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;

/** Highest value versions the schemas define; higher ones are refused, as Kafka does. */
const MAX_OFFSET_COMMIT_VALUE_VERSION = 4;
const MAX_GROUP_METADATA_VALUE_VERSION = 4;

/** OffsetCommitRequest.DEFAULT_TIMESTAMP: "no expire timestamp" in a v1 value. */
const NO_EXPIRE_TIMESTAMP = -1;
/** GroupMetadataValue v0-1 carry no state timestamp. */
const NO_TIMESTAMP = -1;

export function encodeStoredRecord(r: StoredRecord): { key: Buffer; value: Buffer | null } {
  const key = new Writer(64);
  if (r.kind === 'offset') {
    key.int16(OFFSET_COMMIT_KEY_VERSION);
    encodeOffsetCommitKey(key, OFFSET_COMMIT_KEY_VERSION, {
      group: r.groupId,
      topic: r.topic,
      partition: r.partition,
    });
    return { key: key.toBuffer(), value: r.value === null ? null : encodeOffsetValue(r.value) };
  }
  key.int16(GROUP_METADATA_KEY_VERSION);
  encodeGroupMetadataKey(key, GROUP_METADATA_KEY_VERSION, { group: r.groupId });
  return { key: key.toBuffer(), value: r.value === null ? null : encodeGroupValue(r.value) };
}

function encodeOffsetValue(v: OffsetRecord): Buffer {
  const version =
    v.expireTimestamp === null
      ? OFFSET_COMMIT_VALUE_VERSION
      : OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY;
  const w = new Writer(64);
  w.int16(version);
  encodeOffsetCommitValue(w, version, {
    offset: v.offset,
    leaderEpoch: v.leaderEpoch,
    metadata: v.metadata,
    commitTimestamp: v.commitTimestamp,
    expireTimestamp: v.expireTimestamp ?? NO_EXPIRE_TIMESTAMP,
  });
  return w.toBuffer();
}

function encodeGroupValue(g: GroupRecord): Buffer {
  const w = new Writer();
  w.int16(GROUP_METADATA_VALUE_VERSION);
  encodeGroupMetadataValue(w, GROUP_METADATA_VALUE_VERSION, {
    protocolType: g.protocolType,
    generation: g.generation,
    protocol: g.protocol,
    leader: g.leader,
    currentStateTimestamp: g.currentStateTimestamp,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeoutMs,
      sessionTimeout: m.sessionTimeoutMs,
      subscription: m.subscription,
      assignment: m.assignment,
    })),
  });
  return w.toBuffer();
}

/**
 * The record with this key and value, or null for a key version that is not an offset commit or
 * classic group (records of the new consumer-group protocol, share groups and later kinds).
 * Control records (transaction markers) must be skipped by the caller from their batch's control
 * flag: their key is not versioned like these. Throws ProtocolDecodeError on malformed bytes and
 * on an unknown value version, as Kafka's loader fails on them. Bytes after a known struct are
 * ignored, as Kafka's readers ignore them. Member subscriptions and assignments are copied, so
 * the result does not pin the buffer it was read from.
 */
export function decodeStoredRecord(key: Buffer, value: Buffer | null): StoredRecord | null {
  const k = new Reader(key);
  const keyVersion = k.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const { group, topic, partition } = decodeOffsetCommitKey(k, keyVersion);
    return {
      kind: 'offset',
      groupId: group,
      topic,
      partition,
      value: value === null ? null : decodeOffsetValue(value),
    };
  }
  if (keyVersion === GROUP_METADATA_KEY_VERSION) {
    const { group } = decodeGroupMetadataKey(k, keyVersion);
    return {
      kind: 'group',
      groupId: group,
      value: value === null ? null : decodeGroupValue(value),
    };
  }
  return null;
}

function valueVersion(r: Reader, max: number, what: string): number {
  const version = r.int16();
  if (version < 0 || version > max) {
    throw new ProtocolDecodeError(`unknown ${what} version ${version}`);
  }
  return version;
}

function decodeOffsetValue(value: Buffer): OffsetRecord {
  const r = new Reader(value);
  const version = valueVersion(r, MAX_OFFSET_COMMIT_VALUE_VERSION, 'OffsetCommitValue');
  const v: OffsetCommitValue = decodeOffsetCommitValue(r, version);
  const expire = v.expireTimestamp ?? NO_EXPIRE_TIMESTAMP;
  return {
    offset: v.offset,
    // Versions before 3 have none: -1, Kafka's "no leader epoch".
    leaderEpoch: v.leaderEpoch ?? -1,
    metadata: v.metadata,
    commitTimestamp: v.commitTimestamp,
    // Only v1 has the field; -1 there means none, as Kafka reads it.
    expireTimestamp: expire === NO_EXPIRE_TIMESTAMP ? null : expire,
  };
}

function decodeGroupValue(value: Buffer): GroupRecord {
  const r = new Reader(value);
  const version = valueVersion(r, MAX_GROUP_METADATA_VALUE_VERSION, 'GroupMetadataValue');
  const g: GroupMetadataValue = decodeGroupMetadataValue(r, version);
  return {
    protocolType: g.protocolType,
    generation: g.generation,
    protocol: g.protocol,
    leader: g.leader,
    // v0-1 have no timestamp: -1, which Kafka's loader reads as "unknown".
    currentStateTimestamp: g.currentStateTimestamp ?? NO_TIMESTAMP,
    members: g.members.map((m): MemberRecord => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId,
      clientHost: m.clientHost,
      // v0 has no rebalance timeout; Kafka's loader uses the session timeout instead.
      rebalanceTimeoutMs: version === 0 ? m.sessionTimeout : (m.rebalanceTimeout ?? -1),
      sessionTimeoutMs: m.sessionTimeout,
      subscription: Buffer.from(m.subscription),
      assignment: Buffer.from(m.assignment),
    })),
  };
}
