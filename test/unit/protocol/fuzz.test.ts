/**
 * Hostile input: every request decoder, in every version, must either decode or throw
 * ProtocolDecodeError, quickly, whatever bytes a client sends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRequestHeader,
  ProtocolDecodeError,
  Reader,
} from '../../../plugins/kafka/protocol/index.js';
import { codecOf, encode, sample, schemas, versionsOf, type Codec } from './helpers.js';

interface Target {
  name: string;
  version: number;
  codec: Codec;
  /** A valid encoding with every field set, to mutate. */
  seed: Uint8Array;
}

const targets: Target[] = schemas
  .filter((msg) => msg.type === 'request')
  .flatMap((msg) =>
    versionsOf(msg).map((version) => {
      const codec = codecOf(msg);
      const seed = encode(codec, version, sample(msg, version, 'full').input);
      return { name: msg.name, version, codec, seed: new Uint8Array(seed) };
    }),
  );

/** True if decoding returned or was rejected properly; any other error fails the property. */
function decodesOrRejects(t: Target, bytes: Uint8Array): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    t.codec.decode(new Reader(buf), t.version);
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return true;
    throw new Error(`${t.name} v${t.version} threw ${String(err)} on ${buf.toString('hex')}`, {
      cause: err,
    });
  }
  return true;
}

/** Values that make lengths and counts lie: null, negative, huge, over-long varints. */
const LIES = [
  [0xff, 0xff, 0xff, 0xff],
  [0x7f, 0xff, 0xff, 0xff],
  [0x80, 0x00, 0x00, 0x00],
  [0xff, 0xfe],
  [0x7f, 0xff],
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
  [0x00],
];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'lie'; at: number; lie: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('lie' as const), at: fc.nat(), lie: fc.nat(LIES.length - 1) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
);

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Uint8Array.from(seed);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    switch (m.kind) {
      case 'flip':
        if (out.length > 0) out[at] ^= 1 << m.bit;
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'lie': {
        const lie = LIES[m.lie];
        for (let i = 0; i < lie.length && at + i < out.length; i++) out[at + i] = lie[i];
        break;
      }
      case 'insert':
        out = Uint8Array.from([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]);
        break;
    }
  }
  return out;
}

const target = fc.constantFrom(...targets);

describe('request decoders on hostile input', () => {
  it('covers every request version', () => {
    expect(targets.length).toBeGreaterThan(300);
  });

  it('random bytes', () => {
    fc.assert(fc.property(target, fc.uint8Array({ maxLength: 256 }), decodesOrRejects), {
      numRuns: 50_000,
    });
  });

  it('mutated valid requests: bit flips, truncations, lying lengths, insertions', () => {
    fc.assert(
      fc.property(target, fc.array(mutation, { minLength: 1, maxLength: 4 }), (t, ms) =>
        decodesOrRejects(t, mutate(t.seed, ms)),
      ),
      { numRuns: 100_000 },
    );
  });

  it('every truncation of every valid request is rejected', () => {
    for (const t of targets) {
      for (let len = 0; len < t.seed.length; len++) {
        expect(() =>
          t.codec.decode(new Reader(Buffer.from(t.seed.subarray(0, len))), t.version),
        ).toThrow(ProtocolDecodeError);
      }
    }
  });

  it('huge counts fail fast instead of allocating', () => {
    const lies = Buffer.alloc(4096, 0x7f);
    const start = performance.now();
    for (const t of targets) decodesOrRejects(t, lies);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('request headers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeRequestHeader(new Reader(Buffer.from(bytes)));
        } catch (err) {
          if (!(err instanceof ProtocolDecodeError)) throw err;
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
