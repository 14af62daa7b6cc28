/** InitProducerId for idempotent producers; transactional ids get a clear refusal until transactions exist. */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

const MAX_EPOCH = 32767;

export function initProducerIdHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.InitProducerId> {
  return {
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: InitProducerIdRequest): Promise<InitProducerIdResponse> {
      if (request.transactionalId !== null) {
        // Not retriable, so the client reports it instead of looping: transactions are not served.
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.INVALID_REQUEST,
          producerId: -1,
          producerEpoch: -1,
        };
      }
      // KIP-360: an idempotent producer may ask to bump its epoch after an error.
      const { producerId = -1, producerEpoch = -1 } = request;
      if (producerId >= 0 && producerEpoch >= 0 && producerEpoch < MAX_EPOCH) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          producerId,
          producerEpoch: producerEpoch + 1,
        };
      }
      const id = await broker.producerIds.nextProducerId();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: id, producerEpoch: 0 };
    },
  };
}
