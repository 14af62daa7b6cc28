/**
 * Where a partition's log lives: `<dataDir>/<topic dir>/<partition>/`. The topic dir is one path
 * component, the topic's UTF-8 bytes with everything outside [A-Za-z0-9._-] percent-encoded
 * (`persistent://public/default/orders` -> `persistent%3A%2F%2Fpublic%2Fdefault%2Forders`).
 * One component rather than nesting on '/' so that no topic's directory can contain another's,
 * and the mapping is reversible for listLogs without any side file.
 */
import path from 'node:path';
import type { TopicPartition } from './types.js';

/** Most file systems cap a name at 255 bytes. */
const MAX_NAME_BYTES = 255;
const ENCODED_NAME = /^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+$/;
const PARTITION_NAME = /^(?:0|[1-9][0-9]{0,9})$/;

function isSafe(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x2d // -
  );
}

export function topicDirName(topic: string): string {
  if (topic.length === 0) throw new RangeError('topic name is empty');
  const bytes = Buffer.from(topic, 'utf8');
  // "." and ".." would name the data dir or its parent.
  const allDots = bytes.every((b) => b === 0x2e);
  let name = '';
  for (const byte of bytes) {
    name +=
      isSafe(byte) && !allDots
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name.length > MAX_NAME_BYTES) {
    throw new RangeError(`topic name ${JSON.stringify(topic)} is too long for a directory name`);
  }
  return name;
}

/** The topic a directory name stands for; null when it is not a name topicDirName makes. */
export function topicFromDirName(name: string): string | null {
  if (!ENCODED_NAME.test(name)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '%') {
      bytes.push(parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(name.charCodeAt(i));
    }
  }
  let topic: string;
  try {
    topic = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
  // Only the canonical spelling counts, so two directories never map to one topic.
  return topicDirName(topic) === name ? topic : null;
}

export function partitionFromDirName(name: string): number | null {
  if (!PARTITION_NAME.test(name)) return null;
  const partition = Number(name);
  return partition <= 2 ** 31 - 1 ? partition : null;
}

export function logDir(dataDir: string, tp: TopicPartition): string {
  if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition > 2 ** 31 - 1) {
    throw new RangeError(`invalid partition ${tp.partition}`);
  }
  return path.join(dataDir, topicDirName(tp.topic), String(tp.partition));
}

/** A map key for a partition (topics may contain any character, so no separator is safe). */
export function partitionKey(tp: TopicPartition): string {
  return JSON.stringify([tp.topic, tp.partition]);
}
