/**
 * Generates the Kafka wire codec (plugins/kafka/protocol/generated/) from Apache Kafka's message
 * schemas in ../shared/kafka-protocol (or $KAFKA_PROTOCOL_DIR, relative to the repo root): the
 * protocol's messages (message/) and the __consumer_offsets record formats (group-coordinator/).
 *
 * Each schema becomes one module with its interfaces and a straight-line decoder and encoder per
 * struct; version checks are simplified against the versions a struct can occur in, so most fields
 * compile to a single call. The schema model below is exported for the protocol tests.
 *
 * Run with `npm run generate:protocol`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

/** An inclusive version range; empty when lo > hi. `hi` is Infinity for "N+". */
export interface Versions {
  readonly lo: number;
  readonly hi: number;
}

export const NO_VERSIONS: Versions = { lo: 1, hi: 0 };

export function parseVersions(text: string | undefined): Versions {
  if (text === undefined || text === 'none') return NO_VERSIONS;
  let m = /^(\d+)\+$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  if (/^\d+$/.test(text)) return { lo: Number(text), hi: Number(text) };
  throw new Error(`bad version range ${JSON.stringify(text)}`);
}

export function isEmpty(v: Versions): boolean {
  return v.lo > v.hi;
}

export function intersect(a: Versions, b: Versions): Versions {
  const r = { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
  return isEmpty(r) ? NO_VERSIONS : r;
}

export function inVersions(v: Versions, version: number): boolean {
  return version >= v.lo && version <= v.hi;
}

function covers(outer: Versions, inner: Versions): boolean {
  return isEmpty(inner) || (outer.lo <= inner.lo && outer.hi >= inner.hi);
}

function formatVersions(v: Versions): string {
  if (isEmpty(v)) return 'none';
  if (v.hi === Infinity) return `${v.lo}+`;
  return v.lo === v.hi ? `${v.lo}` : `${v.lo}-${v.hi}`;
}

// ---------------------------------------------------------------------------------------------
// Schema model
// ---------------------------------------------------------------------------------------------

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

const PRIMITIVES = new Set<string>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'int64',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
]);

export type FieldType =
  | { readonly kind: 'primitive'; readonly name: Primitive }
  | { readonly kind: 'struct'; readonly struct: StructSpec }
  | { readonly kind: 'array'; readonly element: FieldType };

/** A field's default: an explicit value, null, or the zero of its type ('zero'). */
export type FieldDefault = number | boolean | string | null | 'zero';

export interface FieldSpec {
  readonly name: string;
  /** Property name in the generated interface. */
  readonly prop: string;
  readonly type: FieldType;
  readonly about: string;
  readonly versions: Versions;
  readonly nullable: Versions;
  /** Versions in which the field is encoded compactly when the message is flexible. */
  readonly flexible: Versions;
  readonly tag: number | undefined;
  readonly tagged: Versions;
  readonly default: FieldDefault;
}

export interface StructSpec {
  /** Name in the schema. */
  readonly name: string;
  /** Interface name in the generated code. */
  readonly typeName: string;
  /** Versions of the message in which this struct can occur. */
  readonly versions: Versions;
  readonly fields: FieldSpec[];
}

export interface MessageSpec {
  readonly file: string;
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | undefined;
  readonly validVersions: Versions;
  readonly flexibleVersions: Versions;
  readonly latestVersionUnstable: boolean;
  /** The message itself, then nested structs depth-first, then common structs. */
  readonly structs: StructSpec[];
}

interface RawField {
  name: string;
  type: string;
  versions: string;
  about?: string;
  nullableVersions?: string;
  flexibleVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: RawField[];
}

interface RawSchema {
  apiKey?: number;
  type: MessageSpec['type'];
  name: string;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: { name: string; versions: string; fields: RawField[] }[];
}

