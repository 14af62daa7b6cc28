/**
 * The metadata store on ZooKeeper, over node-zookeeper-client (the ZooKeeper 3.4 protocol: no
 * container or TTL nodes, no persistent recursive watches, no create-with-stat).
 *
 * Connection handling, which the client library leaves to its user:
 * - Operations run only while a session is connected; they wait for one, and each fails with
 *   `MetadataUnavailableError` once the operation timeout has passed.
 * - An operation whose request was lost with the connection is retried; a retried write that
 *   finds its own effect (a create that now exists with its value at version 0, a conditional
 *   set that now has its value at the next version, a delete that finds no node) reports
 *   success instead of a conflict.
 * - The library has no read timeout: a watchdog probes the server a few times per session
 *   timeout and drops a connection that stopped answering, so that the library reconnects.
 * - After session expiry the store opens a new session, re-creates the ephemeral nodes it had
 *   created (with their last values), re-arms its watches (reporting what changed meanwhile as
 *   notifications), then tells `onSessionEvent` listeners `reconnected`.
 *
 * Chroot is applied here rather than by the library: every path is prefixed, and the chroot
 * node is created when the store opens.
 */
import zookeeper from 'node-zookeeper-client';
import { pino, type Logger } from 'pino';
import {
  BadVersionError,
  MetadataUnavailableError,
  NotFoundError,
  type GetResult,
  type MetadataStore,
  type Notification,
  type NotificationType,
  type PutOptions,
  type ReadOptions,
  type SessionEvent,
  type Stat,
} from './types.js';

type Client = zookeeper.Client;
type ZkStat = zookeeper.Stat;
type ZkEvent = zookeeper.Event;
type Watcher = zookeeper.Watcher;

const { Exception: Code, CreateMode, State, Event: EventType } = zookeeper;

/** ZooKeeper 3.5+ error codes that node-zookeeper-client 1.1.3 does not know. */
const UNKNOWN_SESSION = -12;

/**
 * node-zookeeper-client throws from its socket handler (crashing the process) when a server
 * answers with an error code it does not know, such as UNKNOWNSESSION (-12), which ZooKeeper 3.8
 * sends on a connection whose session was closed under it. Map such codes onto known ones:
 * UNKNOWNSESSION to SESSION_EXPIRED (the store then reconnects and finds its session gone),
 * anything else to SYSTEM_ERROR.
 */
function guardUnknownErrorCodes(): void {
  const exceptions = zookeeper.Exception as typeof zookeeper.Exception & { koppaGuarded?: true };
  if (exceptions.koppaGuarded) return;
  const create = exceptions.create.bind(exceptions);
  exceptions.create = (code: number, path?: string) => {
    try {
      return create(code, path);
    } catch {
      const known = create(
        code === UNKNOWN_SESSION ? Code.SESSION_EXPIRED : Code.SYSTEM_ERROR,
        path,
      );
      known.message += ` (server error code ${code})`;
      return known;
    }
  };
  exceptions.koppaGuarded = true;
}
guardUnknownErrorCodes();

export interface ZooKeeperStoreOptions {
  /**
   * Session timeout asked of the server, which clamps it to its own minimum and maximum
   * (by default 2 and 20 ticks). Pulsar's `zooKeeperSessionTimeoutMillis`. Default 30 000.
   */
  sessionTimeoutMs?: number;
  /**
   * How long one operation may wait for a connection and an answer before it fails with
   * `MetadataUnavailableError`; also bounds the initial connection. Default 10 000.
   */
  operationTimeoutMs?: number;
  /** Pause before trying the servers again once all have refused. Default 200. */
  reconnectDelayMs?: number;
  logger?: Logger;
}

export interface ZooKeeperAddress {
  /** `host:port[,host:port...]` */
  hosts: string;
  /** `/a/b`, or `''` for none. */
  chroot: string;
}

/** Parses `zk:host:port[,host:port...][/chroot]` (also accepted: `zk://...`). */
export function parseZooKeeperUrl(url: string): ZooKeeperAddress {
  if (!url.startsWith('zk:')) throw new Error(`not a ZooKeeper url: ${url}`);
  let rest = url.slice('zk:'.length);
  if (rest.startsWith('//')) rest = rest.slice(2);
  const slash = rest.indexOf('/');
  const hosts = slash === -1 ? rest : rest.slice(0, slash);
  const chroot = slash === -1 || slash === rest.length - 1 ? '' : rest.slice(slash);
  const servers = hosts.split(',');
  for (const server of servers) {
    const match = /^([^:\s]+)(?::(\d+))?$/.exec(server);
    const port = match?.[2] === undefined ? 2181 : Number(match[2]);
    if (!match || port < 1 || port > 65535) {
      throw new Error(
        `invalid ZooKeeper url ${url}: expected zk:host:port[,host:port...][/chroot]`,
      );
    }
  }
  if (chroot) checkPath(chroot);
  return { hosts, chroot };
}

