/**
 * InitProducerId for idempotent producers: always a fresh producer id at epoch 0, as Kafka gives
 * a producer without a transactional id (also when it asks to bump its epoch, KIP-360).
 * Transactional ids get a clear, non-retriable refusal until transactions exist.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function initProducerIdHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.InitProducerId> {
  return {
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: InitProducerIdRequest): Promise<InitProducerIdResponse> {
      if (request.transactionalId !== null) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.INVALID_REQUEST,
          producerId: -1,
          producerEpoch: -1,
        };
      }
      const producerId = await broker.producerIds.nextProducerId();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    },
  };
}
