/** DescribeConfigs for topics (their overrides over the broker defaults) and for this broker. */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../protocol/index.js';
import {
  CONFIG_SOURCE_DEFAULT,
  CONFIG_SOURCE_STATIC_BROKER,
  CONFIG_SOURCE_TOPIC,
  effectiveTopicConfigs,
} from '../topics/topic-configs.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

type Result = DescribeConfigsResponse['results'][number];
type Entry = Result['configs'][number];

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

export function describeConfigsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.DescribeConfigs> {
  const host = broker.host.hostConfig;
  const brokerConfigs = (): Record<string, string> => ({
    'broker.id': String(broker.brokerId),
    'auto.create.topics.enable': String(broker.config.allowAutoTopicCreation),
    'num.partitions': String(broker.config.defaultNumPartitions),
    'offsets.topic.num.partitions': String(broker.config.offsetsTopicNumPartitions),
    'message.max.bytes': String(broker.config.maxMessageSize),
    'socket.request.max.bytes': String(broker.config.socketRequestMaxBytes),
    'log.retention.ms': String(host.logRetentionMs),
    'log.retention.bytes': String(host.logRetentionBytes),
    'log.segment.bytes': String(host.logSegmentBytes),
    'log.roll.ms': String(host.logSegmentMs),
    'log.flush.interval.messages': String(host.logFlushIntervalMessages),
    'log.flush.interval.ms': String(host.logFlushIntervalMs),
  });

  const entry = (name: string, value: string, source: number, isDefault: boolean): Entry => ({
    name,
    value,
    readOnly: source === CONFIG_SOURCE_STATIC_BROKER,
    isDefault,
    configSource: source,
    isSensitive: false,
    synonyms: [],
    configType: 0,
    documentation: null,
  });

  function describe(resourceType: number, resourceName: string, keys: string[] | null): Result {
    const base = { resourceType, resourceName, errorCode: ErrorCode.NONE, errorMessage: null };
    const wanted = (name: string) => keys === null || keys.includes(name);
    if (resourceType === RESOURCE_TOPIC) {
      const topic = broker.topicService.find(resourceName);
      if (!topic) {
        return {
          ...base,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: `no topic ${resourceName}`,
          configs: [],
        };
      }
      const configs = effectiveTopicConfigs(topic.configs, host, broker.config.maxMessageSize)
        .filter((c) => wanted(c.name))
        .map((c) =>
          entry(
            c.name,
            c.value,
            c.isDefault ? CONFIG_SOURCE_DEFAULT : CONFIG_SOURCE_TOPIC,
            c.isDefault,
          ),
        );
      return { ...base, configs };
    }
    if (resourceType === RESOURCE_BROKER) {
      if (resourceName !== '' && resourceName !== String(broker.brokerId)) {
        return {
          ...base,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `this is broker ${broker.brokerId}`,
          configs: [],
        };
      }
      const configs = Object.entries(brokerConfigs())
        .filter(([name]) => wanted(name))
        .map(([name, value]) => entry(name, value, CONFIG_SOURCE_STATIC_BROKER, false));
      return { ...base, configs };
    }
    return {
      ...base,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `unsupported resource type ${resourceType}`,
      configs: [],
    };
  }

  return {
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 0,
    maxVersion: 4,
    async handle(
      request: DescribeConfigsRequest,
      _context: RequestContext,
    ): Promise<DescribeConfigsResponse> {
      return {
        throttleTimeMs: 0,
        results: request.resources.map((r) =>
          describe(r.resourceType, r.resourceName, r.configurationKeys),
        ),
      };
    },
  };
}
