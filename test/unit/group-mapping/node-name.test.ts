/**
 * Node names: `<clientHost>-<clientId>` as KoP names them when both are plain, and for every
 * other host or client id a legal znode name that decodes back to exactly that client.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clientOfNodeName,
  nodeName,
  nodePath,
} from '../../../plugins/kafka/group-mapping/node-name.js';

/** ZooKeeper's PathUtils.validatePath rules for one path element. */
function legalZnodeName(name: string): boolean {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) return false;
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c === 0 || (c > 0 && c < 0x20) || (c >= 0x7f && c <= 0x9f)) return false;
    if ((c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff) || c > 0xffff) return false;
  }
  return true;
}

describe('mapping node names', () => {
  it('are KoP-compatible for an IPv4 host and a plain client id', () => {
    expect(nodeName({ clientHost: '10.0.0.1', clientId: 'kafkajs' })).toBe('10.0.0.1-kafkajs');
    expect(nodeName({ clientHost: '127.0.0.1', clientId: 'rdkafka' })).toBe('127.0.0.1-rdkafka');
    expect(nodePath('/client_group_id', '10.0.0.1-kafkajs')).toBe(
      '/client_group_id/10.0.0.1-kafkajs',
    );
  });

  const cases: [string, string, string][] = [
    ['IPv6 host', '::1', 'consumer'],
    ['IPv6 host with a zone', 'fe80::1%eth0', 'c'],
    ['a slash in the client id', '10.0.0.1', 'team/app'],
    ['dashes in both parts', 'host-a', 'consumer-my-group-1'],
    ['a percent sign', '10.0.0.1', '100%'],
    ['an encoded-looking client id', '10.0.0.1', '%2D'],
    ['unicode', '10.0.0.1', 'コンシューマー-ü-😀'],
    ['an empty client id', '10.0.0.1', ''],
    ['an empty host', '', 'c'],
    ['a client id "."', '10.0.0.1', '.'],
    ['a client id ".."', '10.0.0.1', '..'],
    ['control characters', '10.0.0.1', 'a\u0000b\u0001\u007f'],
    ['spaces and punctuation', '10.0.0.1', 'my app (v2) ~*!'],
  ];

  it.each(cases)('round-trip %s', (_what, clientHost, clientId) => {
    const name = nodeName({ clientHost, clientId });
    expect(legalZnodeName(name)).toBe(true);
    expect(name.split('-')).toHaveLength(2);
    expect(clientOfNodeName(name)).toEqual({ clientHost, clientId });
  });

  it('keep distinct clients apart (the separator is never ambiguous)', () => {
    const a = nodeName({ clientHost: 'a-b', clientId: 'c' });
    const b = nodeName({ clientHost: 'a', clientId: 'b-c' });
    expect(a).not.toBe(b);
  });

  it('round-trip any host and client id, and are always legal znode names', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (h, c) => {
        const name = nodeName({ clientHost: h, clientId: c });
        return (
          legalZnodeName(name) &&
          JSON.stringify(clientOfNodeName(name)) === JSON.stringify({ clientHost: h, clientId: c })
        );
      }),
      { numRuns: 500 },
    );
  });

  it('decode nothing they could not have written', () => {
    for (const name of ['no-separator-twice', 'nodash', '10.0.0.1-%zz', '10.0.0.1-%2d', 'a-%2']) {
      expect(clientOfNodeName(name)).toBeNull();
    }
  });
});
