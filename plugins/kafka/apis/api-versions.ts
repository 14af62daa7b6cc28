/** ApiVersions: advertises exactly the versions this broker's handlers serve. */
import {
  ApiKey,
  ErrorCode,
  encodeApiVersionsResponse,
  encodeResponseHeader,
  Writer,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

function supportedApis(handlers: ReadonlyMap<number, ApiHandler>): ApiVersionsResponse['apiKeys'] {
  return [...handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}

export function apiVersionsHandler(
  handlers: ReadonlyMap<number, ApiHandler>,
): ApiHandler<typeof ApiKey.ApiVersions> {
  return {
    apiKey: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: 4,
    async handle(_request: ApiVersionsRequest): Promise<ApiVersionsResponse> {
      return { errorCode: ErrorCode.NONE, apiKeys: supportedApis(handlers), throttleTimeMs: 0 };
    },
  };
}

/**
 * The answer to an ApiVersions version we do not serve: UNSUPPORTED_VERSION in the v0 body
 * (which every client can read, behind response header v0) listing what we do serve.
 */
export function encodeApiVersionsFallback(
  correlationId: number,
  handlers: ReadonlyMap<number, ApiHandler>,
): Buffer[] {
  const w = new Writer();
  encodeResponseHeader(w, ApiKey.ApiVersions, 0, correlationId);
  encodeApiVersionsResponse(w, 0, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: supportedApis(handlers),
  });
  return w.finish();
}
