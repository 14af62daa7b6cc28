/**
 * What every Kafka API handler provides: the versions it serves and a function from a decoded
 * request to a response. One module per API lives next to this file.
 */
import type { Logger } from '../../../src/api/index.js';
import type { RequestTypes, ResponseTypes } from '../protocol/index.js';

export type ApiKeyNumber = keyof RequestTypes & keyof ResponseTypes;

/** A handler's answer that sends nothing and closes the connection once earlier answers are written. */
export const CLOSE_CONNECTION = Symbol('close connection');

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** The client's IP address, without the port. */
  readonly clientHost: string;
  readonly connectionId: number;
  /** Which of the broker's listeners the client connected to (index into the listener list). */
  readonly listenerIndex: number;
  /** Aborted when the connection closes or the broker stops: long polls give up then. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export interface ApiHandler<K extends ApiKeyNumber = ApiKeyNumber> {
  readonly apiKey: K;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Resolves to the response, to null when no response is sent (acks=0), or to CLOSE_CONNECTION. */
  handle(
    request: RequestTypes[K],
    context: RequestContext,
  ): Promise<ResponseTypes[K] | null | typeof CLOSE_CONNECTION>;
}