/** One library client, that is one ZooKeeper session (the library reconnects within it). */
interface Connection {
  readonly client: Client;
  /** Set for a session that replaces an expired one until ephemerals and watches are back. */
  needsRecovery: boolean;
  recovering: boolean;
  /** The session has been usable at least once. */
  established: boolean;
  /** The library reports the connection up. */
  up: boolean;
  downSince: number;
  lastKick: number;
  lastProbe: number;
  probeSentAt?: number;
  /** How long the probe in flight may go unanswered before the connection is dropped. */
  probeLimitMs: number;
  /** Aborts requests in flight when the session is abandoned. */
  readonly inflight: Set<(err: Error) => void>;
  /** Paths with a data or existence watch (through `dataWatchers`) registered on the server. */
  readonly dataArmed: Set<string>;
  readonly childArmed: Set<string>;
  readonly dataWatchers: Map<string, Watcher>;
  readonly childWatchers: Map<string, Watcher>;
}

interface Op {
  name: string;
  path: string;
  deadline: number;
  /** A previous attempt may have reached the server: a conflict may be this operation's own. */
  retrying: boolean;
}

/** Requests in flight on a session that expired: retried on the new session. */
class SessionReplacedError extends Error {
  constructor() {
    super('ZooKeeper session expired');
    this.name = 'SessionReplacedError';
  }
}

const EMPTY = Buffer.alloc(0);
const ZERO_LONG = Buffer.alloc(8);

export class ZooKeeperMetadataStore implements MetadataStore {
  private readonly hosts: string;
  private readonly chroot: string;
  private readonly sessionTimeoutMs: number;
  private readonly operationTimeoutMs: number;
  private readonly reconnectDelayMs: number;
  private readonly logger: Logger;

  private conn: Connection;
  /** Operations may run: the current session is connected and recovered. */
  private ready = false;
  private closed = false;
  /** `expired` was told and `reconnected` not yet. */
  private sessionLost = false;
  private expiryTimer?: NodeJS.Timeout;
  private readonly watchdog: NodeJS.Timeout;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(n: Notification) => void>();
  private readonly sessionListeners = new Set<(event: SessionEvent) => void>();
  /** Ephemeral nodes this store created, with their last values, to re-create after expiry. */
  private readonly ephemerals = new Map<string, Buffer>();
  private readonly expiredSessions: string[] = [];
  /** Paths read with get/exists (data interest) and children (child interest). */
  private readonly dataInterest = new Set<string>();
  private readonly childInterest = new Set<string>();
  /** Last seen `czxid:mzxid` (null: absent) and child list, to report changes across sessions. */
  private readonly lastData = new Map<string, string | null>();
  private readonly lastChildren = new Map<string, string | null>();
  private readonly handledEvents = new WeakSet<ZkEvent>();

