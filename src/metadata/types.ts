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

export interface ReadOptions {
  /**
   * Whether the read registers interest in the path (see `onNotification`). Default true. False
   * for a one-off read (a scan, a read-modify-write): on ZooKeeper it leaves no watch behind
   * unless the path is watched already, in which case it stays watched.
   */
  watch?: boolean;
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

/**
 * The store could not complete an operation within its operation timeout (no ZooKeeper
 * connection, or the server did not answer). Whether a write that timed out took effect is
 * unknown: read before retrying a conditional write.
 */
export class MetadataUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataUnavailableError';
  }
}

/**
 * What happens to the store's session (Pulsar's SessionEvent, in Koppa's words):
 * - `disconnected`: the connection is lost; the session (and its ephemeral nodes) may still be
 *   alive; operations wait for a connection, up to the operation timeout.
 * - `connected`: the connection is back with the same session; nothing was lost.
 * - `expired`: the session is gone, or must be presumed gone because the store has been
 *   disconnected for longer than the session timeout. Other sessions may already have taken
 *   over what this store's ephemeral nodes held: stop acting on them until `reconnected`.
 * - `reconnected`: a session is established again after `expired`: either a new session, in
 *   which the store has re-created its ephemeral nodes (with their last values) and re-armed its
 *   watches before this event, or the old session turned out to be alive after all. Either way
 *   the store's ephemeral nodes exist again (except those another session took meanwhile).
 *
 * A store emits nothing when it opens (it is connected when its factory returns). The in-memory
 * store never loses its session, so it emits nothing at all.
 */
export type SessionEvent = 'connected' | 'disconnected' | 'expired' | 'reconnected';

export interface MetadataStore {
  get(path: string, options?: ReadOptions): Promise<GetResult | null>;
  /** Creates missing parents as persistent nodes. Returns the node's new stat. */
  put(path: string, value: Buffer, options?: PutOptions): Promise<Stat>;
  /** Deletes the node; with expectedVersion, only if it matches (BadVersionError otherwise). */
  delete(path: string, expectedVersion?: number): Promise<void>;
  /** Deletes the node and everything below it. */
  deleteRecursive(path: string): Promise<void>;
  exists(path: string, options?: ReadOptions): Promise<Stat | null>;
  /** Child names (not paths), sorted. Empty when the node does not exist. */
  children(path: string, options?: ReadOptions): Promise<string[]>;
  /**
   * Registers a listener for changes; returns an unsubscribe function. Which paths notify:
   * - in-memory store: every change anywhere in the tree, synchronously, to every session;
   * - ZooKeeper store: only paths this store has read with interest (reads watch by default; see
   *   `ReadOptions`). `get` and `exists` register interest in a path (then `created`,
   *   `modified`, `deleted`); `children` registers interest in its children (`children-changed`,
   *   `deleted`, and `created` when the node was missing). Interest lasts until `unwatch`, or as
   *   long as the store; watches are re-armed after every event and after a new session.
   *   Notifications are asynchronous and may coalesce several quick changes into one: a listener
   *   re-reads the node rather than inferring its value from the event. Once a read has
   *   returned, any later change to what it read is notified (watches are re-armed before
   *   listeners hear of the event that fired them).
   */
  onNotification(listener: (n: Notification) => void): () => void;
  /**
   * Drops the store's interest in the path, its data and its children alike (interest belongs to
   * the store, not to one listener: only the path's owner should call this). No notification
   * for the path follows, until a read registers interest again. ZooKeeper (3.4 protocol) cannot
   * remove a watch: the one armed on the server stays until it fires once, unnoticed. The
   * in-memory store notifies everything and does nothing here.
   */
  unwatch(path: string): void;
  /** Registers a listener for session events (see `SessionEvent`); returns an unsubscribe function. */
  onSessionEvent(listener: (event: SessionEvent) => void): () => void;
  /** Ends the session: its ephemeral nodes go. Later writes fail (ZooKeeper: all operations). */
  close(): Promise<void>;
}
