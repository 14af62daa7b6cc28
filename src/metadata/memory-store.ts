/**
 * In-memory metadata store. A `MemoryMetadataTree` holds the nodes; each `MemoryMetadataStore`
 * is one session over it (ephemeral nodes die with the session), so several brokers in one
 * process share a tree the way they would share a ZooKeeper ensemble. With a snapshot file the
 * persistent nodes survive restarts: the single-process standalone's durable metadata.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import {
  BadVersionError,
  NotFoundError,
  type GetResult,
  type MetadataStore,
  type Notification,
  type PutOptions,
  type ReadOptions,
  type SessionEvent,
  type Stat,
} from './types.js';

interface Node {
  value: Buffer;
  version: number;
  createdAt: number;
  modifiedAt: number;
  /** The session that owns an ephemeral node; undefined for persistent nodes. */
  owner?: number;
}

interface SnapshotEntry {
  path: string;
  value: string;
  version: number;
  createdAt: number;
  modifiedAt: number;
}

export class MemoryMetadataTree {
  private readonly nodes = new Map<string, Node>();
  private readonly listeners = new Set<(n: Notification) => void>();
  private nextSession = 1;

  constructor(private readonly snapshotPath?: string) {
    if (snapshotPath) this.loadSnapshot(snapshotPath);
  }

  newSession(): MemoryMetadataStore {
    return new MemoryMetadataStore(this, this.nextSession++);
  }

  get(path: string): Node | undefined {
    return this.nodes.get(path);
  }

  has(path: string): boolean {
    return this.nodes.has(path);
  }

  set(path: string, node: Node, created: boolean): void {
    this.nodes.set(path, node);
    if (node.owner === undefined) this.saveSnapshot();
    this.emit({ type: created ? 'created' : 'modified', path });
    if (created) this.emit({ type: 'children-changed', path: parentOf(path) });
  }

  remove(path: string): void {
    const node = this.nodes.get(path);
    if (!node) return;
    this.nodes.delete(path);
    if (node.owner === undefined) this.saveSnapshot();
    this.emit({ type: 'deleted', path });
    this.emit({ type: 'children-changed', path: parentOf(path) });
  }

