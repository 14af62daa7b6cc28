/**
 * FindCoordinator, single keys (v0-3) and batched keys (v4+). Group keys are placed on their
 * __consumer_offsets partition, whose owner coordinates them: on one broker, this broker.
 * Transaction keys get a clear, non-retriable refusal until transactions exist.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

interface Answer {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export function findCoordinatorHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.FindCoordinator> {
  function locate(key: string, keyType: number, context: RequestContext): Answer {
    const refuse = (errorCode: number, errorMessage: string): Answer => ({
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode,
      errorMessage,
    });
    if (keyType === KEY_TYPE_TRANSACTION) {
      return refuse(ErrorCode.INVALID_REQUEST, 'transactions are not supported by this broker');
    }
    if (keyType !== KEY_TYPE_GROUP)
      return refuse(ErrorCode.INVALID_REQUEST, `unknown key type ${keyType}`);
    if (key === '') return refuse(ErrorCode.INVALID_REQUEST, 'the group id must not be empty');
    const listener = broker.config.advertisedListeners[context.listenerIndex];
    return {
      key,
      nodeId: broker.brokerId,
      host: listener.host,
      port: listener.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
  }

  return {
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 6,
    async handle(
      request: FindCoordinatorRequest,
      context: RequestContext,
    ): Promise<FindCoordinatorResponse> {
      const keyType = request.keyType ?? KEY_TYPE_GROUP;
      if (context.apiVersion >= 4) {
        return {
          throttleTimeMs: 0,
          coordinators: (request.coordinatorKeys ?? []).map((key) => locate(key, keyType, context)),
        };
      }
      const { key: _key, ...single } = locate(request.key ?? '', keyType, context);
      return { throttleTimeMs: 0, ...single };
    },
  };
}
