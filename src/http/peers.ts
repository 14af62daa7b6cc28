/**
 * Requests to other brokers' HTTP ports, for answers that span the cluster (the admin API asks
 * every broker for what it owns; a coordinator asks partition owners for their log positions).
 * Brokers are found in the cluster view by the HTTP address they registered.
 */
import type { ClusterView } from '../cluster/types.js';

/** The longest a peer request waits by default: an admin answer must not hang on a dead broker. */
const DEFAULT_TIMEOUT_MS = 5000;

export interface PeerRequestOptions {
  /** A JSON body: the request is a POST when given, a GET otherwise. */
  body?: unknown;
  timeoutMs?: number;
}

export interface PeerClient {
  /** JSON from `path` on broker `brokerId`; rejects with PeerError on any failure. */
  request<T>(brokerId: number, path: string, options?: PeerRequestOptions): Promise<T>;
}

export class PeerError extends Error {
  constructor(
    readonly brokerId: number,
    message: string,
    /** The HTTP status the peer answered, when it answered. */
    readonly status?: number,
  ) {
    super(`broker ${brokerId}: ${message}`);
    this.name = 'PeerError';
  }
}

export function createPeerClient(cluster: ClusterView): PeerClient {
  return {
    async request<T>(brokerId: number, path: string, options: PeerRequestOptions = {}) {
      const broker = cluster.broker(brokerId);
      if (!broker?.httpHost || broker.httpPort === null) {
        throw new PeerError(brokerId, 'no live broker with an HTTP address');
      }
      const host = broker.httpHost.includes(':') ? `[${broker.httpHost}]` : broker.httpHost;
      let response: Response;
      try {
        response = await fetch(`http://${host}:${broker.httpPort}${path}`, {
          method: options.body === undefined ? 'GET' : 'POST',
          headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        });
      } catch (err) {
        throw new PeerError(brokerId, (err as Error).message);
      }
      const text = await response.text();
      if (!response.ok) {
        throw new PeerError(
          brokerId,
          `${path} answered ${response.status}: ${text}`,
          response.status,
        );
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new PeerError(brokerId, `${path} answered with something other than JSON`);
      }
    },
  };
}
