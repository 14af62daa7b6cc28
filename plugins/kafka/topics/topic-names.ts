/**
 * Kafka topic names ↔ the host's full names, as KoP maps them: a short name `orders` lives at
 * `persistent://<kafkaTenant>/<kafkaNamespace>/orders`; a full `persistent://t/n/x` name is
 * taken as given.
 */

const PERSISTENT = 'persistent://';
/** Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], not "." or "..". */
const KAFKA_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export interface TopicName {
  /** The name Kafka clients use. */
  kafkaName: string;
  /** `persistent://tenant/namespace/topic` */
  fullName: string;
  tenant: string;
  namespace: string;
  /** The last part of the full name. */
  localName: string;
}

/** Kafka's own topics, kept in the metadata namespace rather than the users' (KoP). */
const INTERNAL_TOPICS = new Set(['__consumer_offsets']);

export class TopicNamer {
  constructor(
    private readonly defaultTenant: string,
    private readonly defaultNamespace: string,
    private readonly metadataTenant: string,
    private readonly metadataNamespace: string,
  ) {}

  /** Null when the name is not a legal topic name. */
  parse(kafkaName: string): TopicName | null {
    if (kafkaName.startsWith(PERSISTENT)) {
      const parts = kafkaName.slice(PERSISTENT.length).split('/');
      if (parts.length !== 3 || !parts.every((p) => KAFKA_NAME.test(p))) return null;
      const [tenant, namespace, localName] = parts;
      return { kafkaName, fullName: kafkaName, tenant, namespace, localName };
    }
    if (!KAFKA_NAME.test(kafkaName) || kafkaName === '.' || kafkaName === '..') return null;
    const internal = INTERNAL_TOPICS.has(kafkaName);
    const tenant = internal ? this.metadataTenant : this.defaultTenant;
    const namespace = internal ? this.metadataNamespace : this.defaultNamespace;
    return {
      kafkaName,
      fullName: `${PERSISTENT}${tenant}/${namespace}/${kafkaName}`,
      tenant,
      namespace,
      localName: kafkaName,
    };
  }

  /** The name to show Kafka clients for a full name: short in the default or metadata namespace. */
  kafkaNameOf(fullName: string): string {
    const prefix = `${PERSISTENT}${this.defaultTenant}/${this.defaultNamespace}/`;
    if (fullName.startsWith(prefix)) return fullName.slice(prefix.length);
    const local = fullName.slice(fullName.lastIndexOf('/') + 1);
    return this.isInternal(fullName) ? local : fullName;
  }

  /** True for Kafka's own topics: clients may read them but not write, delete or grow them. */
  isInternal(fullName: string): boolean {
    const local = fullName.slice(fullName.lastIndexOf('/') + 1);
    return (
      INTERNAL_TOPICS.has(local) &&
      fullName === `${PERSISTENT}${this.metadataTenant}/${this.metadataNamespace}/${local}`
    );
  }
}
