import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  logDir,
  partitionFromDirName,
  topicDirName,
  topicFromDirName,
} from '../../../src/storage/topic-dirs.js';

describe('topic directory names', () => {
  it('percent-encodes everything but [A-Za-z0-9._-]', () => {
    expect(topicDirName('persistent://public/default/orders')).toBe(
      'persistent%3A%2F%2Fpublic%2Fdefault%2Forders',
    );
    expect(topicDirName('my_topic-1.v2')).toBe('my_topic-1.v2');
    expect(topicDirName('ü %')).toBe('%C3%BC%20%25');
  });

  it('never names the data directory or its parent', () => {
    expect(topicDirName('.')).toBe('%2E');
    expect(topicDirName('..')).toBe('%2E%2E');
    expect(topicDirName('...')).toBe('%2E%2E%2E');
    expect(topicDirName('.a')).toBe('.a');
  });

  it('round-trips any topic name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (topic) => {
        const name = topicDirName(topic);
        expect(name).toMatch(/^[A-Za-z0-9._%-]+$/);
        expect(name).not.toMatch(/^\.{1,2}$/);
        expect(topicFromDirName(name)).toBe(topic);
      }),
    );
  });

  it('rejects names it would not make', () => {
    for (const name of ['%2e', 'a%', 'a%ZZ', '%FF', 'a b', '.', '..', '%41', '']) {
      expect(topicFromDirName(name)).toBeNull();
    }
  });

  it('rejects topic names that cannot be a directory name', () => {
    expect(() => topicDirName('')).toThrow(RangeError);
    expect(() => topicDirName('/'.repeat(100))).toThrow(RangeError);
  });

  it('parses partition directories', () => {
    expect(partitionFromDirName('0')).toBe(0);
    expect(partitionFromDirName('2147483647')).toBe(2147483647);
    for (const name of ['00', '-1', '2147483648', '1a', '', '.3.deleted-x']) {
      expect(partitionFromDirName(name)).toBeNull();
    }
    expect(() => logDir('/data', { topic: 't', partition: -1 })).toThrow(RangeError);
    expect(logDir('/data', { topic: 'a/b', partition: 2 })).toBe('/data/a%2Fb/2');
  });
});
