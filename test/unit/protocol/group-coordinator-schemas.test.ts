/**
 * The record formats of __consumer_offsets (../shared/kafka-protocol/group-coordinator) are
 * generated like the protocol's data schemas: every version round-trips, flexible ones included.
 */
import { describe, expect, it } from 'vitest';
import { codecOf, decodeAll, encode, sample, schemas, versionsOf } from './helpers.js';

const NAMES = ['GroupMetadataKey', 'GroupMetadataValue', 'OffsetCommitKey', 'OffsetCommitValue'];

describe('group coordinator record schemas', () => {
  it('are loaded from group-coordinator/ as data schemas', () => {
    const found = schemas.filter((s) => NAMES.includes(s.name));
    expect(found.map((s) => [s.name, s.type, s.file])).toEqual(
      NAMES.map((n) => [n, 'data', `group-coordinator/${n}.json`]),
    );
  });

  for (const name of NAMES) {
    it(`${name} round-trips in every version`, () => {
      const msg = schemas.find((s) => s.name === name)!;
      const codec = codecOf(msg);
      const versions = versionsOf(msg);
      expect(versions.length).toBeGreaterThan(0);
      for (const version of versions) {
        for (const mode of ['full', 'nulls', 'minimal'] as const) {
          const { input, expected } = sample(msg, version, mode);
          const bytes = encode(codec, version, input);
          expect(decodeAll(codec, version, bytes), `${name} v${version} ${mode}`).toEqual(expected);
        }
      }
    });
  }
});
