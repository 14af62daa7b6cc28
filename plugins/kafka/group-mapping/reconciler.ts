/**
 * The reconciler (`coordinator` policy): every `groupIdReconcileIntervalMs` each coordinator
 * checks the mapping of the groups it owns and repairs it, at most `groupIdReconcileOpsPerSecond`
 * store operations a second (reads and writes alike), reporting what it did in the counts.
 *
 * 1. Live members: each client (host and client id) of each group's members must have an entry
 *    for the group, and a Stable consumer group's entries must say what the current assignment
 *    gives the client. Checked against the watched cache (no store read); a missing entry is
 *    re-created (`repairs`), a wrong assignment corrected (`corrections`). The coordinator also
 *    does both at once when it sees a live member's entry vanish, and after every rebalance:
 *    this pass catches what those missed (a failed write, a store outage).
 * 2. Orphans: entries of groups this coordinator owns that no live member of the group accounts
 *    for, written longer than `groupIdOrphanGraceMs` ago, are removed (`orphansRemoved`) when
 *    the group does not exist or has members (none of them this client). An Empty group's
 *    entries stay: a consumer outside group management (assign()) may use the group for its
 *    offsets, and its fetches are that group's. The nodes are read a slice per pass, resuming
 *    where the previous pass stopped, so one pass never exceeds its budget of operations.
 */
import type { Logger, MetadataStore } from '../../../src/api/index.js';
import type { GroupCoordinatorApi } from '../coordinator/types.js';
import { ErrorCode } from '../protocol/index.js';
import { clientOf, type CoordinatorLifecycle } from './lifecycle.js';
import { decodeNode, sameAssigned } from './node-codec.js';
import type { MappingCache } from './node-cache.js';
import { clientOfNodeName, nodePath } from './node-name.js';
import type { GroupMappingStats } from './stats.js';

export interface ReconcilerOptions {
  store: MetadataStore;
  /** groupIdZooKeeperPath */
  root: string;
  cache: MappingCache;
  lifecycle: CoordinatorLifecycle;
  coordinator: Pick<GroupCoordinatorApi, 'describeGroups' | 'listGroups'>;
  /** groupIdReconcileIntervalMs */
  intervalMs: number;
  /** groupIdReconcileOpsPerSecond */
  opsPerSecond: number;
  /** groupIdOrphanGraceMs */
  orphanGraceMs: number;
  isShuttingDown: () => boolean;
  logger: Logger;
  stats: GroupMappingStats;
}

type Spend = (ops: number) => Promise<boolean>;

/** What one pass did, for the admin API (`/admin/v1/reconciler`). */
export interface ReconcileRun {
  /** Date.now() when the pass began. */
  startedAt: number;
  durationMs: number;
  /** Entries re-created for live members. */
  repairs: number;
  /** Wrong assignments corrected. */
  corrections: number;
  orphansRemoved: number;
  /** The pass stopped before the end: its budget of store operations ran out (or shutdown). */
  stoppedEarly: boolean;
  /** Why the pass failed, if it did (the next one tries again). */
  errors: string[];
}

/** How many passes `recentRuns` remembers. */
export const RECENT_RUNS = 10;

