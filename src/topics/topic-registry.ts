/**
 * Topics and their partition counts, held in the metadata store under `/koppa/topics/...` and
 * cached here so that request paths read them without a round trip. The cache follows the
 * store's notifications, so topics created through another broker appear here too.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { BadVersionError, type MetadataStore, type Notification } from '../metadata/types.js';

export const TOPICS_ROOT = '/koppa/topics';
/** Path segments of a topic node, counting the empty one before the first slash. */
const TOPIC_DEPTH = 7;

export interface TopicMetadata {
  /** `persistent://tenant/namespace/topic` */
  name: string;
  /** 16 random bytes, Kafka's topic id. */
  id: Buffer;
  partitions: number;
  /** Topic-level settings (Kafka config names), as given at creation. */
  configs: Record<string, string>;
  createdAt: number;
}

export class TopicExistsError extends Error {
  constructor(readonly topic: string) {
    super(`topic ${topic} already exists`);
    this.name = 'TopicExistsError';
  }
}

export class UnknownTopicError extends Error {
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist`);
    this.name = 'UnknownTopicError';
  }
}

interface StoredTopic {
  id: string;
  partitions: number;
  configs: Record<string, string>;
  createdAt: number;
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicMetadata>();
  private readonly byId = new Map<string, TopicMetadata>();
  private unsubscribe?: () => void;

  constructor(
    private readonly store: MetadataStore,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.store.onNotification((n) => this.onNotification(n));
    for (const path of await this.topicPaths()) await this.refresh(path);
  }

  stop(): void {
    this.unsubscribe?.();
  }

  get(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  getById(id: Buffer): TopicMetadata | undefined {
    return this.byId.get(id.toString('hex'));
  }

  /**
   * The topic as the store has it now, for when this broker must not wait for a notification
   * (another broker created it a moment ago).
   */
  async fetch(name: string): Promise<TopicMetadata | undefined> {
    await this.refresh(pathOf(name));
    return this.topics.get(name);
  }

  list(): TopicMetadata[] {
    return [...this.topics.values()];
  }

  async create(
    name: string,
    partitions: number,
    configs: Record<string, string> = {},
  ): Promise<TopicMetadata> {
    const stored: StoredTopic = {
      id: randomBytes(16).toString('hex'),
      partitions,
      configs,
      createdAt: Date.now(),
    };
    try {
      await this.store.put(pathOf(name), encode(stored), { expectedVersion: -1 });
    } catch (err) {
      if (err instanceof BadVersionError) throw new TopicExistsError(name);
      throw err;
    }
    return this.remember(name, stored);
  }

  async delete(name: string): Promise<void> {
    const existing = await this.store.get(pathOf(name));
    if (!existing) throw new UnknownTopicError(name);
    await this.store.delete(pathOf(name), existing.stat.version);
    this.forget(name);
  }

  /** Raises the partition count; compare-and-set so two brokers cannot both add. */
  async setPartitionCount(name: string, partitions: number): Promise<TopicMetadata> {
    const existing = await this.store.get(pathOf(name));
    if (!existing) throw new UnknownTopicError(name);
    const stored = decode(existing.value);
    stored.partitions = partitions;
    await this.store.put(pathOf(name), encode(stored), { expectedVersion: existing.stat.version });
    return this.remember(name, stored);
  }

  /** Topic node paths below `from`: /koppa/topics/<domain>/<tenant>/<namespace>/<topic>. */
  private async topicPaths(from = TOPICS_ROOT): Promise<string[]> {
    let level = [from];
    for (let depth = from.split('/').length; depth < TOPIC_DEPTH; depth++) {
      const next: string[] = [];
      for (const parent of level) {
        for (const child of await this.store.children(parent)) next.push(`${parent}/${child}`);
      }
      level = next;
    }
    return level;
  }

  private onNotification(n: Notification): void {
    if (n.path !== TOPICS_ROOT && !n.path.startsWith(`${TOPICS_ROOT}/`)) return;
    const depth = n.path.split('/').length;
    const warn = (err: unknown) => this.logger.warn({ err, path: n.path }, 'topic refresh failed');
    if (depth === TOPIC_DEPTH) {
      if (n.type === 'deleted') this.forget(nameOf(n.path));
      else if (n.type === 'created' || n.type === 'modified') this.refresh(n.path).catch(warn);
    } else if (depth < TOPIC_DEPTH && (n.type === 'children-changed' || n.type === 'created')) {
      // A topic (or a tenant or namespace) created through another broker: find what is new.
      this.rescan(n.path).catch(warn);
    }
  }

  private async rescan(from: string): Promise<void> {
    for (const path of await this.topicPaths(from)) {
      if (!this.topics.has(nameOf(path))) await this.refresh(path);
    }
  }

  private async refresh(path: string): Promise<void> {
    const result = await this.store.get(path);
    if (!result) {
      this.forget(nameOf(path));
      return;
    }
    try {
      this.remember(nameOf(path), decode(result.value));
    } catch (err) {
      this.logger.warn({ err, path }, 'ignoring unreadable topic metadata');
    }
  }

  private remember(name: string, stored: StoredTopic): TopicMetadata {
    const topic: TopicMetadata = {
      name,
      id: Buffer.from(stored.id, 'hex'),
      partitions: stored.partitions,
      configs: stored.configs,
      createdAt: stored.createdAt,
    };
    this.forget(name);
    this.topics.set(name, topic);
    this.byId.set(stored.id, topic);
    return topic;
  }

  private forget(name: string): void {
    const old = this.topics.get(name);
    if (!old) return;
    this.topics.delete(name);
    this.byId.delete(old.id.toString('hex'));
  }
}

/** `persistent://t/n/x` → `/koppa/topics/persistent/t/n/x` */
function pathOf(name: string): string {
  const match = /^([a-z]+):\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(name);
  if (!match) throw new Error(`not a full topic name: ${name}`);
  return `${TOPICS_ROOT}/${match[1]}/${match[2]}/${match[3]}/${match[4]}`;
}

function nameOf(path: string): string {
  const [domain, tenant, namespace, topic] = path.slice(TOPICS_ROOT.length + 1).split('/');
  return `${domain}://${tenant}/${namespace}/${topic}`;
}

function encode(stored: StoredTopic): Buffer {
  return Buffer.from(JSON.stringify(stored));
}

function decode(value: Buffer): StoredTopic {
  const parsed = JSON.parse(value.toString('utf8')) as StoredTopic;
  if (typeof parsed.id !== 'string' || !Number.isInteger(parsed.partitions))
    throw new Error('bad topic metadata');
  return parsed;
}
