/**
 * Shared helpers for the protocol tests: the parsed schemas (from the generator's own model), the
 * generated codec of each message, and a builder of sample messages for any version.
 */
import {
  inVersions,
  isRequired,
  loadSchemas,
  type FieldSpec,
  type FieldType,
  type MessageSpec,
  type StructSpec,
} from '../../../plugins/kafka/scripts/generate-protocol.js';
import * as generated from '../../../plugins/kafka/protocol/generated/index.js';
import * as requestHeader from '../../../plugins/kafka/protocol/generated/request-header.js';
import * as responseHeader from '../../../plugins/kafka/protocol/generated/response-header.js';
import { EMPTY_BUFFER, Reader, ZERO_UUID } from '../../../plugins/kafka/protocol/reader.js';
import { Writer } from '../../../plugins/kafka/protocol/writer.js';

export type Message = Record<string, unknown>;

export interface Codec {
  decode(r: Reader, version: number): Message;
  encode(w: Writer, version: number, m: Message): void;
}

export const schemas: MessageSpec[] = loadSchemas();

const modules: Record<string, unknown> = { ...generated, ...requestHeader, ...responseHeader };

export function codecOf(msg: MessageSpec): Codec {
  const decode = modules[`decode${msg.name}`];
  const encode = modules[`encode${msg.name}`];
  if (typeof decode !== 'function' || typeof encode !== 'function') {
    throw new Error(`no codec for ${msg.name}`);
  }
  return { decode, encode } as Codec;
}

export function versionsOf(msg: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = msg.validVersions.lo; v <= msg.validVersions.hi; v++) out.push(v);
  return out;
}

export function encode(codec: Codec, version: number, m: Message): Buffer {
  const w = new Writer();
  codec.encode(w, version, m);
  const length = w.length;
  const buf = w.toBuffer();
  if (buf.length !== length) throw new Error(`writer length ${length} != ${buf.length} bytes`);
  return buf;
}

/** Decodes and checks that exactly the whole buffer was consumed. */
export function decodeAll(codec: Codec, version: number, buf: Buffer): Message {
  const r = new Reader(buf);
  const m = codec.decode(r, version);
  if (r.offset !== buf.length) throw new Error(`decoded ${r.offset} of ${buf.length} bytes`);
  return m;
}

function isNullableIn(f: FieldSpec, version: number): boolean {
  return inVersions(f.nullable, version);
}

/** The default of a field as the decoder produces it for a version lacking the field. */
export function defaultValue(f: FieldSpec): unknown {
  if (f.default === null) return null;
  if (f.default !== 'zero') return f.default;
  return zeroValue(f.type);
}

function zeroValue(t: FieldType): unknown {
  if (t.kind === 'array') return [];
  if (t.kind === 'struct') {
    return Object.fromEntries(t.struct.fields.map((f) => [f.prop, defaultValue(f)]));
  }
  switch (t.name) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return EMPTY_BUFFER;
    case 'uuid':
      return ZERO_UUID;
    case 'records':
      return null;
    default:
      return 0;
  }
}

/**
 * How samples are chosen: 'full' gives every field present in the version a non-default value,
 * 'nulls' is the same but null wherever the version allows null, 'minimal' sets required fields
 * to their defaults and leaves optional ones out.
 */
export type SampleMode = 'full' | 'nulls' | 'minimal';

export interface Sample {
  /** What to encode. */
  input: Message;
  /** What decoding the encoding must give. */
  expected: Message;
}

/** Deterministic sample values; `n` makes each field's value distinct. */
class SampleBuilder {
  private n = 0;

  constructor(
    private readonly version: number,
    private readonly mode: SampleMode,
  ) {}

  struct(s: StructSpec): Sample {
    const input: Message = {};
    const expected: Message = {};
    for (const f of s.fields) {
      if (!inVersions(f.versions, this.version)) {
        expected[f.prop] = defaultValue(f);
        continue;
      }
      if (this.mode === 'minimal') {
        const m = this.minimal(f, s);
        if (m.input !== undefined) input[f.prop] = m.input;
        expected[f.prop] = m.expected;
        continue;
      }
      const sample =
        this.mode === 'nulls' && isNullableIn(f, this.version)
          ? { input: null, expected: null }
          : this.value(f.type, f);
      input[f.prop] = sample.input;
      expected[f.prop] = sample.expected;
    }
    return { input, expected };
  }

  /** Required fields get their default, optional ones are left out. */
  private minimal(f: FieldSpec, s: StructSpec): { input?: unknown; expected: unknown } {
    const required = isRequired(f, s);
    if (f.type.kind === 'struct' && f.default === 'zero') {
      const sub = this.struct(f.type.struct);
      return required ? sub : { expected: sub.expected };
    }
    let v = defaultValue(f);
    // Where the version forbids null, a null default is written (and read back) as the zero.
    if (v === null && f.tag === undefined && !isNullableIn(f, this.version)) {
      v =
        f.type.kind === 'primitive' && f.type.name === 'records' ? EMPTY_BUFFER : zeroValue(f.type);
    }
    return required ? { input: v, expected: v } : { expected: v };
  }

  private value(t: FieldType, f: FieldSpec): { input: unknown; expected: unknown } {
    if (t.kind === 'struct') return this.struct(t.struct);
    if (t.kind === 'array') {
      const a = this.value(t.element, f);
      const b = this.value(t.element, f);
      return { input: [a.input, b.input], expected: [a.expected, b.expected] };
    }
    const n = ++this.n;
    // Never the default, so tagged fields are written and nothing passes by accident.
    let value = this.primitive(t.name, n);
    if (value === f.default) value = this.primitive(t.name, n + 1);
    return { input: value, expected: value };
  }

  private primitive(name: string, n: number): unknown {
    const sign = n % 2 === 0 ? 1 : -1;
    switch (name) {
      case 'bool':
        return n % 2 === 0;
      case 'int8':
        return sign * (n % 120) || 7;
      case 'int16':
        return sign * (1000 + n);
      case 'uint16':
        return 40000 + n;
      case 'int32':
        return sign * (100000 + n * 7919);
      case 'int64':
        return sign * (2 ** 40 + n * 1_000_003);
      case 'float64':
        return sign * (n + 0.25);
      case 'string':
        return `s${n}-é✓`;
      case 'bytes':
        return Buffer.from([n & 0xff, 1, 2, 3]);
      case 'records':
        return Buffer.from([n & 0xff, 9, 8, 7, 6]);
      case 'uuid': {
        const b = Buffer.alloc(16, n & 0xff);
        b[0] = 0xa5;
        return b;
      }
      default:
        throw new Error(`no sample for ${name}`);
    }
  }
}

export function sample(msg: MessageSpec, version: number, mode: SampleMode): Sample {
  const top = msg.structs.find((s) => s.name === msg.name);
  if (!top) throw new Error(`no top struct in ${msg.name}`);
  return new SampleBuilder(version, mode).struct(top);
}
