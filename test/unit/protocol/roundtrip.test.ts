import { describe, expect, it } from 'vitest';
import {
  codecOf,
  decodeAll,
  encode,
  sample,
  schemas,
  versionsOf,
  type SampleMode,
} from './helpers.js';

const modes: SampleMode[] = ['full', 'nulls', 'minimal'];

describe('round trip of every message in every version', () => {
  for (const msg of schemas) {
    it(msg.name, () => {
      const codec = codecOf(msg);
      for (const version of versionsOf(msg)) {
        for (const mode of modes) {
          const { input, expected } = sample(msg, version, mode);
          const bytes = encode(codec, version, input);
          const decoded = decodeAll(codec, version, bytes);
          expect(decoded, `${msg.name} v${version} ${mode}`).toEqual(expected);
          // Decoding fills every field, so re-encoding must give the same bytes.
          expect(
            encode(codec, version, decoded).equals(bytes),
            `v${version} ${mode} re-encode`,
          ).toBe(true);
        }
      }
    });
  }
});
