/**
 * The topics ownership covers, read from the topic nodes the TopicRegistry writes
 * (`/koppa/topics/<domain>/<tenant>/<namespace>/<topic>`, JSON with `id` and `partitions`) and
 * kept current from the store's notifications. The registry keeps no change listeners, and on
 * ZooKeeper a store notifies only paths it has read, so this watcher lists each level of the
 * tree itself: a topic created or grown through any broker is seen by every broker.
 */
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/types.js';
import { TOPICS_ROOT } from '../topics/topic-registry.js';
import { WorkQueue } from './work-queue.js';

/** Levels below the root: domain, tenant, namespace, then topic nodes. */
const TOPIC_DEPTH = 4;

export interface WatchedTopic {
  name: string;
  /** The topic id (hex): a topic deleted and created again under its name has a new one. */
  id: string;
  partitions: number;
}

export class TopicWatcher {
  private readonly topics = new Map<string, WatchedTopic>();
  /** Listed folders, and the children last seen in each. */
  private readonly folders = new Map<string, Set<string>>();
  private readonly queue: WorkQueue;
  private unsubscribe?: () => void;

  constructor(
    private readonly store: MetadataStore,
    private readonly logger: Logger,
    /** Called with the name of a topic that appeared, changed or went away. */
    private readonly onChange: (name: string) => void,
    concurrency: number,
  ) {
    this.queue = new WorkQueue({
      limit: concurrency,
      retryDelayMs: 500,
      onError: (path, err) => this.logger.warn({ err, path }, 'reading topics failed; retrying'),
    });
  }

  async start(): Promise<void> {
    this.unsubscribe = this.store.onNotification((n) => {
      const depth = depthOf(n.path);
      if (depth === undefined) return;
      if (depth < TOPIC_DEPTH) {
        if (n.type === 'deleted') this.forgetFolder(n.path);
        else this.scheduleList(n.path, false);
      } else if (n.type === 'deleted') {
        this.forgetTopic(n.path);
      } else if (n.type !== 'children-changed') {
        this.scheduleRead(n.path);
      }
    });
    this.rescan();
    await this.queue.idle();
  }

  /** Lists the whole tree and re-reads every topic (after a new metadata session). */
  rescan(): void {
    this.scheduleList(TOPICS_ROOT, true);
  }

  list(): WatchedTopic[] {
    return [...this.topics.values()];
  }

  get(name: string): WatchedTopic | undefined {
    return this.topics.get(name);
  }

  /** Resolves once nothing is being read. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.unsubscribe?.();
    this.queue.stop();
  }

  private scheduleList(path: string, deep: boolean): void {
    this.queue.schedule(`list:${path}`, () => this.listFolder(path, deep));
  }

  private scheduleRead(path: string): void {
    this.queue.schedule(`read:${path}`, () => this.readTopic(path));
  }

  private async listFolder(path: string, deep: boolean): Promise<void> {
    const depth = depthOf(path) ?? 0;
    const names = new Set(await this.store.children(path));
    const before = this.folders.get(path) ?? new Set<string>();
    this.folders.set(path, names);
    for (const name of before) {
      if (names.has(name)) continue;
      const child = `${path}/${name}`;
      if (depth + 1 < TOPIC_DEPTH) this.forgetFolder(child);
      else this.forgetTopic(child);
    }
    for (const name of names) {
      const child = `${path}/${name}`;
      if (!deep && before.has(name)) continue;
      if (depth + 1 < TOPIC_DEPTH) this.scheduleList(child, deep);
      else this.scheduleRead(child);
    }
  }

  private async readTopic(path: string): Promise<void> {
    const name = nameOf(path);
    const node = await this.store.get(path);
    if (!node) {
      this.forgetTopic(path);
      return;
    }
    let parsed: { id?: unknown; partitions?: unknown };
    try {
      parsed = JSON.parse(node.value.toString('utf8')) as typeof parsed;
    } catch (err) {
      this.logger.warn({ err, path }, 'ignoring unreadable topic metadata');
      return;
    }
    const { id, partitions } = parsed;
    if (typeof id !== 'string' || typeof partitions !== 'number' || !Number.isInteger(partitions)) {
      this.logger.warn({ path }, 'ignoring topic metadata without id and partition count');
      return;
    }
    const previous = this.topics.get(name);
    if (previous && previous.id === id && previous.partitions === partitions) return;
    this.topics.set(name, { name, id, partitions: Math.max(0, partitions) });
    this.onChange(name);
  }

  private forgetFolder(path: string): void {
    const names = this.folders.get(path);
    this.folders.delete(path);
    const depth = depthOf(path) ?? 0;
    for (const name of names ?? []) {
      const child = `${path}/${name}`;
      if (depth + 1 < TOPIC_DEPTH) this.forgetFolder(child);
      else this.forgetTopic(child);
    }
  }

  private forgetTopic(path: string): void {
    const name = nameOf(path);
    if (this.topics.delete(name)) this.onChange(name);
  }
}

/** 0 for the root, 1..4 below it; undefined outside the topic tree or deeper than topics. */
function depthOf(path: string): number | undefined {
  if (path === TOPICS_ROOT) return 0;
  if (!path.startsWith(`${TOPICS_ROOT}/`)) return undefined;
  const depth = path.slice(TOPICS_ROOT.length + 1).split('/').length;
  return depth <= TOPIC_DEPTH ? depth : undefined;
}

/** `/koppa/topics/persistent/t/n/x` → `persistent://t/n/x` (the registry's naming). */
function nameOf(path: string): string {
  const [domain, tenant, namespace, topic] = path.slice(TOPICS_ROOT.length + 1).split('/');
  return `${domain}://${tenant}/${namespace}/${topic}`;
}
