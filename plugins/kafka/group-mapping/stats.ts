/**
 * The mapping's health, counted in a plain object (hot paths count; whoever publishes metrics
 * reads it at scrape time). See README "Group-id mapping" for what each count means.
 */
export interface GroupMappingStats {
  /** FindCoordinator writes that completed (whenever they completed). */
  writes: number;
  /** FindCoordinator writes that failed, or had not completed when their bound passed. */
  writeFailures: number;
  /** Entries removed: a member gone (guarded), a group deleted, or a connection closed (kop). */
  deletes: number;
  /** Guarded deletes not done because the entry holds a write the removed member did not make. */
  deletesRefused: number;
  /** Entries the coordinator re-created for live members (found missing after a rebalance). */
  repairs: number;
  /** Assignments in entries found wrong by the reconciler and corrected. */
  corrections: number;
  /** Entries no live member accounts for (a deleted group's, a member's refused delete), removed. */
  orphansRemoved: number;
  /** Reconciler passes completed. */
  reconcilePasses: number;
  /** Coordinator-side store operations (token reads aside) that failed. */
  coordinatorFailures: number;
  /** Lookups of the fetch path's cache that failed (each is retried). */
  lookupFailures: number;
  /** Fetches of a client in several groups that no single group's assignment claimed. */
  ambiguousAnswers: number;
}

export function newGroupMappingStats(): GroupMappingStats {
  return {
    writes: 0,
    writeFailures: 0,
    deletes: 0,
    deletesRefused: 0,
    repairs: 0,
    corrections: 0,
    orphansRemoved: 0,
    reconcilePasses: 0,
    coordinatorFailures: 0,
    lookupFailures: 0,
    ambiguousAnswers: 0,
  };
}
