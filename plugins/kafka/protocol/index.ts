/**
 * The Kafka wire codec: primitive reader and writer, request/response headers, and a generated
 * decoder, encoder and interface for every message in Kafka's schemas.
 */
export {
  Reader,
  ProtocolDecodeError,
  ZERO_UUID,
  EMPTY_BUFFER,
  uuidToString,
  uuidFromString,
} from './reader.js';
export type { ElementReader } from './reader.js';
export { Writer, ZERO_COPY_THRESHOLD } from './writer.js';
export type { ElementWriter } from './writer.js';
export {
  decodeRequestHeader,
  encodeResponseHeader,
  responseHeaderVersion,
  type DecodedRequestHeader,
} from './headers.js';
export type { RequestHeader } from './generated/request-header.js';
export type { ResponseHeader } from './generated/response-header.js';
export * from './generated/index.js';