export class MappingReconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** The node names read by the last pass end here: the next one starts after it. */
  private cursor = '';
  private nextOpAt = 0;
  private readonly runs: ReconcileRun[] = [];

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.pass(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One pass, unless one is running already (then that one's completion). */
  pass(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The last RECENT_RUNS passes, oldest first. */
  recentRuns(): readonly ReconcileRun[] {
    return this.runs;
  }

  private get halted(): boolean {
    return this.stopped || this.options.isShuttingDown();
  }

  private async run(): Promise<void> {
    const { stats, logger } = this.options;
    // The budget of one pass: what the rate allows in one interval.
    let budget = Math.max(
      1,
      Math.floor((this.options.opsPerSecond * this.options.intervalMs) / 1000),
    );
    /** Takes `ops` store operations from the budget, at the rate; false when it has none left. */
    const run: ReconcileRun = {
      startedAt: Date.now(),
      durationMs: 0,
      repairs: 0,
      corrections: 0,
      orphansRemoved: 0,
      stoppedEarly: false,
      errors: [],
    };
    const spend = async (ops: number): Promise<boolean> => {
      if (this.halted || budget < ops) {
        run.stoppedEarly = true;
        return false;
      }
      budget -= ops;
      for (let i = 0; i < ops; i++) await this.pace();
      if (this.halted) run.stoppedEarly = true;
      return !this.halted;
    };
    try {
      await this.reconcileLiveMembers(spend, run);
      await this.removeOrphans(spend, run);
      stats.reconcilePasses++;
    } catch (err) {
      stats.coordinatorFailures++;
      run.errors.push((err as Error).message);
      logger.warn({ err }, 'group-id mapping reconciliation failed; the next pass tries again');
    }
    run.durationMs = Date.now() - run.startedAt;
    this.runs.push(run);
    if (this.runs.length > RECENT_RUNS) this.runs.shift();
  }

  private async reconcileLiveMembers(spend: Spend, run: ReconcileRun): Promise<void> {
    const { coordinator, cache, lifecycle, stats } = this.options;
    for (const { groupId } of coordinator.listGroups([]).groups) {
      for (const desired of lifecycle.desiredClients(groupId)) {
        const state = cache.get(desired.client).state;
        if (state.kind === 'loading') continue;
        const entry = state.kind === 'present' ? state.node.groups.get(groupId) : undefined;
        const right =
          entry !== undefined &&
          (desired.assigned === undefined || sameAssigned(entry.assigned, desired.assigned));
        if (right) continue;
        // A read and a write.
        if (!(await spend(2))) return;
        const outcome = await lifecycle.reconcile(desired, groupId);
        if (outcome === 'corrected') {
          stats.corrections++;
          run.corrections++;
        } else if (outcome === 'repaired') run.repairs++;
      }
    }
  }

  private async removeOrphans(spend: Spend, run: ReconcileRun): Promise<void> {
    const { store, root, coordinator, lifecycle, orphanGraceMs } = this.options;
    if (!(await spend(1))) return;
    // One-off reads: a scan must not leave this broker watching the root and every node.
    const names = await store.children(root, { watch: false });
    const start = names.findIndex((name) => name > this.cursor);
    const ordered = start === -1 ? names : [...names.slice(start), ...names.slice(0, start)];
    for (const name of ordered) {
      const client = clientOfNodeName(name);
      if (client === null) continue;
      if (!(await spend(1))) return;
      const read = await store.get(nodePath(root, name), { watch: false });
      if (read === null) {
        this.cursor = name;
        continue;
      }
      const oldEnough = Date.now() - orphanGraceMs;
      for (const [groupId, entry] of decodeNode(read.value).groups) {
        if (entry.at > oldEnough) continue;
        const [group] = coordinator.describeGroups([groupId]);
        // Not this coordinator's group (or still loading): its own coordinator decides.
        if (group.errorCode !== ErrorCode.NONE) continue;
        if (group.state === 'Empty') continue;
        const live = group.members.some((m) => {
          const other = clientOf(m);
          return other.clientHost === client.clientHost && other.clientId === client.clientId;
        });
        if (live) continue;
        // A read and a write; out of budget, the next pass reads this node again.
        if (!(await spend(2))) return;
        if (await lifecycle.removeOrphan(client, groupId, entry.token)) run.orphansRemoved++;
      }
      this.cursor = name;
    }
    // Every node was visited: the next pass starts from the first again.
    this.cursor = '';
  }

  /** Waits for the next operation's turn: at most opsPerSecond a second, evenly spaced. */
  private async pace(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextOpAt);
    this.nextOpAt = at + 1000 / this.options.opsPerSecond;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now).unref());
  }
}
