/**
 * What every admin answer shares: timestamps as ISO strings, topics under both their Kafka name
 * and their full name, and the scope a broker answers for.
 */
import { HttpError, type HttpRequest } from '../../../src/api/index.js';
import type { TopicNamer } from '../topics/topic-names.js';

/** A topic as admin answers name it. */
export interface TopicNames {
  /** The name Kafka clients use (`orders`; the full name outside the default namespace). */
  kafkaName: string;
  /** `persistent://public/default/orders` */
  fullName: string;
}

/** Names of a topic given by its full name or as Kafka clients name it. */
export function topicNames(namer: TopicNamer, name: string): TopicNames {
  const fullName = namer.parse(name)?.fullName ?? name;
  return { kafkaName: namer.kafkaNameOf(fullName), fullName };
}

/** ms since the epoch → ISO 8601; null stays null (and so does a negative "unknown" time). */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || ms < 0 ? null : new Date(ms).toISOString();
}

/**
 * `?scope=local`: only what this broker holds (what other brokers ask when they answer for the
 * cluster); `cluster` (the default): the whole cluster, from any broker.
 */
export type Scope = 'local' | 'cluster';

export function scopeOf(request: HttpRequest): Scope {
  const scope = request.query.scope ?? 'cluster';
  if (scope !== 'local' && scope !== 'cluster') {
    throw new HttpError(400, `scope must be local or cluster, not ${scope}`);
  }
  return scope;
}

/** A broker that could not answer its part of a cluster-wide answer. */
export interface BrokerError {
  brokerId: number;
  error: string;
}