  childrenOf(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const key of this.nodes.keys()) {
      if (
        key.startsWith(prefix) &&
        key.length > prefix.length &&
        !key.includes('/', prefix.length)
      ) {
        names.push(key.slice(prefix.length));
      }
    }
    return names.sort();
  }

  descendantsOf(path: string): string[] {
    const prefix = `${path}/`;
    return [...this.nodes.keys()].filter((k) => k.startsWith(prefix));
  }

  ephemeralsOf(session: number): string[] {
    return [...this.nodes.entries()].filter(([, n]) => n.owner === session).map(([p]) => p);
  }

  subscribe(listener: (n: Notification) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(n: Notification): void {
    for (const listener of [...this.listeners]) listener(n);
  }

  private loadSnapshot(path: string): void {
    let entries: SnapshotEntry[];
    try {
      entries = JSON.parse(readFileSync(path, 'utf8')) as SnapshotEntry[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`cannot read metadata snapshot ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    for (const e of entries) {
      this.nodes.set(e.path, {
        value: Buffer.from(e.value, 'base64'),
        version: e.version,
        createdAt: e.createdAt,
        modifiedAt: e.modifiedAt,
      });
    }
  }

  /**
   * Metadata writes are rare (topic creation, producer-id blocks), so a synchronous whole-file
   * rewrite is simpler than a log and keeps each put durable before it returns.
   */
  private saveSnapshot(): void {
    if (!this.snapshotPath) return;
    const entries: SnapshotEntry[] = [];
    for (const [path, n] of this.nodes) {
      if (n.owner !== undefined) continue;
      entries.push({
        path,
        value: n.value.toString('base64'),
        version: n.version,
        createdAt: n.createdAt,
        modifiedAt: n.modifiedAt,
      });
    }
    writeDurably(this.snapshotPath, JSON.stringify(entries));
  }
}

/**
 * Replaces `path` so that a crash leaves the old or the new content, never an empty file:
 * write a temporary file, fsync it, rename it over, fsync the folder.
 */
function writeDurably(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class MemoryMetadataStore implements MetadataStore {
  private readonly unsubscribers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly tree: MemoryMetadataTree,
    private readonly session: number,
  ) {}

  // Every session hears of every change: reading with or without a watch is the same.
  async get(path: string, _options?: ReadOptions): Promise<GetResult | null> {
    const node = this.tree.get(checkPath(path));
    return node ? { value: node.value, stat: statOf(node) } : null;
  }

  async exists(path: string, _options?: ReadOptions): Promise<Stat | null> {
    const node = this.tree.get(checkPath(path));
    return node ? statOf(node) : null;
  }

  async put(path: string, value: Buffer, options: PutOptions = {}): Promise<Stat> {
    this.checkOpen();
    checkPath(path);
    const existing = this.tree.get(path);
    const expected = options.expectedVersion;
    if (expected !== undefined) {
      if (expected === -1 ? existing !== undefined : existing?.version !== expected) {
        throw new BadVersionError(path);
      }
    }
    const now = Date.now();
    if (!existing) this.createParents(path, now);
    const node: Node = existing
      ? { ...existing, value: Buffer.from(value), version: existing.version + 1, modifiedAt: now }
      : {
          value: Buffer.from(value),
          version: 0,
          createdAt: now,
          modifiedAt: now,
          owner: options.ephemeral ? this.session : undefined,
        };
    this.tree.set(path, node, !existing);
    return statOf(node);
  }

  async delete(path: string, expectedVersion?: number): Promise<void> {
    this.checkOpen();
    const node = this.tree.get(checkPath(path));
    if (!node) throw new NotFoundError(path);
    if (expectedVersion !== undefined && node.version !== expectedVersion) {
      throw new BadVersionError(path);
    }
    if (this.tree.childrenOf(path).length > 0) throw new Error(`node ${path} has children`);
    this.tree.remove(path);
  }

  async deleteRecursive(path: string): Promise<void> {
    this.checkOpen();
    checkPath(path);
    const paths = this.tree.descendantsOf(path).sort((a, b) => b.length - a.length);
    for (const p of paths) this.tree.remove(p);
    this.tree.remove(path);
  }

  async children(path: string, _options?: ReadOptions): Promise<string[]> {
    return this.tree.childrenOf(checkPath(path));
  }

  /** Every change is notified here, wanted or not: nothing to drop. */
  unwatch(path: string): void {
    checkPath(path);
  }

  onNotification(listener: (n: Notification) => void): () => void {
    const unsubscribe = this.tree.subscribe(listener);
    this.unsubscribers.add(unsubscribe);
    return () => {
      unsubscribe();
      this.unsubscribers.delete(unsubscribe);
    };
  }

  /** An in-memory session never disconnects or expires, so it emits no session events. */
  onSessionEvent(_listener: (event: SessionEvent) => void): () => void {
    return () => {};
  }

  /** Ends the session: its ephemeral nodes go, as with a closed ZooKeeper session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers.clear();
    for (const path of this.tree.ephemeralsOf(this.session)) this.tree.remove(path);
  }

  private createParents(path: string, now: number): void {
    const parts = path.split('/').slice(1, -1);
    let current = '';
    for (const part of parts) {
      current += `/${part}`;
      if (!this.tree.has(current)) {
        this.tree.set(
          current,
          { value: Buffer.alloc(0), version: 0, createdAt: now, modifiedAt: now },
          true,
        );
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('metadata store session is closed');
  }
}

function statOf(node: Node): Stat {
  return {
    version: node.version,
    createdAt: node.createdAt,
    modifiedAt: node.modifiedAt,
    ephemeral: node.owner !== undefined,
  };
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function checkPath(path: string): string {
  if (!path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw new Error(`invalid metadata path: ${path}`);
  }
  return path;
}
