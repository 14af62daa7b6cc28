/**
 * The metadata store, Pulsar's MetadataStore in spirit: a tree of versioned nodes with
 * conditional writes, ephemeral nodes and watches. Implementations: in-memory (optionally
 * snapshotted to a file for the single-process standalone) and ZooKeeper.
 */

export interface Stat {
  /** Version of the node's value; bumps on every put. */
  version: number;
  /** Creation and last modification time, ms since the epoch. */
  createdAt: number;
  modifiedAt: number;
  /** True when the node lives only as long as the session that created it. */
  ephemeral: boolean;
}

export interface GetResult {
  value: Buffer;
  stat: Stat;
}

export interface PutOptions {
  /**
   * Write only if the node's current version is this; -1 means "only if it does not exist".
   * Omitted: write unconditionally (create or overwrite).
   */
  expectedVersion?: number;
  /** Create the node as ephemeral (tied to this store's session). Only applies on create. */
  ephemeral?: boolean;
}

export type NotificationType = 'created' | 'modified' | 'deleted' | 'children-changed';

export interface Notification {
  type: NotificationType;
  path: string;
}

/** The expected version did not match (or the node existed when -1 was expected). */
export class BadVersionError extends Error {
  constructor(readonly path: string) {
    super(`bad version for ${path}`);
    this.name = 'BadVersionError';
  }
}

export class NotFoundError extends Error {
  constructor(readonly path: string) {
    super(`no node at ${path}`);
    this.name = 'NotFoundError';
  }
}

export interface MetadataStore {
  get(path: string): Promise<GetResult | null>;
  /** Creates missing parents as persistent nodes. Returns the node's new stat. */
  put(path: string, value: Buffer, options?: PutOptions): Promise<Stat>;
  /** Deletes the node; with expectedVersion, only if it matches (BadVersionError otherwise). */
  delete(path: string, expectedVersion?: number): Promise<void>;
  /** Deletes the node and everything below it. */
  deleteRecursive(path: string): Promise<void>;
  exists(path: string): Promise<Stat | null>;
  /** Child names (not paths), sorted. Empty when the node does not exist. */
  children(path: string): Promise<string[]>;
  /** Registers a listener for changes anywhere in the tree; returns an unsubscribe function. */
  onNotification(listener: (n: Notification) => void): () => void;
  close(): Promise<void>;
}