  /** Connects (within the operation timeout) and creates the chroot if it is missing. */
  static async open(
    url: string,
    options: ZooKeeperStoreOptions = {},
  ): Promise<ZooKeeperMetadataStore> {
    const store = new ZooKeeperMetadataStore(parseZooKeeperUrl(url), options);
    try {
      await store.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private constructor(address: ZooKeeperAddress, options: ZooKeeperStoreOptions) {
    this.hosts = address.hosts;
    this.chroot = address.chroot;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 10_000;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 200;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({
      zookeeper: address.hosts + address.chroot,
    });
    this.conn = this.connect(false);
    const every = Math.max(100, Math.min(1000, Math.floor(this.sessionTimeoutMs / 6)));
    this.watchdog = setInterval(() => this.checkLiveness(), every);
    this.watchdog.unref();
  }

  private async start(): Promise<void> {
    const op = this.newOp('connect', this.chroot || '/');
    try {
      await this.whenReady(op);
    } catch (err) {
      if (!(err instanceof MetadataUnavailableError)) throw err;
      throw new MetadataUnavailableError(
        `cannot connect to ZooKeeper at ${this.hosts} within ${this.operationTimeoutMs} ms`,
      );
    }
    if (this.chroot) {
      await this.run('create chroot', '/', (conn, o) => this.ensureNode(conn, o, this.chroot));
    }
  }

  /** The current session, for diagnostics and tests (e.g. to expire it on purpose). */
  sessionInfo(): {
    sessionId: string;
    password: Buffer;
    hosts: string;
    timeoutMs: number;
    connected: boolean;
  } {
    const { client } = this.conn;
    return {
      sessionId: client.getSessionId().toString('hex'),
      password: client.getSessionPassword(),
      hosts: this.hosts,
      timeoutMs: client.getSessionTimeout(),
      connected: this.ready,
    };
  }

  /**
   * Ends the session on the server the way its expiry would (the server drops its ephemeral
   * nodes and its connection) while the store stays open: the store then finds its session
   * expired and recovers exactly as from a real expiry. For tests and fault drills. The close
   * goes out on the session's own connection, so nothing can win a race for the session.
   */
  killSession(): void {
    const socket = this.conn.client.connectionManager.socket;
    if (!this.ready || !socket) throw new Error('no connected ZooKeeper session to kill');
    const frame = Buffer.alloc(12);
    frame.writeInt32BE(8, 0); // length
    frame.writeInt32BE(0x7ffffff0, 4); // an xid the client never uses: its answer is dropped
    frame.writeInt32BE(-11, 8); // closeSession
    socket.write(frame);
  }

  // ---- MetadataStore ----------------------------------------------------------------------

  async get(path: string, options: ReadOptions = {}): Promise<GetResult | null> {
    checkPath(path);
    if (options.watch === false && !this.dataInterest.has(path)) {
      return this.run('get', path, async (conn, op) => {
        try {
          const { data, stat } = await this.zkGetData(conn, op, this.full(path), undefined);
          return { value: data, stat: toStat(stat) };
        } catch (err) {
          if (codeOf(err) === Code.NO_NODE) return null;
          throw err;
        }
      });
    }
    this.dataInterest.add(path);
    return this.run('get', path, async (conn, op) => {
      const full = this.full(path);
      for (let attempt = 0; attempt < 10; attempt++) {
        const armed = conn.dataArmed.has(path);
        try {
          const { data, stat } = await this.zkGetData(
            conn,
            op,
            full,
            armed ? undefined : this.dataWatcher(conn, path),
          );
          this.noteData(path, stat, false);
          return { value: data, stat: toStat(stat) };
        } catch (err) {
          if (codeOf(err) !== Code.NO_NODE) throw err;
        }
        // No node, and getData leaves no watch on a missing node: watch for its creation.
        const stat = armed ? null : await this.armExistence(conn, op, path);
        if (!stat) {
          this.noteData(path, null, false);
          return null;
        }
      }
      throw new Error(`get ${path}: the node kept appearing and vanishing`);
    });
  }

  async exists(path: string, options: ReadOptions = {}): Promise<Stat | null> {
    checkPath(path);
    if (options.watch === false && !this.dataInterest.has(path)) {
      return this.run('exists', path, async (conn, op) => {
        const stat = await this.zkExists(conn, op, this.full(path), undefined);
        return stat ? toStat(stat) : null;
      });
    }
    this.dataInterest.add(path);
    return this.run('exists', path, async (conn, op) => {
      const stat = conn.dataArmed.has(path)
        ? await this.zkExists(conn, op, this.full(path), undefined)
        : await this.armExistence(conn, op, path);
      this.noteData(path, stat, false);
      return stat ? toStat(stat) : null;
    });
  }

  async children(path: string, options: ReadOptions = {}): Promise<string[]> {
    checkPath(path);
    if (options.watch === false && !this.childInterest.has(path)) {
      return this.run('children', path, async (conn, op) => {
        try {
          return await this.zkGetChildren(conn, op, this.full(path), undefined);
        } catch (err) {
          if (codeOf(err) === Code.NO_NODE) return [];
          throw err;
        }
      });
    }
    this.childInterest.add(path);
    return this.run('children', path, async (conn, op) => {
      if (conn.childArmed.has(path)) {
        try {
          const names = await this.zkGetChildren(conn, op, this.full(path), undefined);
          this.noteChildren(path, names, false);
          return names;
        } catch (err) {
          if (codeOf(err) !== Code.NO_NODE) throw err;
        }
      }
      return (await this.armChildren(conn, op, path, false)) ?? [];
    });
  }

  async put(path: string, value: Buffer, options: PutOptions = {}): Promise<Stat> {
    checkPath(path);
    const data = Buffer.from(value);
    const ephemeral = options.ephemeral ?? false;
    const expected = options.expectedVersion;
    return this.run('put', path, async (conn, op) => {
      if (expected === -1) return this.createNode(conn, op, path, data, ephemeral);
      if (expected !== undefined) return this.setNode(conn, op, path, data, expected);
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          const stat = await this.zkSetData(conn, op, this.full(path), data, -1);
          this.noteWrite(path, data);
          return toStat(stat);
        } catch (err) {
          if (codeOf(err) !== Code.NO_NODE) throw err;
        }
        try {
          return await this.createNode(conn, op, path, data, ephemeral);
        } catch (err) {
          if (!(err instanceof BadVersionError)) throw err;
          // Created meanwhile by someone else: overwrite it, as an unconditional put does.
        }
      }
      throw new Error(`put ${path}: the node kept appearing and vanishing`);
    });
  }

  async delete(path: string, expectedVersion?: number): Promise<void> {
    checkPath(path);
    await this.run('delete', path, async (conn, op) => {
      try {
        await this.zkRemove(conn, op, this.full(path), expectedVersion ?? -1);
      } catch (err) {
        const code = codeOf(err);
        if (code === Code.NO_NODE) {
          // After a lost connection, the first attempt may have deleted it.
          if (!op.retrying) throw new NotFoundError(path);
        } else if (code === Code.BAD_VERSION) {
          throw new BadVersionError(path);
        } else if (code === Code.NOT_EMPTY) {
          throw new Error(`node ${path} has children`, { cause: err });
        } else {
          throw err;
        }
      }
      this.ephemerals.delete(path);
    });
  }

  /**
   * Deletes the node and everything below it, children first, to any depth (the library's own
   * recursive delete stops at two levels). Nodes created concurrently below it are deleted too.
   * Deleting `/` empties the store (the root itself stays). A missing node is not an error.
   */
  async deleteRecursive(path: string): Promise<void> {
    checkPath(path);
    await this.deleteTree(path, 0);
  }

  onNotification(listener: (n: Notification) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Forgets the path's interest. A watch already armed on the server stays until it fires (the
   * 3.4 protocol cannot remove one); it then notifies nothing and is not re-armed. A read with
   * interest before it fires relies on it, as on any armed watch.
   */
  unwatch(path: string): void {
    checkPath(path);
    this.dataInterest.delete(path);
    this.childInterest.delete(path);
    this.lastData.delete(path);
    this.lastChildren.delete(path);
    this.dropWatchers(this.conn, path);
  }

