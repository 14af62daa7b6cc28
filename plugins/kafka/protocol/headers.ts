/**
 * Request and response headers. Which header version a message uses depends on its api key and
 * version, so the request header is decoded in two steps: key and version first, then the rest.
 */
import { lookupApi } from './generated/apis.js';
import { decodeRequestHeader as decodeHeaderBody } from './generated/request-header.js';
import { encodeResponseHeader as encodeHeaderBody } from './generated/response-header.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface DecodedRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** The request header version the body was read with (0, 1 or 2). */
  headerVersion: number;
  /**
   * False for an unknown api key or a version outside the schema's range, so that the broker can
   * still answer (ApiVersions) or log the request. The header was then read as v1 (key, version,
   * correlation id, client id), or for a version above the range with the header of the highest
   * known version, since flexibility never ends once it starts.
   */
  supported: boolean;
}

/** Decodes a request header, leaving the reader at the start of the request body. */
export function decodeRequestHeader(r: Reader): DecodedRequestHeader {
  const start = r.offset;
  const apiKey = r.int16();
  const apiVersion = r.int16();
  r.offset = start;
  const api = lookupApi(apiKey);
  const supported =
    api !== undefined && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
  const headerVersion =
    api === undefined || apiVersion < api.minVersion
      ? 1
      : api.requestHeaderVersion(Math.min(apiVersion, api.maxVersion));
  const h = decodeHeaderBody(r, headerVersion);
  return {
    apiKey,
    apiVersion,
    correlationId: h.correlationId,
    clientId: h.clientId ?? null,
    headerVersion,
    supported,
  };
}

/** Response header version for a request: v0 for anything unknown, as for ApiVersions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  const api = lookupApi(apiKey);
  if (api === undefined || apiVersion < api.minVersion || apiVersion > api.maxVersion) return 0;
  return api.responseHeaderVersion(apiVersion);
}

export function encodeResponseHeader(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): void {
  encodeHeaderBody(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
}
