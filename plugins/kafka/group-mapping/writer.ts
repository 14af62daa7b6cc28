/**
 * The FindCoordinator side: the broker that answers a client's FindCoordinator for groups records
 * `client -> groups` in the client's node, each entry with a new token. One bounded attempt: a
 * read-modify-write on the node's version, tried once more on a conflict, and the caller waits at
 * most `timeoutMs` for it, whatever the store does; a failure is logged and counted, never thrown.
 * A write still running when its bound passes may yet land; nothing retries it afterwards.
 */
import type { Logger, MetadataStore } from '../../../src/api/index.js';
import { EMPTY_NODE, newToken, withWrite } from './node-codec.js';
import { nodeName, nodePath } from './node-name.js';
import { updateNode } from './node-update.js';
import type { GroupMappingStats } from './stats.js';
import type { ClientKey } from './types.js';

export interface MappingWriterOptions {
  store: MetadataStore;
  /** groupIdZooKeeperPath */
  root: string;
  brokerId: number;
  /** groupIdWriteTimeoutMs: the longest a FindCoordinator waits for its write. */
  timeoutMs: number;
  logger: Logger;
  stats: GroupMappingStats;
}

/** A failure is logged at most this often; the ones in between are counted into the next line. */
const LOG_EVERY_MS = 10_000;

export class MappingWriter {
  private lastLogged = 0;
  private unlogged = 0;

  constructor(private readonly options: MappingWriterOptions) {}

  /**
   * Writes a new entry for each group into the client's node. Resolves to the token written once
   * it is stored, or to null when it failed or its bound passed first. Never rejects.
   */
  async record(client: ClientKey, groupIds: readonly string[]): Promise<string | null> {
    const { store, root, brokerId, timeoutMs, stats } = this.options;
    if (groupIds.length === 0) return null;
    const token = newToken();
    const path = nodePath(root, nodeName(client));
    const deadline = Date.now() + timeoutMs;
    let late = false;
    const write = updateNode(
      store,
      path,
      (current) => withWrite(current ?? EMPTY_NODE, groupIds, token, brokerId, Date.now()),
      { attempts: 2, deadline },
    ).then(
      () => {
        stats.writes++;
        return token;
      },
      (err: unknown) => {
        if (!late) {
          stats.writeFailures++;
          this.warn({ err, path, groupIds }, 'could not record the client of a FindCoordinator');
        }
        return null;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const outcome = await Promise.race([write, bound]);
    clearTimeout(timer);
    if (outcome !== 'late') return outcome;
    late = true;
    stats.writeFailures++;
    this.warn(
      { path, groupIds, timeoutMs },
      'recording the client of a FindCoordinator did not complete in time; answered without it',
    );
    return null;
  }

  private warn(details: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.lastLogged < LOG_EVERY_MS) {
      this.unlogged++;
      return;
    }
    this.options.logger.warn({ ...details, alsoFailedSinceLastLog: this.unlogged }, message);
    this.lastLogged = now;
    this.unlogged = 0;
  }
}
