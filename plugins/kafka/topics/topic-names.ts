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

export class TopicNamer {
  constructor(
    private readonly defaultTenant: string,
    private readonly defaultNamespace: string,
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
    const tenant = this.defaultTenant;
    const namespace = this.defaultNamespace;
    return {
      kafkaName,
      fullName: `${PERSISTENT}${tenant}/${namespace}/${kafkaName}`,
      tenant,
      namespace,
      localName: kafkaName,
    };
  }

  /** The name to show Kafka clients for a full name: short when in the default namespace. */
  kafkaNameOf(fullName: string): string {
    const prefix = `${PERSISTENT}${this.defaultTenant}/${this.defaultNamespace}/`;
    return fullName.startsWith(prefix) ? fullName.slice(prefix.length) : fullName;
  }
}
