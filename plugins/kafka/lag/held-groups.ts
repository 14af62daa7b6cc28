/**
 * What lag sampling and the consumer-group metrics read of the coordinator: the groups it serves
 * now (GroupCoordinator.heldGroups), each with its state, members, counters and committed
 * offsets. Read only, at sample and scrape time.
 */
import type { GroupState } from '../coordinator/types.js';
import type { TopicNamer } from '../topics/topic-names.js';

export interface HeldGroup {
  readonly groupId: string;
  readonly state: GroupState;
  /** Members now. */
  readonly size: number;
  /** Join phases completed (generation bumps) since this coordinator created or loaded it. */
  readonly rebalances: number;
  readonly offsets: {
    /** Accepted OffsetCommit requests since this coordinator created or loaded the group. */
    readonly commits: number;
    /** When the last accepted commit was made (ms), or the newest loaded one's; null for none. */
    readonly lastCommitTimestamp: number | null;
    /** Committed offsets, topics as the clients named them. */
    all(): Iterable<{ topic: string; partition: number; record: { offset: number } }>;
  };
}

export interface HeldGroups {
  /** Every group the coordinator serves now (partitions loaded, Dead groups aside). */
  heldGroups(): Iterable<HeldGroup>;
  /** The group if the coordinator serves it now. */
  heldGroup(groupId: string): HeldGroup | undefined;
}

/** Names remembered; past this, forgotten all at once (topics come and go over a long life). */
const MEMO_LIMIT = 10_000;

/**
 * The full topic name for a name as clients committed it (`orders` gives
 * `persistent://public/default/orders`), remembered so that scrapes do not parse names again.
 */
export function fullTopicNames(namer: TopicNamer): (topic: string) => string {
  const memo = new Map<string, string>();
  return (topic) => {
    let full = memo.get(topic);
    if (full === undefined) {
      full = namer.parse(topic)?.fullName ?? topic;
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(topic, full);
    }
    return full;
  };
}
