/**
 * Where a client's mapping lives: `<groupIdZooKeeperPath>/<clientHost>-<clientId>`, KoP's layout.
 *
 * Both parts are encoded so that every name is a legal znode name and decodes back to exactly the
 * client it names: bytes of the UTF-8 form outside `[A-Za-z0-9._]` become `%XX` (upper-case hex).
 * `-` is encoded too, so the one `-` left separates host from client id; `/`, `%`, `:` (IPv6
 * hosts), control characters and everything else ZooKeeper refuses in a name are encoded; an empty
 * client id is the empty string after the `-` (`10.0.0.1-`). A name always holds a `-`, so it is
 * never `.` or `..`. An IPv4 host and a client id of letters, digits, `.` and `_` (kafkajs's
 * `kafkajs`, librdkafka's `rdkafka`) are written as KoP wrote them.
 *
 * Client ids arrive as decoded UTF-8 (malformed bytes already replaced), so they hold no lone
 * surrogates, the one thing this encoding could not carry back.
 */
import type { ClientKey } from './types.js';

const PLAIN = /^[A-Za-z0-9._]*$/;
const ENCODED = /^(?:[A-Za-z0-9._]|%[0-9A-F]{2})*$/;

/** One part of a name (host or client id), encoded. */
export function encodeNamePart(text: string): string {
  if (PLAIN.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const plain =
      (byte >= 0x30 && byte <= 0x39) || // 0-9
      (byte >= 0x41 && byte <= 0x5a) || // A-Z
      (byte >= 0x61 && byte <= 0x7a) || // a-z
      byte === 0x2e || // .
      byte === 0x5f; // _
    out += plain
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of encodeNamePart; null for text it could not have produced. */
export function decodeNamePart(encoded: string): string | null {
  if (!ENCODED.test(encoded)) return null;
  try {
    const text = decodeURIComponent(encoded);
    // Only the canonical form: every name maps to one client and back.
    return encodeNamePart(text) === encoded ? text : null;
  } catch {
    return null;
  }
}

/** The node's name (not its path) for a client. */
export function nodeName(client: ClientKey): string {
  return `${encodeNamePart(client.clientHost)}-${encodeNamePart(client.clientId)}`;
}

/** The client a node name stands for; null for a name this encoding did not write. */
export function clientOfNodeName(name: string): ClientKey | null {
  const dash = name.indexOf('-');
  if (dash === -1 || name.indexOf('-', dash + 1) !== -1) return null;
  const clientHost = decodeNamePart(name.slice(0, dash));
  const clientId = decodeNamePart(name.slice(dash + 1));
  return clientHost === null || clientId === null ? null : { clientHost, clientId };
}

/** The node's full path under the mapping's root (`groupIdZooKeeperPath`). */
export function nodePath(root: string, name: string): string {
  return root === '/' ? `/${name}` : `${root}/${name}`;
}