  onSessionEvent(listener: (event: SessionEvent) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** Closes the session (its ephemeral nodes go at once) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    clearInterval(this.watchdog);
    clearTimeout(this.expiryTimer);
    const conn = this.conn;
    for (const abort of [...conn.inflight]) abort(new Error('metadata store session is closed'));
    this.wake();
    this.listeners.clear();
    this.sessionListeners.clear();
    await endSession(conn);
  }

  // ---- writes -----------------------------------------------------------------------------

  private async createNode(
    conn: Connection,
    op: Op,
    path: string,
    data: Buffer,
    ephemeral: boolean,
  ): Promise<Stat> {
    const full = this.full(path);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.zkCreate(
          conn,
          op,
          full,
          data,
          ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT,
        );
        break;
      } catch (err) {
        const code = codeOf(err);
        if (code === Code.NO_NODE && attempt < 10) {
          await this.ensureNode(conn, op, parentOf(full));
          continue;
        }
        if (code === Code.NODE_EXISTS) {
          if (op.retrying && (await this.isOwnCreate(conn, op, full, data, ephemeral))) break;
          throw new BadVersionError(path);
        }
        if (code === Code.NO_CHILDREN_FOR_EPHEMERALS) {
          throw new Error(`cannot create ${path}: its parent is an ephemeral node`, {
            cause: err,
          });
        }
        throw err;
      }
    }
    if (ephemeral) this.ephemerals.set(path, data);
    else this.ephemerals.delete(path);
    // The 3.4 protocol's create returns no stat; times are this host's clock.
    const now = Date.now();
    return { version: 0, createdAt: now, modifiedAt: now, ephemeral };
  }

  private async setNode(
    conn: Connection,
    op: Op,
    path: string,
    data: Buffer,
    expected: number,
  ): Promise<Stat> {
    const full = this.full(path);
    try {
      const stat = await this.zkSetData(conn, op, full, data, expected);
      this.noteWrite(path, data);
      return toStat(stat);
    } catch (err) {
      const code = codeOf(err);
      if (code === Code.BAD_VERSION && op.retrying) {
        const current = await this.zkGetData(conn, op, full, undefined).catch((e: unknown) => {
          if (codeOf(e) === Code.NO_NODE) return null;
          throw e;
        });
        if (current && current.stat.version === expected + 1 && current.data.equals(data)) {
          this.noteWrite(path, data);
          return toStat(current.stat);
        }
      }
      if (code === Code.BAD_VERSION || code === Code.NO_NODE) throw new BadVersionError(path);
      throw err;
    }
  }

  /** After a lost reply: is the node that exists the one this operation created? */
  private async isOwnCreate(
    conn: Connection,
    op: Op,
    full: string,
    data: Buffer,
    ephemeral: boolean,
  ): Promise<boolean> {
    try {
      const current = await this.zkGetData(conn, op, full, undefined);
      const owner = current.stat.ephemeralOwner;
      return (
        current.stat.version === 0 &&
        current.data.equals(data) &&
        (ephemeral ? owner.equals(conn.client.getSessionId()) : owner.equals(ZERO_LONG))
      );
    } catch (err) {
      if (codeOf(err) === Code.NO_NODE) return false;
      throw err;
    }
  }

  /** Creates a persistent, empty node and any missing ancestors; concurrent creators are fine. */
  private async ensureNode(conn: Connection, op: Op, full: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      if (full === '/') return;
      try {
        await this.zkCreate(conn, op, full, EMPTY, CreateMode.PERSISTENT);
        return;
      } catch (err) {
        const code = codeOf(err);
        if (code === Code.NODE_EXISTS) return;
        if (code !== Code.NO_NODE) throw err;
      }
      await this.ensureNode(conn, op, parentOf(full));
    }
    throw new Error(`cannot create ${full}: its parent keeps vanishing`);
  }

  private async deleteTree(path: string, attempt: number): Promise<void> {
    const names = await this.run('deleteRecursive', path, async (conn, op) => {
      try {
        return await this.zkGetChildren(conn, op, this.full(path), undefined);
      } catch (err) {
        if (codeOf(err) === Code.NO_NODE) return null;
        throw err;
      }
    });
    if (names === null) return;
    await Promise.all(names.map((name) => this.deleteTree(childOf(path, name), 0)));
    if (path === '/') return;
    const outcome = await this.run('deleteRecursive', path, async (conn, op) => {
      try {
        await this.zkRemove(conn, op, this.full(path), -1);
        return 'deleted';
      } catch (err) {
        const code = codeOf(err);
        if (code === Code.NO_NODE) return 'gone';
        if (code === Code.NOT_EMPTY) return 'not-empty';
        throw err;
      }
    });
    if (outcome === 'not-empty') {
      if (attempt >= 10) throw new Error(`cannot delete ${path}: children keep appearing`);
      await this.deleteTree(path, attempt + 1);
      return;
    }
    this.ephemerals.delete(path);
  }

  private noteWrite(path: string, data: Buffer): void {
    if (this.ephemerals.has(path)) this.ephemerals.set(path, data);
  }

  // ---- watches ----------------------------------------------------------------------------

  private dataWatcher(conn: Connection, path: string): Watcher {
    let watcher = conn.dataWatchers.get(path);
    if (!watcher) {
      watcher = (event) => this.onWatchEvent(conn, path, conn.dataArmed, event);
      conn.dataWatchers.set(path, watcher);
    }
    return watcher;
  }

  private childWatcher(conn: Connection, path: string): Watcher {
    let watcher = conn.childWatchers.get(path);
    if (!watcher) {
      watcher = (event) => this.onWatchEvent(conn, path, conn.childArmed, event);
      conn.childWatchers.set(path, watcher);
    }
    return watcher;
  }

  /** Forgets the path's watcher functions that no interest needs and no armed watch holds. */
  private dropWatchers(conn: Connection, path: string): void {
    if (!this.dataInterest.has(path) && !conn.dataArmed.has(path)) conn.dataWatchers.delete(path);
    if (!this.childInterest.has(path) && !conn.childArmed.has(path)) {
      conn.childWatchers.delete(path);
    }
  }

  /** `exists` with the path's data watcher: a data watch if it exists, else an existence one. */
  private async armExistence(conn: Connection, op: Op, path: string): Promise<ZkStat | null> {
    return this.zkExists(conn, op, this.full(path), this.dataWatcher(conn, path));
  }

  /**
   * Lists the children with a child watch; on a missing node (null), watches for its creation.
   */
  private async armChildren(
    conn: Connection,
    op: Op,
    path: string,
    report: boolean,
  ): Promise<string[] | null> {
    const full = this.full(path);
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const names = await this.zkGetChildren(conn, op, full, this.childWatcher(conn, path));
        this.noteChildren(path, names, report);
        return names;
      } catch (err) {
        if (codeOf(err) !== Code.NO_NODE) throw err;
      }
      const stat = await this.armExistence(conn, op, path);
      this.noteData(path, stat, report);
      if (!stat) {
        this.noteChildren(path, null, report);
        return null;
      }
    }
    throw new Error(`children ${path}: the node kept appearing and vanishing`);
  }

  /**
   * Arms whatever watches the path's interests need and are not armed on this session.
   * Returns whether the node exists, when that was learnt.
   */
  private async armPath(
    conn: Connection,
    path: string,
    report: boolean,
  ): Promise<boolean | undefined> {
    const op = this.newOp('watch', path);
    let exists: boolean | undefined;
    if (this.childInterest.has(path) && !conn.childArmed.has(path)) {
      exists = (await this.armChildren(conn, op, path, report)) !== null;
    }
    if (this.dataInterest.has(path) && !conn.dataArmed.has(path)) {
      const stat = await this.armExistence(conn, op, path);
      this.noteData(path, stat, report);
      exists = stat !== null;
    }
    return exists;
  }

  private async armAll(conn: Connection, report: boolean): Promise<void> {
    const paths = new Set([...this.dataInterest, ...this.childInterest]);
    await Promise.all([...paths].map((path) => this.armPath(conn, path, report)));
  }

  /**
   * A watch fired. ZooKeeper watches fire once, so the path's watches are re-armed *before*
   * listeners hear of the event: whatever a listener reads afterwards is read after the new
   * watch is in place, so no later change can go unnoticed. Changes made between the event and
   * the re-arm are folded into the event, with a corrective `created` or `deleted` when the
   * node's existence is no longer what the event implies.
   */
  private onWatchEvent(conn: Connection, path: string, armed: Set<string>, event: ZkEvent): void {
    armed.delete(path);
    if (conn !== this.conn || this.closed || this.handledEvents.has(event)) return;
    this.handledEvents.add(event);
    // The library hands one event to every watcher it fires (a deletion fires both the data and
    // the child watch): re-arm once all of them have run.
    queueMicrotask(() => void this.rearmThenNotify(conn, path, event.type));
  }

  private async rearmThenNotify(conn: Connection, path: string, type: number): Promise<void> {
    if (!this.dataInterest.has(path) && !this.childInterest.has(path)) {
      // Unwatched since this watch was armed: it ends here, unnoticed.
      this.dropWatchers(conn, path);
      return;
    }
    let exists: boolean | undefined;
    try {
      exists = await this.armPath(conn, path, false);
    } catch (err) {
      if (!this.closed && conn === this.conn && conn.up) {
        this.logger.warn({ err, path }, 're-arming a ZooKeeper watch failed; retrying');
        setTimeout(() => void this.armPath(conn, path, true).catch(() => {}), 500).unref();
      }
      // Otherwise the watches come back with the connection (see onConnected).
    }
    if (conn !== this.conn || this.closed) return;
    const implied = type !== EventType.NODE_DELETED;
    switch (type) {
      case EventType.NODE_CREATED:
        this.emit('created', path);
        break;
      case EventType.NODE_DATA_CHANGED:
        if (this.dataInterest.has(path)) this.emit('modified', path);
        break;
      case EventType.NODE_DELETED:
        this.emit('deleted', path);
        break;
      case EventType.NODE_CHILDREN_CHANGED:
        this.emit('children-changed', path);
        break;
    }
    if (exists !== undefined && exists !== implied) this.emit(exists ? 'created' : 'deleted', path);
  }

  /** Remembers what a read saw; with `report`, tells listeners how it differs from before. */
  private noteData(path: string, stat: ZkStat | null, report: boolean): void {
    if (!this.dataInterest.has(path)) return;
    const next = stat ? `${stat.czxid.toString('hex')}:${stat.mzxid.toString('hex')}` : null;
    const previous = this.lastData.get(path);
    this.lastData.set(path, next);
    if (!report || previous === undefined || previous === next) return;
    if (previous === null) this.emit('created', path);
    else if (next === null) this.emit('deleted', path);
    else if (previous.split(':')[0] !== next.split(':')[0]) {
      this.emit('deleted', path);
      this.emit('created', path);
    } else this.emit('modified', path);
  }

  private noteChildren(path: string, names: string[] | null, report: boolean): void {
    const next = names === null ? null : names.join('/');
    const previous = this.lastChildren.get(path);
    this.lastChildren.set(path, next);
    if (!report || previous === undefined || previous === next) return;
    if (!this.dataInterest.has(path)) {
      if (previous === null) this.emit('created', path);
      else if (next === null) this.emit('deleted', path);
    }
    if ((previous ?? '') !== (next ?? '')) this.emit('children-changed', path);
  }

  private emit(type: NotificationType, path: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener({ type, path });
      } catch (err) {
        this.logger.error({ err, path, type }, 'metadata notification listener failed');
      }
    }
  }

  private emitSession(event: SessionEvent): void {
    for (const listener of [...this.sessionListeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error({ err, event }, 'metadata session listener failed');
      }
    }
  }

  // ---- sessions ---------------------------------------------------------------------------

  private connect(needsRecovery: boolean): Connection {
    const client = zookeeper.createClient(this.hosts, {
      sessionTimeout: this.sessionTimeoutMs,
      spinDelay: this.reconnectDelayMs,
      retries: 0,
    });
    const now = Date.now();
    const conn: Connection = {
      client,
      needsRecovery,
      recovering: false,
      established: false,
      up: false,
      downSince: now,
      lastKick: now,
      lastProbe: now,
      probeLimitMs: 0,
      inflight: new Set(),
      dataArmed: new Set(),
      childArmed: new Set(),
      dataWatchers: new Map(),
      childWatchers: new Map(),
    };
    client.on('state', (state: zookeeper.State) => this.onState(conn, state));
    // The library throws from its socket handler on watch event types it does not know.
    const watchers = client.connectionManager.watcherManager;
    const dispatch = watchers.emit.bind(watchers);
    watchers.emit = (event: unknown) => {
      try {
        dispatch(event);
      } catch (err) {
        this.logger.warn({ err }, 'ignoring a ZooKeeper watch event the client cannot read');
      }
    };
    client.connect();
    return conn;
  }

  private onState(conn: Connection, state: zookeeper.State): void {
    if (state === State.SYNC_CONNECTED) {
      conn.up = true;
      conn.probeSentAt = undefined;
      conn.lastProbe = Date.now();
    } else if (state === State.DISCONNECTED || state === State.EXPIRED) {
      if (conn.up) conn.downSince = Date.now();
      conn.up = false;
    }
    if (conn !== this.conn || this.closed) return;
    if (state === State.SYNC_CONNECTED) this.onConnected(conn);
    else if (state === State.DISCONNECTED) this.onDisconnected(conn);
    else if (state === State.EXPIRED) this.onExpired(conn);
    else if (state === State.AUTH_FAILED) this.logger.error('ZooKeeper authentication failed');
    this.wake();
  }

  private onConnected(conn: Connection): void {
    clearTimeout(this.expiryTimer);
    if (conn.needsRecovery) {
      void this.recover(conn);
      return;
    }
    const first = !conn.established;
    conn.established = true;
    this.ready = true;
    const session = conn.client.getSessionId().toString('hex');
    if (first) {
      this.logger.info({ session }, 'ZooKeeper session established');
      return;
    }
    this.logger.info({ session }, 'ZooKeeper connection restored, same session');
    // A server can accept a connection to a session that is being closed and then never answer
    // on it: check at once that this one answers.
    this.probe(conn, Math.max(500, conn.client.getSessionTimeout() / 3));
    // The library re-registered the armed watches (the server reports what they missed); arm
    // whatever a failed re-arm left out, reporting what changed meanwhile.
    this.armAll(conn, true).catch((err: unknown) => {
      if (!this.closed) this.logger.warn({ err }, 're-arming ZooKeeper watches failed');
    });
    if (this.sessionLost) {
      this.sessionLost = false;
      this.emitSession('reconnected');
    } else {
      this.emitSession('connected');
    }
  }

  private onDisconnected(conn: Connection): void {
    this.ready = false;
    if (!conn.established || this.sessionLost) return;
    this.logger.warn('ZooKeeper connection lost; operations wait for it');
    this.emitSession('disconnected');
    clearTimeout(this.expiryTimer);
    // The server expires the session once it has not heard from it for the session timeout:
    // past that, whatever the session held must be presumed gone.
    this.expiryTimer = setTimeout(() => {
      if (conn !== this.conn || conn.up || this.closed || this.sessionLost) return;
      this.sessionLost = true;
      this.logger.warn('ZooKeeper session presumed expired: disconnected past its timeout');
      this.emitSession('expired');
    }, conn.client.getSessionTimeout());
    this.expiryTimer.unref();
  }

  private onExpired(conn: Connection): void {
    this.ready = false;
    clearTimeout(this.expiryTimer);
    const session = conn.client.getSessionId().toString('hex');
    this.logger.warn({ session }, 'ZooKeeper session expired; opening a new one');
    this.expiredSessions.push(session);
    if (this.expiredSessions.length > 8) this.expiredSessions.shift();
    this.conn = this.connect(true);
    for (const abort of [...conn.inflight]) abort(new SessionReplacedError());
    if (!this.sessionLost) {
      this.sessionLost = true;
      this.emitSession('expired');
    }
  }

  /** On a new session: re-create the ephemerals, re-arm the watches, then let operations run. */
  private async recover(conn: Connection): Promise<void> {
    if (conn.recovering) return;
    conn.recovering = true;
    try {
      for (;;) {
        if (conn !== this.conn || this.closed) return;
        if (!conn.up) {
          await this.nextChange();
          continue;
        }
        try {
          await this.recreateEphemerals(conn);
          await this.armAll(conn, true);
          break;
        } catch (err) {
          if (conn !== this.conn || this.closed) return;
          this.logger.warn({ err }, 'recovering the ZooKeeper session failed; retrying');
          await sleep(100);
        }
      }
      conn.needsRecovery = false;
      conn.established = true;
      this.ready = true;
      this.sessionLost = false;
      this.logger.info(
        { session: conn.client.getSessionId().toString('hex'), ephemerals: this.ephemerals.size },
        'new ZooKeeper session ready: ephemeral nodes re-created, watches re-armed',
      );
      this.wake();
      this.emitSession('reconnected');
    } finally {
      conn.recovering = false;
    }
  }

  private async recreateEphemerals(conn: Connection): Promise<void> {
    await Promise.all(
      [...this.ephemerals].map(async ([path, value]) => {
        const op = { ...this.newOp('re-create ephemeral', path), retrying: true };
        for (let attempt = 0; ; attempt++) {
          try {
            await this.createNode(conn, op, path, value, true);
            return;
          } catch (err) {
            if (!(err instanceof BadVersionError)) throw err;
          }
          const current = await this.zkExists(conn, op, this.full(path), undefined);
          if (!current) continue;
          const owner = current.ephemeralOwner.toString('hex');
          if (this.expiredSessions.includes(owner) && attempt < 50) {
            await sleep(100); // the server is still removing the expired session's nodes
            continue;
          }
          this.ephemerals.delete(path);
          this.logger.warn({ path, owner }, 'ephemeral node now held by another session');
          return;
        }
      }),
    );
  }

  /**
   * The library has no read timeout and no handshake timeout: probe a connected server now and
   * then and drop a connection that stopped answering (or a handshake that hangs), so that the
   * library reconnects.
   */
  private checkLiveness(): void {
    const conn = this.conn;
    if (this.closed) return;
    const now = Date.now();
    const timeout = conn.client.getSessionTimeout();
    if (conn.up) {
      if (conn.probeSentAt === undefined) {
        if (now - conn.lastProbe >= timeout / 3) this.probe(conn, (timeout * 2) / 3);
      } else if (now - conn.probeSentAt > conn.probeLimitMs) {
        this.logger.warn({ silentMs: now - conn.probeSentAt }, 'ZooKeeper stopped answering');
        conn.probeSentAt = undefined;
        conn.lastKick = now;
        conn.client.connectionManager.socket?.destroy();
      }
    } else if (now - Math.max(conn.downSince, conn.lastKick) > handshakeLimit(timeout)) {
      // A connect attempt that has not become a session by now hangs (or the server is down and
      // there is nothing to drop): start over.
      conn.lastKick = now;
      conn.client.connectionManager.socket?.destroy();
    }
  }

  /**
   * The server said the session is gone while the connection looks up: reconnect, so that the
   * library learns of the expiry and the store opens a new session.
   */
  private dropIfSessionGone(conn: Connection): void {
    if (conn !== this.conn || !conn.up || this.closed) return;
    this.logger.warn('ZooKeeper reports this session gone on a live connection; reconnecting');
    conn.lastKick = Date.now();
    conn.client.connectionManager.socket?.destroy();
  }

  private probe(conn: Connection, limitMs: number): void {
    if (conn.probeSentAt !== undefined) return;
    const now = Date.now();
    conn.probeSentAt = now;
    conn.lastProbe = now;
    conn.probeLimitMs = limitMs;
    try {
      conn.client.exists('/', undefined, (err) => {
        conn.probeSentAt = undefined;
        if (codeOf(err) === Code.SESSION_EXPIRED) this.dropIfSessionGone(conn);
      });
    } catch {
      conn.probeSentAt = undefined;
    }
  }

  // ---- running operations -----------------------------------------------------------------

  private newOp(name: string, path: string): Op {
    return { name, path, deadline: Date.now() + this.operationTimeoutMs, retrying: false };
  }

  /** Runs `body` on a ready session, again after a lost connection, until the deadline. */
  private async run<T>(
    name: string,
    path: string,
    body: (conn: Connection, op: Op) => Promise<T>,
  ): Promise<T> {
    const op = this.newOp(name, path);
    for (;;) {
      const conn = await this.whenReady(op);
      try {
        return await body(conn, op);
      } catch (err) {
        if (!isRetriable(err) || this.closed) throw err;
        if (codeOf(err) === Code.SESSION_EXPIRED) this.dropIfSessionGone(conn);
        op.retrying = true;
        await sleep(Math.min(50, Math.max(0, op.deadline - Date.now())));
      }
    }
  }

  private async whenReady(op: Op): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new Error('metadata store session is closed');
      if (this.ready) return this.conn;
      const remaining = op.deadline - Date.now();
      if (remaining <= 0) throw this.unavailable(op);
      await this.nextChange(remaining);
    }
  }

  /** Resolves at the next change of connection state (or after `timeoutMs`). */
  private nextChange(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private unavailable(op: Op): MetadataUnavailableError {
    const why = this.ready ? 'ZooKeeper did not answer' : 'no ZooKeeper session';
    return new MetadataUnavailableError(
      `metadata ${op.name} ${op.path} did not complete within ${this.operationTimeoutMs} ms: ${why} (${this.hosts})`,
    );
  }

  private relative(full: string): string {
    if (!this.chroot) return full;
    return full === this.chroot ? '/' : full.slice(this.chroot.length);
  }

  private full(path: string): string {
    if (!this.chroot) return path;
    return path === '/' ? this.chroot : this.chroot + path;
  }

  /** One library call, failing at the operation's deadline or when its session is abandoned. */
  private call<T>(
    conn: Connection,
    op: Op,
    invoke: (done: (err: zookeeper.Exception | null, value?: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.inflight.delete(abort);
        if (err) reject(err);
        else resolve(value as T);
      };
      const abort = (err: Error): void => settle(err);
      const timer = setTimeout(
        () => settle(this.unavailable(op)),
        Math.max(0, op.deadline - Date.now()),
      );
      conn.inflight.add(abort);
      try {
        invoke((err, value) => settle(err, value));
      } catch (err) {
        settle(err as Error);
      }
    });
  }

  private zkGetData(
    conn: Connection,
    op: Op,
    full: string,
    watcher: Watcher | undefined,
  ): Promise<{ data: Buffer; stat: ZkStat }> {
    return this.call(conn, op, (done) =>
      conn.client.getData(full, watcher, (err, data, stat) => {
        if (!err && watcher) conn.dataArmed.add(this.relative(full));
        done(err, { data: data ?? EMPTY, stat });
      }),
    );
  }

  private zkExists(
    conn: Connection,
    op: Op,
    full: string,
    watcher: Watcher | undefined,
  ): Promise<ZkStat | null> {
    return this.call(conn, op, (done) =>
      conn.client.exists(full, watcher, (err, stat) => {
        if (!err && watcher) conn.dataArmed.add(this.relative(full));
        done(err, stat ?? null);
      }),
    );
  }

  private async zkGetChildren(
    conn: Connection,
    op: Op,
    full: string,
    watcher: Watcher | undefined,
  ): Promise<string[]> {
    const names = await this.call<string[]>(conn, op, (done) =>
      conn.client.getChildren(full, watcher, (err, children) => {
        if (!err && watcher) conn.childArmed.add(this.relative(full));
        done(err, children ?? []);
      }),
    );
    return [...names].sort();
  }

  private zkCreate(
    conn: Connection,
    op: Op,
    full: string,
    data: Buffer,
    mode: number,
  ): Promise<void> {
    return this.call(conn, op, (done) => conn.client.create(full, data, mode, (err) => done(err)));
  }

  private zkSetData(
    conn: Connection,
    op: Op,
    full: string,
    data: Buffer,
    version: number,
  ): Promise<ZkStat> {
    return this.call(conn, op, (done) =>
      conn.client.setData(full, data, version, (err, stat) => done(err, stat)),
    );
  }

  private zkRemove(conn: Connection, op: Op, full: string, version: number): Promise<void> {
    return this.call(conn, op, (done) => conn.client.remove(full, version, (err) => done(err)));
  }
}