/** Removes `//` comments outside string literals. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function camelCase(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function parseDefault(raw: RawField, type: FieldType, nullable: Versions): FieldDefault {
  const where = `${raw.name} (${raw.type})`;
  if (raw.default === undefined) {
    // Kafka's own default for a nullable field is its zero; following the project's convention,
    // nullable fields without an explicit default default to null, records always.
    if (type.kind === 'primitive' && type.name === 'records') return null;
    return isEmpty(nullable) ? 'zero' : null;
  }
  const text = String(raw.default);
  if (text === 'null') {
    if (isEmpty(nullable) && !(type.kind === 'primitive' && type.name === 'records')) {
      throw new Error(`${where}: default null on a non-nullable field`);
    }
    return null;
  }
  if (type.kind !== 'primitive') throw new Error(`${where}: unsupported default ${text}`);
  switch (type.name) {
    case 'bool':
      if (text !== 'true' && text !== 'false') throw new Error(`${where}: bad default ${text}`);
      return text === 'true';
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'int64': {
      const hex = /^(-?)0x([0-9a-f]+)$/i.exec(text);
      const n = hex ? (hex[1] ? -1 : 1) * parseInt(hex[2], 16) : Number(text);
      if (!Number.isSafeInteger(n)) throw new Error(`${where}: bad default ${text}`);
      return n;
    }
    case 'float64':
      return Number(text);
    case 'string':
      return text;
    default:
      throw new Error(`${where}: unsupported default ${text}`);
  }
}

function parseSchema(file: string, raw: RawSchema): MessageSpec {
  const validVersions = parseVersions(raw.validVersions);
  const flexibleVersions = parseVersions(raw.flexibleVersions);
  if (!isEmpty(flexibleVersions) && flexibleVersions.hi !== Infinity) {
    throw new Error(`${file}: flexible versions must be open-ended`);
  }
  const structs: StructSpec[] = [];
  const common = new Map<string, StructSpec>();
  const seen = new Set<string>();

  const declare = (name: string, versions: Versions): StructSpec => {
    if (seen.has(name)) throw new Error(`${file}: struct ${name} defined twice`);
    seen.add(name);
    const struct: StructSpec = {
      name,
      // Prefix with the message name to keep struct names unique across messages, unless the
      // schema already did (MetadataResponseTopic, not MetadataResponseMetadataResponseTopic).
      typeName: name.startsWith(raw.name) ? name : raw.name + name,
      versions,
      fields: [],
    };
    structs.push(struct);
    return struct;
  };

  const define = (struct: StructSpec, rawFields: RawField[]): StructSpec => {
    struct.fields.push(...rawFields.map((f) => parseField(f, struct.versions)));
    const props = new Set<string>();
    for (const f of struct.fields) {
      if (props.has(f.prop))
        throw new Error(`${file}: duplicate field ${f.prop} in ${struct.name}`);
      props.add(f.prop);
    }
    return struct;
  };

  const parseType = (f: RawField, text: string, versions: Versions): FieldType => {
    if (text.startsWith('[]')) {
      return { kind: 'array', element: parseType(f, text.slice(2), versions) };
    }
    if (PRIMITIVES.has(text)) return { kind: 'primitive', name: text as Primitive };
    if (f.fields) return { kind: 'struct', struct: define(declare(text, versions), f.fields) };
    const struct = common.get(text);
    if (!struct) throw new Error(`${file}: unknown type ${text} of ${f.name}`);
    return { kind: 'struct', struct };
  };

  const parseField = (f: RawField, parent: Versions): FieldSpec => {
    const versions = intersect(parseVersions(f.versions), validVersions);
    const nullable = intersect(parseVersions(f.nullableVersions), versions);
    const tagged = intersect(parseVersions(f.taggedVersions), versions);
    const type = parseType(f, f.type, intersect(versions, parent));
    if (f.tag !== undefined) {
      // Simplification that holds for every schema: a tagged field is tagged wherever it exists.
      if (
        formatVersions(tagged) !== formatVersions(versions) ||
        !covers(flexibleVersions, tagged)
      ) {
        throw new Error(`${file}: unsupported tagged versions on ${f.name}`);
      }
    }
    if (type.kind === 'struct' && f.tag !== undefined && !isEmpty(nullable)) {
      throw new Error(`${file}: nullable tagged struct ${f.name} is not supported`);
    }
    return {
      name: f.name,
      prop: camelCase(f.name),
      type,
      about: f.about ?? '',
      versions,
      nullable,
      flexible:
        f.flexibleVersions === undefined ? flexibleVersions : parseVersions(f.flexibleVersions),
      tag: f.tag,
      tagged: f.tag === undefined ? NO_VERSIONS : tagged,
      default: parseDefault(f, type, nullable),
    };
  };

  // Common structs are declared first since fields refer to them, but emitted last.
  const commons = (raw.commonStructs ?? []).map((c) => {
    const struct = declare(c.name, intersect(parseVersions(c.versions), validVersions));
    common.set(c.name, struct);
    return { struct, fields: c.fields };
  });
  structs.length = 0;
  define(declare(raw.name, validVersions), raw.fields);
  for (const c of commons) {
    const nested = structs.length;
    define(c.struct, c.fields);
    // Keep each common struct ahead of the inline structs it contains.
    structs.splice(nested, 0, c.struct);
  }

  return {
    file,
    name: raw.name,
    type: raw.type,
    apiKey: raw.apiKey,
    validVersions,
    flexibleVersions,
    latestVersionUnstable: raw.latestVersionUnstable === true,
    structs,
  };
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function protocolDir(): string {
  return resolve(REPO_ROOT, process.env.KAFKA_PROTOCOL_DIR ?? '../shared/kafka-protocol');
}

/**
 * Folders of `dir` holding schemas: the protocol's messages, and the record formats the group
 * coordinator writes to __consumer_offsets (all `data` schemas), named in generated headers by
 * their folder.
 */
