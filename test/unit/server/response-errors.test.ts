/**
 * The error codes counted in koppa_kafka_request_errors_total come from walking each response
 * once. For every response schema and version, a response with a distinct error code in every
 * `ErrorCode` field the schema has (top-level, per topic, partition, group, member...) must yield
 * exactly those codes: through the API's own walker, or the generic walk for the others.
 */
import { describe, expect, it } from 'vitest';
import type { MessageSpec, StructSpec } from '../../../plugins/kafka/scripts/generate-protocol.js';
import {
  apisWithWalkers,
  forEachErrorCode,
} from '../../../plugins/kafka/server/response-errors.js';
import { inVersions } from '../../../plugins/kafka/scripts/generate-protocol.js';
import { sample, schemas, versionsOf, type Message } from '../protocol/helpers.js';

/** The values of the schema's ErrorCode fields in `message`, found by following the schema. */
function schemaErrorCodes(struct: StructSpec, message: Message, version: number): number[] {
  const codes: number[] = [];
  for (const field of struct.fields) {
    if (!inVersions(field.versions, version)) continue;
    const value = message[field.prop];
    if (field.name === 'ErrorCode') codes.push(value as number);
    const type = field.type.kind === 'array' ? field.type.element : field.type;
    if (type.kind !== 'struct' || value === null || value === undefined) continue;
    const elements = (field.type.kind === 'array' ? value : [value]) as Message[];
    for (const element of elements) codes.push(...schemaErrorCodes(type.struct, element, version));
  }
  return codes;
}

function walkedErrorCodes(apiKey: number, response: Message): number[] {
  const codes: number[] = [];
  forEachErrorCode(apiKey, response, (code) => codes.push(code));
  return codes;
}

const responses = schemas.filter(
  (m): m is MessageSpec & { apiKey: number } => m.type === 'response' && m.apiKey !== undefined,
);
const walked = new Set(apisWithWalkers());

describe('error codes of a response', () => {
  it('has a walker of its own for each API Koppa serves, the generic walk for the rest', () => {
    // Guards the split below: both kinds are exercised.
    expect(walked.size).toBeGreaterThan(20);
    expect(responses.length).toBeGreaterThan(walked.size);
  });

  for (const msg of responses) {
    const kind = walked.has(msg.apiKey) ? 'its walker' : 'the generic walk';
    it(`${msg.name}: every ErrorCode field, in every version, through ${kind}`, () => {
      const top = msg.structs.find((s) => s.name === msg.name)!;
      for (const version of versionsOf(msg)) {
        // Every field present in the version has a distinct non-default value, arrays two entries.
        const { expected: response } = sample(msg, version, 'full');
        const fromSchema = schemaErrorCodes(top, response, version);
        const counted = walkedErrorCodes(msg.apiKey, response).filter((c) => c !== 0);
        expect(counted.sort(), `${msg.name} v${version}`).toEqual(fromSchema.sort());
      }
    });
  }
});