/** Closes the session and waits (briefly) for the server to confirm, so ephemerals are gone. */
async function endSession(conn: Connection): Promise<void> {
  const { client } = conn;
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      client.removeListener('state', onState);
      resolve();
    };
    const onState = (state: zookeeper.State): void => {
      if (state === State.DISCONNECTED || state === State.EXPIRED) finish();
    };
    const timer = setTimeout(finish, conn.up ? 3000 : 0);
    client.on('state', onState);
    try {
      client.close();
    } catch {
      // Not connected: there is no session to close on the server.
    }
  });
  client.connectionManager.socket?.destroy();
}

/** How long a connection attempt may take before the watchdog drops it. */
function handshakeLimit(sessionTimeoutMs: number): number {
  return Math.max(1000, Math.min((sessionTimeoutMs * 2) / 3, 5000));
}

function toStat(stat: ZkStat): Stat {
  return {
    version: stat.version,
    createdAt: longToNumber(stat.ctime),
    modifiedAt: longToNumber(stat.mtime),
    ephemeral: !stat.ephemeralOwner.equals(ZERO_LONG),
  };
}

/** ZooKeeper longs arrive as 8-byte big-endian Buffers. */
function longToNumber(value: Buffer | number): number {
  return typeof value === 'number' ? value : Number(value.readBigInt64BE(0));
}

function codeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, getCode } = err as { code?: unknown; getCode?: unknown };
  return typeof getCode === 'function' && typeof code === 'number' ? code : undefined;
}

function isRetriable(err: unknown): boolean {
  if (err instanceof SessionReplacedError) return true;
  const code = codeOf(err);
  return (
    code === Code.CONNECTION_LOSS ||
    code === Code.SESSION_EXPIRED ||
    code === Code.OPERATION_TIMEOUT
  );
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function childOf(path: string, name: string): string {
  return path === '/' ? `/${name}` : `${path}/${name}`;
}

function checkPath(path: string): string {
  if (!path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw new Error(`invalid metadata path: ${path}`);
  }
  return path;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
