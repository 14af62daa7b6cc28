/** The node's value: JSON with one entry per group, read leniently (KoP's plain value too). */
import { describe, expect, it } from 'vitest';
import {
  KOP_VALUE_TOKEN,
  decodeNode,
  encodeNode,
  sameAssigned,
  withWrite,
  withoutGroup,
  type MappingNode,
} from '../../../plugins/kafka/group-mapping/node-codec.js';

const T = 'persistent://public/default/orders';

function node(entries: [string, string, Map<string, number[]> | null][]): MappingNode {
  return {
    groups: new Map(
      entries.map(([g, token, assigned]) => [g, { token, broker: 1, at: 1000, assigned }]),
    ),
  };
}

describe('mapping node codec', () => {
  it('round-trips groups, tokens and assignments, __proto__ included', () => {
    const original = node([
      ['g1', 't1', new Map([[T, [0, 2]]])],
      ['__proto__', 't2', new Map([['__proto__', [1]]])],
      ['g3', 't3', null],
    ]);
    const bytes = encodeNode(original);
    expect(JSON.parse(bytes.toString())).toEqual({
      groups: {
        g1: { token: 't1', broker: 1, at: 1000, assigned: { [T]: [0, 2] } },
        ['__proto__']: { token: 't2', broker: 1, at: 1000, assigned: { ['__proto__']: [1] } },
        g3: { token: 't3', broker: 1, at: 1000 },
      },
    });
    const decoded = decodeNode(bytes);
    expect([...decoded.groups.keys()]).toEqual(['g1', '__proto__', 'g3']);
    expect(decoded.groups.get('__proto__')?.assigned?.get('__proto__')).toEqual([1]);
    expect(decoded.groups.get('g3')?.assigned).toBeNull();
    expect(sameAssigned(decoded.groups.get('g1')!.assigned, new Map([[T, [0, 2]]]))).toBe(true);
  });

  it("reads KoP's value (the group id as text) as one group no write of Koppa's matches", () => {
    const decoded = decodeNode(Buffer.from('my-group'));
    expect([...decoded.groups.keys()]).toEqual(['my-group']);
    expect(decoded.groups.get('my-group')?.token).toBe(KOP_VALUE_TOKEN);
  });

  it('skips malformed entries and reads an empty value as no groups', () => {
    expect(decodeNode(Buffer.alloc(0)).groups.size).toBe(0);
    const decoded = decodeNode(
      Buffer.from(
        JSON.stringify({ groups: { ok: { token: 'x', assigned: { t: [3, 'a', 1] } }, bad: 5 } }),
      ),
    );
    expect([...decoded.groups.keys()]).toEqual(['ok']);
    expect(decoded.groups.get('ok')?.assigned?.get('t')).toEqual([1, 3]);
  });

  it('a write gives each named group a new token and keeps its assignment', () => {
    const before = node([
      ['g1', 'old', new Map([[T, [0]]])],
      ['g2', 'other', null],
    ]);
    const after = withWrite(before, ['g1', 'g9'], 'new', 2, 5000);
    expect(after.groups.get('g1')).toEqual({
      token: 'new',
      broker: 2,
      at: 5000,
      assigned: new Map([[T, [0]]]),
    });
    expect(after.groups.get('g9')?.assigned).toBeNull();
    expect(after.groups.get('g2')?.token).toBe('other');
    expect(withoutGroup(after, 'g1').groups.has('g1')).toBe(false);
    expect(before.groups.get('g1')?.token).toBe('old');
  });
});