const SCHEMA_DIRS: readonly { folder: string; prefix: string }[] = [
  { folder: 'message', prefix: '' },
  { folder: 'group-coordinator', prefix: 'group-coordinator/' },
];

/** Every schema, sorted by name. */
export function loadSchemas(dir = protocolDir()): MessageSpec[] {
  const files = SCHEMA_DIRS.flatMap(({ folder, prefix }) =>
    readdirSync(join(dir, folder))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ name: f, path: join(dir, folder, f), label: prefix + f })),
  );
  // Code-unit order, as the message folder alone was sorted. Two schemas of one name would
  // generate the same module, so they are refused.
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < files.length; i++) {
    if (files[i].name === files[i - 1].name) {
      throw new Error(`schema ${files[i].name} found in two folders`);
    }
  }
  return files.map((f) =>
    parseSchema(f.label, JSON.parse(stripComments(readFileSync(f.path, 'utf8'))) as RawSchema),
  );
}

// ---------------------------------------------------------------------------------------------
// Code generation
// ---------------------------------------------------------------------------------------------

const HEADER = '// Generated by plugins/kafka/scripts/generate-protocol.ts';

/** `version` condition for `range` where the code only runs for versions in `ctx`. */
function cond(range: Versions, ctx: Versions): string {
  const i = intersect(range, ctx);
  if (isEmpty(i)) return 'false';
  const parts: string[] = [];
  if (i.lo > ctx.lo) parts.push(`version >= ${i.lo}`);
  if (i.hi < ctx.hi) parts.push(`version <= ${i.hi}`);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

const NUMERIC = new Set(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64']);

function tsType(t: FieldType): string {
  switch (t.kind) {
    case 'struct':
      return t.struct.typeName;
    case 'array':
      return `${tsType(t.element)}[]`;
    default:
      if (NUMERIC.has(t.name)) return 'number';
      if (t.name === 'bool') return 'boolean';
      if (t.name === 'string') return 'string';
      if (t.name === 'records') return 'Buffer | null';
      return 'Buffer';
  }
}

function fieldTsType(f: FieldSpec): string {
  const t = tsType(f.type);
  return isEmpty(f.nullable) || t.endsWith('| null') ? t : `${t} | null`;
}

/** A field is required when every version of its struct has it, untagged. */
export function isRequired(f: FieldSpec, struct: StructSpec): boolean {
  return f.tag === undefined && !isEmpty(struct.versions) && covers(f.versions, struct.versions);
}

/** The zero of a type, as source. */
function zeroLiteral(t: FieldType): string {
  switch (t.kind) {
    case 'struct':
      return `default${t.struct.typeName}()`;
    case 'array':
      return '[]';
    default:
      if (NUMERIC.has(t.name)) return '0';
      if (t.name === 'bool') return 'false';
      if (t.name === 'string') return "''";
      if (t.name === 'bytes') return 'EMPTY_BUFFER';
      if (t.name === 'uuid') return 'ZERO_UUID';
      return 'null';
  }
}

function defaultLiteral(f: FieldSpec): string {
  if (f.default === 'zero') return zeroLiteral(f.type);
  if (f.default === null) return 'null';
  return typeof f.default === 'string' ? quote(f.default) : String(f.default);
}

/** The value to write where null is not allowed: the default, or the zero if that is null. */
function nonNullLiteral(f: FieldSpec): string {
  if (f.default !== null) return defaultLiteral(f);
  const t = f.type;
  return t.kind === 'primitive' && t.name === 'records' ? 'EMPTY_BUFFER' : zeroLiteral(t);
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Source of an expression that is true when `v`, the possibly undefined value of a tagged field,
 * differs from the default, i.e. when the field must be written.
 */
function nonDefault(f: FieldSpec, v: string): string {
  const def = (test: string): string => `${v} !== undefined && ${test}`;
  const orNull = (test: string): string =>
    isEmpty(f.nullable) ? test : `(${v} === null || ${test})`;
  if (f.default === null) return `${v} != null`;
  if (f.default !== 'zero') return def(`${v} !== ${defaultLiteral(f)}`);
  const t = f.type;
  if (t.kind === 'array') return def(orNull(`${v}.length !== 0`));
  if (t.kind === 'struct') return def(orNull(`!isDefault${t.struct.typeName}(${v})`));
  if (t.name === 'bytes') return def(orNull(`${v}.length !== 0`));
  if (t.name === 'uuid') return def(`!${v}.equals(ZERO_UUID)`);
  return def(`${v} !== ${zeroLiteral(t)}`);
}

/** Source of an expression that is true when `v` (a field value) equals the default. */
function isDefault(f: FieldSpec, v: string, required: boolean): string {
  const def = (test: string): string => (required ? test : `(${v} === undefined || ${test})`);
  const notNull = (test: string): string =>
    isEmpty(f.nullable) ? test : `${v} !== null && ${test}`;
  if (f.default === null) return `${v} == null`;
  if (f.default !== 'zero') return def(`${v} === ${defaultLiteral(f)}`);
  const t = f.type;
  if (t.kind === 'array') return def(notNull(`${v}.length === 0`));
  if (t.kind === 'struct') return def(notNull(`isDefault${t.struct.typeName}(${v})`));
  if (t.name === 'bytes') return def(notNull(`${v}.length === 0`));
  if (t.name === 'uuid') return def(`${v}.equals(ZERO_UUID)`);
  return def(`${v} === ${zeroLiteral(t)}`);
}

/** Source of the element reader/writer function for an array's element type. */
function elementFn(t: FieldType, dir: 'decode' | 'encode'): string {
  if (t.kind === 'struct') return `${dir}${t.struct.typeName}`;
  if (t.kind === 'array') throw new Error('nested arrays are not supported');
  if (t.name === 'records') throw new Error('arrays of records are not supported');
  return `${dir === 'decode' ? 'readElement' : 'writeElement'}.${t.name}`;
}

/** `prefix {...};` with one property per line. */
function objectLiteral(prefix: string, props: string[]): string[] {
  if (props.length === 0) return [`  ${prefix} {};`];
  return [`  ${prefix} {`, ...props.map((p) => `    ${p},`), '  };'];
}

class StructGenerator {
  /** Set when generated code refers to the `flexible` local. */
  private usesFlexible = false;
  private readonly flexibleCond: string;

  constructor(
    private readonly msg: MessageSpec,
    private readonly struct: StructSpec,
  ) {
    this.flexibleCond = cond(msg.flexibleVersions, struct.versions);
  }

  /** The compact flag for a field present in `present`, as source. */
  private compact(f: FieldSpec, present: Versions): string {
    const c = cond(f.flexible, present);
    if (c === 'true' || c === 'false') return c;
    if (f.flexible === this.msg.flexibleVersions) {
      this.usesFlexible = true;
      return 'flexible';
    }
    return c;
  }

  private flexibleRef(): string {
    if (this.flexibleCond === 'true' || this.flexibleCond === 'false') return this.flexibleCond;
    this.usesFlexible = true;
    return 'flexible';
  }

  private readExpr(f: FieldSpec, present: Versions): string {
    const t = f.type;
    const n = cond(f.nullable, present);
    const pick = (nullable: string, plain: string): string =>
      n === 'true' ? nullable : n === 'false' ? plain : `${n} ? ${nullable} : ${plain}`;
    if (t.kind === 'struct') {
      const read = `decode${t.struct.typeName}(r, version)`;
      return pick(`r.nullableStruct(decode${t.struct.typeName}, version)`, read);
    }
    if (t.kind === 'array') {
      const c = this.compact(f, present);
      const args = `${c}, ${elementFn(t.element, 'decode')}${t.element.kind === 'struct' ? ', version' : ''}`;
      return pick(`r.nullableArray(${args})`, `r.array(${args})`);
    }
    switch (t.name) {
      case 'string':
      case 'bytes': {
        const c = this.compact(f, present);
        const method = t.name === 'string' ? 'String' : 'Bytes';
        return pick(`r.nullable${method}(${c})`, `r.${t.name}(${c})`);
      }
      case 'records': {
        const c = this.compact(f, present);
        return pick(`r.records(${c})`, `r.bytes(${c})`);
      }
      default:
        return `r.${t.name}()`;
    }
  }

  /**
   * Statements writing field `f` (present in `present`) from expression `v` to writer `w`.
   * `optional` says `v` may be undefined, in which case the default is written.
   */
  private writeStmts(
    f: FieldSpec,
    v: string,
    optional: boolean,
    w: string,
    present: Versions,
  ): string[] {
    const t = f.type;
    const n = cond(f.nullable, present);
    const typeNullable = !isEmpty(f.nullable) || (t.kind === 'primitive' && t.name === 'records');
    const d = defaultLiteral(f);
    // `??` would also replace an explicit null, which is a real value of a nullable field.
    const nullableValue = !optional
      ? v
      : d === 'null'
        ? `${v} ?? null`
        : `(${v} === undefined ? ${d} : ${v})`;
    // Where the version forbids null, null is written as the default (or the zero).
    const plainValue = optional || typeNullable ? `${v} ?? ${nonNullLiteral(f)}` : v;
    const pick = (nullable: string, plain: string): string[] =>
      n === 'true'
        ? [`${nullable};`]
        : n === 'false'
          ? [`${plain};`]
          : [`if (${n}) ${nullable};`, `else ${plain};`];
    if (t.kind === 'struct') {
      const fn = `encode${t.struct.typeName}`;
      return pick(
        `${w}.nullableStruct(${nullableValue}, ${fn}, version)`,
        `${fn}(${w}, version, ${plainValue})`,
      );
    }
    if (t.kind === 'array') {
      const c = this.compact(f, present);
      const fn = elementFn(t.element, 'encode');
      const tail = `${c}, ${fn}${t.element.kind === 'struct' ? ', version' : ''})`;
      return pick(
        `${w}.nullableArray(${nullableValue}, ${tail}`,
        `${w}.array(${plainValue}, ${tail}`,
      );
    }
    switch (t.name) {
      case 'string':
      case 'bytes': {
        const c = this.compact(f, present);
        const method = t.name === 'string' ? 'String' : 'Bytes';
        return pick(
          `${w}.nullable${method}(${nullableValue}, ${c})`,
          `${w}.${t.name}(${plainValue}, ${c})`,
        );
      }
      case 'records': {
        const c = this.compact(f, present);
        return pick(`${w}.records(${nullableValue}, ${c})`, `${w}.bytes(${plainValue}, ${c})`);
      }
      default:
        return [`${w}.${t.name}(${plainValue});`];
    }
  }

  private taggedFields(): FieldSpec[] {
    const ctx = this.struct.versions;
    return this.struct.fields
      .filter((f) => f.tag !== undefined && !isEmpty(intersect(f.tagged, ctx)))
      .sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0));
  }

  private flexiblePreamble(): string[] {
    const c = this.flexibleCond;
    return this.usesFlexible && c !== 'true' && c !== 'false' ? [`  const flexible = ${c};`] : [];
  }

  decoder(exported: boolean): string[] {
    const { struct } = this;
    const ctx = struct.versions;
    const name = struct.typeName;
    const props: string[] = [];
    for (const f of struct.fields) {
      const present = intersect(f.versions, ctx);
      const dflt = defaultLiteral(f);
      const c = f.tag === undefined ? cond(present, ctx) : 'false';
      const read = c === 'false' ? '' : this.readExpr(f, present);
      props.push(
        `${f.prop}: ${c === 'true' ? read : c === 'false' ? dflt : `${c} ? ${read} : ${dflt}`}`,
      );
    }
    const tagged = this.taggedFields();
    const flexible = this.flexibleRef();
    const body: string[] = [];
    if (flexible === 'false') {
      body.push(...objectLiteral('return', props));
    } else {
      body.push(...objectLiteral(`const m: ${name} =`, props));
      const section = tagged.length === 0 ? ['r.skipTaggedFields();'] : this.tagLoop(tagged);
      if (flexible === 'true') body.push(...section.map((l) => `  ${l}`));
      else if (section.length === 1) body.push(`  if (flexible) ${section[0]}`);
      else body.push('  if (flexible) {', ...section.map((l) => `    ${l}`), '  }');
      body.push('  return m;');
    }
    return [
      `${exported ? 'export ' : ''}function decode${name}(r: Reader, version: number): ${name} {`,
      ...this.flexiblePreamble(),
      ...body,
      '}',
    ];
  }

  /** Reads a tagged-field section into `m`, skipping unknown tags. */
  private tagLoop(tagged: FieldSpec[]): string[] {
    const ctx = this.struct.versions;
    const flexCtx = intersect(this.msg.flexibleVersions, ctx);
    const lines = [
      'for (let n = r.uvarint(); n > 0; n--) {',
      '  const tag = r.uvarint();',
      '  const end = r.tagEnd();',
      '  switch (tag) {',
    ];
    for (const f of tagged) {
      const present = intersect(f.tagged, ctx);
      const c = cond(present, flexCtx);
      const read = `m.${f.prop} = ${this.readExpr(f, present)};`;
      lines.push(`    case ${f.tag}:`);
      if (c === 'true') lines.push(`      ${read}`);
      else lines.push(`      if (${c}) ${read}`, '      else r.offset = end;');
      lines.push('      break;');
    }
    lines.push('    default:', '      r.offset = end;', '  }', '  r.checkTagEnd(end);', '}');
    return lines;
  }

  encoder(exported: boolean): string[] {
    const { struct } = this;
    const ctx = struct.versions;
    const name = struct.typeName;
    const body: string[] = [];
    for (const f of struct.fields) {
      const present = intersect(f.versions, ctx);
      if (f.tag !== undefined || isEmpty(present)) continue;
      const c = cond(present, ctx);
      const stmts = this.writeStmts(f, `m.${f.prop}`, !isRequired(f, struct), 'w', present);
      if (c === 'true') body.push(...stmts.map((s) => `  ${s}`));
      else if (stmts.length === 1) body.push(`  if (${c}) ${stmts[0]}`);
      else body.push(`  if (${c}) {`, ...stmts.map((s) => `    ${s}`), '  }');
    }
    const flexible = this.flexibleRef();
    if (flexible !== 'false') {
      const tagged = this.taggedFields();
      const indent = flexible === 'true' ? '  ' : '    ';
      const section: string[] = [];
      if (tagged.length === 0) {
        section.push('w.uvarint(0);');
      } else {
        const flexCtx = intersect(this.msg.flexibleVersions, ctx);
        tagged.forEach((f, i) => {
          const present = intersect(f.tagged, ctx);
          const c = cond(present, flexCtx);
          const test = nonDefault(f, `t${i}`);
          section.push(
            `${indent}const t${i} = m.${f.prop};`,
            `${indent}const has${i} = ${c === 'true' ? '' : `${c} && `}${test};`,
          );
        });
        section.push(
          `${indent}w.uvarint(${tagged.map((_, i) => (tagged.length === 1 ? `has${i} ? 1 : 0` : `(has${i} ? 1 : 0)`)).join(' + ')});`,
        );
        tagged.forEach((f, i) => {
          const present = intersect(f.tagged, ctx);
          section.push(
            `${indent}if (has${i}) {`,
            `${indent}  const s = new Writer();`,
            ...this.writeStmts(f, `t${i}`, false, 's', present).map((s) => `${indent}  ${s}`),
            `${indent}  w.taggedField(${f.tag}, s);`,
            `${indent}}`,
          );
        });
      }
      if (tagged.length === 0)
        body.push(flexible === 'true' ? '  w.uvarint(0);' : '  if (flexible) w.uvarint(0);');
      else if (flexible === 'true') body.push(...section);
      else body.push('  if (flexible) {', ...section, '  }');
    }
    return [
      `${exported ? 'export ' : ''}function encode${name}(w: Writer, version: number, m: ${name}): void {`,
      ...this.flexiblePreamble(),
      ...body,
      '}',
    ];
  }

  iface(): string[] {
    const lines = [`export interface ${this.struct.typeName} {`];
    for (const f of this.struct.fields) {
      const notes: string[] = [];
      if (f.tag !== undefined) notes.push(`tag ${f.tag}`);
      if (!isRequired(f, this.struct)) notes.push(`v${formatVersions(f.versions)}`);
      if (!isEmpty(f.nullable)) notes.push(`nullable v${formatVersions(f.nullable)}`);
      const about = f.about.replace(/\*\//g, '*\\/').replace(/\s+/g, ' ').trim();
      const doc = [about, notes.length ? `(${notes.join(', ')})` : ''].filter(Boolean).join(' ');
      if (doc) lines.push(`  /** ${doc} */`);
      const opt = isRequired(f, this.struct) ? '' : '?';
      lines.push(`  ${f.prop}${opt}: ${fieldTsType(f)};`);
    }
    lines.push('}');
    return lines;
  }
}

/** Structs that need a default instance / an is-default test (non-array struct fields). */
function structHelpers(msg: MessageSpec): { defaults: Set<StructSpec>; tests: Set<StructSpec> } {
  const defaults = new Set<StructSpec>();
  const tests = new Set<StructSpec>();
  const visitDefault = (s: StructSpec, test: boolean): void => {
    const set = test ? tests : defaults;
    if (set.has(s)) return;
    set.add(s);
    for (const f of s.fields) {
      if (f.type.kind === 'struct' && f.default === 'zero') visitDefault(f.type.struct, test);
    }
  };
  for (const s of msg.structs) {
    for (const f of s.fields) {
      if (f.type.kind !== 'struct' || f.default !== 'zero') continue;
      visitDefault(f.type.struct, false);
      if (f.tag !== undefined) visitDefault(f.type.struct, true);
    }
  }
  return { defaults, tests };
}

function generateMessage(msg: MessageSpec): string {
  const { defaults, tests } = structHelpers(msg);
  const out: string[] = [];
  for (const s of msg.structs) {
    out.push('', ...new StructGenerator(msg, s).iface());
  }
  for (const s of msg.structs) {
    const top = s.name === msg.name;
    const gen = new StructGenerator(msg, s);
    out.push('', ...gen.decoder(top), '', ...gen.encoder(top));
  }
  for (const s of msg.structs) {
    if (defaults.has(s)) {
      const props = s.fields.map((f) => `${f.prop}: ${defaultLiteral(f)}`);
      out.push(
        '',
        `function default${s.typeName}(): ${s.typeName} {`,
        `  return { ${props.join(', ')} };`,
        '}',
      );
    }
    if (tests.has(s)) {
      const tests = s.fields.map((f) => isDefault(f, `m.${f.prop}`, isRequired(f, s)));
      out.push(
        '',
        `function isDefault${s.typeName}(m: ${s.typeName}): boolean {`,
        `  return ${tests.join(' && ') || 'true'};`,
        '}',
      );
    }
  }
  const body = out.join('\n');
  const has = (id: string): boolean => new RegExp(`\\b${id}\\b`).test(body);
  const readerImports = ['ZERO_UUID', 'EMPTY_BUFFER', 'readElement'].filter(has);
  const writerImports = ['writeElement'].filter(has);
  const writerIsValue = /new Writer\(/.test(body);
  const imports = [
    `import { type Reader${readerImports.map((i) => `, ${i}`).join('')} } from '../reader.js';`,
    `import { ${writerIsValue ? '' : 'type '}Writer${writerImports.map((i) => `, ${i}`).join('')} } from '../writer.js';`,
  ];
  return [`${HEADER} from ${msg.file}. Do not edit.`, '', ...imports, body, ''].join('\n');
}

function moduleName(msg: MessageSpec): string {
  return kebabCase(msg.name);
}

/** Request/response pairs by api key. */
function apiPairs(
  schemas: MessageSpec[],
): { request: MessageSpec; response: MessageSpec; name: string }[] {
  const byName = new Map(schemas.map((s) => [s.name, s]));
  return schemas
    .filter((s) => s.type === 'request')
    .map((request) => {
      const name = request.name.replace(/Request$/, '');
      const response = byName.get(`${name}Response`);
      if (!response || response.apiKey !== request.apiKey)
        throw new Error(`no response for ${name}`);
      if (formatVersions(response.validVersions) !== formatVersions(request.validVersions)) {
        throw new Error(`${name}: request and response versions differ`);
      }
      return { request, response, name };
    })
    .sort((a, b) => (a.request.apiKey ?? 0) - (b.request.apiKey ?? 0));
}

function generateApiKeys(schemas: MessageSpec[]): string {
  const pairs = apiPairs(schemas);
  return [
    `${HEADER}. Do not edit.`,
    '',
    'export const ApiKey = {',
    ...pairs.map((p) => `  ${p.name}: ${p.request.apiKey},`),
    '} as const;',
    '',
    'export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];',
    '',
    'export const apiKeyNames: Record<number, string> = {',
    ...pairs.map((p) => `  ${p.request.apiKey}: '${p.name}',`),
    '};',
    '',
  ].join('\n');
}

/** Header versions that do not follow from flexibility, with Kafka's reasons. */
const HEADER_OVERRIDES: Record<string, { request?: string; response?: string }> = {
  // "Version 0 of ControlledShutdownRequest has a non-standard request header which does not
  // include clientId." (ControlledShutdownRequest.json)
  ControlledShutdown: { request: '(v) => (v === 0 ? 0 : v >= FLEX ? 2 : 1)' },
  // A client reads the ApiVersions response before it knows which versions the broker speaks,
  // so that response always has header v0 (ApiVersionsResponse.json).
  ApiVersions: { response: '() => 0' },
};

function generateApis(schemas: MessageSpec[]): string {
  const pairs = apiPairs(schemas);
  const imports: string[] = [];
  const entries: string[] = [];
  for (const { request, response, name } of pairs) {
    for (const m of [request, response]) {
      imports.push(
        `import { type ${m.name}, decode${m.name}, encode${m.name} } from './${moduleName(m)}.js';`,
      );
    }
    const flex = isEmpty(request.flexibleVersions)
      ? 'Infinity'
      : String(request.flexibleVersions.lo);
    const v = request.validVersions;
    const call =
      `api(${request.apiKey}, '${name}', ${v.lo}, ${v.hi}, ${flex}, ${request.latestVersionUnstable}, ` +
      `decode${request.name}, encode${request.name}, decode${response.name}, encode${response.name})`;
    const o = HEADER_OVERRIDES[name];
    if (!o) {
      entries.push(`  ${request.apiKey}: ${call},`);
    } else {
      entries.push(`  ${request.apiKey}: {`, `    ...${call},`);
      if (o.request) entries.push(`    requestHeaderVersion: ${o.request.replace('FLEX', flex)},`);
      if (o.response)
        entries.push(`    responseHeaderVersion: ${o.response.replace('FLEX', flex)},`);
      entries.push('  },');
    }
  }
  return [
    `${HEADER}. Do not edit.`,
    '',
    "import type { Reader } from '../reader.js';",
    "import type { Writer } from '../writer.js';",
    ...imports,
    '',
    '/** Request body type by api key. */',
    'export interface RequestTypes {',
    ...pairs.map((p) => `  ${p.request.apiKey}: ${p.request.name};`),
    '}',
    '',
    '/** Response body type by api key. */',
    'export interface ResponseTypes {',
    ...pairs.map((p) => `  ${p.request.apiKey}: ${p.response.name};`),
    '}',
    '',
    'export type ApiKeyNumber = keyof RequestTypes;',
    '',
    'export interface Api<K extends ApiKeyNumber = ApiKeyNumber> {',
    '  readonly apiKey: K;',
    '  readonly name: string;',
    '  /** Versions the schemas define (validVersions). */',
    '  readonly minVersion: number;',
    '  readonly maxVersion: number;',
    '  /** The schema marks maxVersion as still under development. */',
    '  readonly latestVersionUnstable: boolean;',
    '  isFlexible(version: number): boolean;',
    '  requestHeaderVersion(version: number): number;',
    '  responseHeaderVersion(version: number): number;',
    '  decodeRequest(r: Reader, version: number): RequestTypes[K];',
    '  encodeRequest(w: Writer, version: number, m: RequestTypes[K]): void;',
    '  decodeResponse(r: Reader, version: number): ResponseTypes[K];',
    '  encodeResponse(w: Writer, version: number, m: ResponseTypes[K]): void;',
    '}',
    '',
    'function api<K extends ApiKeyNumber>(',
    '  apiKey: K,',
    '  name: string,',
    '  minVersion: number,',
    '  maxVersion: number,',
    '  firstFlexible: number,',
    '  latestVersionUnstable: boolean,',
    "  decodeRequest: Api<K>['decodeRequest'],",
    "  encodeRequest: Api<K>['encodeRequest'],",
    "  decodeResponse: Api<K>['decodeResponse'],",
    "  encodeResponse: Api<K>['encodeResponse'],",
    '): Api<K> {',
    '  return {',
    '    apiKey,',
    '    name,',
    '    minVersion,',
    '    maxVersion,',
    '    latestVersionUnstable,',
    '    isFlexible: (v) => v >= firstFlexible,',
    '    requestHeaderVersion: (v) => (v >= firstFlexible ? 2 : 1),',
    '    responseHeaderVersion: (v) => (v >= firstFlexible ? 1 : 0),',
    '    decodeRequest,',
    '    encodeRequest,',
    '    decodeResponse,',
    '    encodeResponse,',
    '  };',
    '}',
    '',
    'export const apis: { readonly [K in ApiKeyNumber]: Api<K> } = {',
    ...entries,
    '};',
    '',
    'const byKey: (Api | undefined)[] = [];',
    'for (const a of Object.values(apis) as Api[]) byKey[a.apiKey] = a;',
    '',
    '/** The api for a key read off the wire, or undefined if there is no such api. */',
    'export function lookupApi(apiKey: number): Api | undefined {',
    '  return byKey[apiKey];',
    '}',
    '',
  ].join('\n');
}

function generateErrors(dir: string): string {
  const codes = JSON.parse(readFileSync(join(dir, 'error-codes.json'), 'utf8')) as {
    code: number;
    name: string;
  }[];
  codes.sort((a, b) => a.code - b.code);
  return [
    `${HEADER} from error-codes.json. Do not edit.`,
    '',
    'export const ErrorCode = {',
    ...codes.map((c) => `  ${c.name}: ${c.code},`),
    '} as const;',
    '',
    'export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];',
    '',
    'const names = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));',
    '',
    'export function errorName(code: number): string {',
    '  return names.get(code) ?? `UNKNOWN_ERROR_CODE_${code}`;',
    '}',
    '',
  ].join('\n');
}

/** Barrel of everything a handler needs; headers are wrapped by ../headers.ts instead. */
function generateIndex(schemas: MessageSpec[]): string {
  const modules = schemas.filter((s) => s.type !== 'header').map(moduleName);
  return [
    `${HEADER}. Do not edit.`,
    '',
    "export * from './api-keys.js';",
    "export * from './apis.js';",
    "export * from './errors.js';",
    ...modules.map((m) => `export * from './${m}.js';`),
    '',
  ].join('\n');
}

/** Exported names must be unique across modules so the barrel can re-export them all. */
function checkUniqueExports(files: Map<string, string>): void {
  const owner = new Map<string, string>();
  for (const [file, text] of files) {
    const names = new Set(
      [...text.matchAll(/^export (?:const|function|interface|type) (\w+)/gm)].map((m) => m[1]),
    );
    for (const name of names) {
      const prev = owner.get(name);
      if (prev !== undefined) throw new Error(`${name} exported by both ${prev} and ${file}`);
      owner.set(name, file);
    }
  }
}

export function generate(dir = protocolDir()): Map<string, string> {
  const schemas = loadSchemas(dir);
  const files = new Map<string, string>();
  for (const msg of schemas) files.set(`${moduleName(msg)}.ts`, generateMessage(msg));
  files.set('api-keys.ts', generateApiKeys(schemas));
  files.set('apis.ts', generateApis(schemas));
  files.set('errors.ts', generateErrors(dir));
  checkUniqueExports(files);
  files.set('index.ts', generateIndex(schemas));
  return files;
}

function main(): void {
  const outDir = join(REPO_ROOT, 'plugins/kafka/protocol/generated');
  const files = generate();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    writeFileSync(join(outDir, name), text);
  }
  console.log(`wrote ${files.size} files to ${outDir}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}
