/**
 * One member of a classic group, as Kafka's MemberMetadata: who it is, the protocols it supports,
 * its assignment, and the JoinGroup or SyncGroup request it has parked until the rebalance answers.
 */
import type { JoinGroupResult, SyncGroupResult, TimerHandle } from './types.js';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export type JoinCallback = (result: JoinGroupResult) => void;
export type SyncCallback = (result: SyncGroupResult) => void;

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/** A JoinGroup answer that carries only an error (Kafka's JoinGroupResult(memberId, error)). */
export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    memberId,
    members: [],
  };
}

/**
 * A JoinGroup's protocols keyed by name, as Kafka keys them: the first occurrence of a name wins
 * and later ones are dropped, so that a member counts once for each protocol it supports.
 */
export function uniqueProtocols(protocols: Protocol[]): Protocol[] {
  const seen = new Set<string>();
  const unique = protocols.filter((p) => !seen.has(p.name) && seen.add(p.name));
  return unique.length === protocols.length ? protocols : unique;
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class Member {
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: JoinCallback | null = null;
  awaitingSync: SyncCallback | null = null;
  /** Added in the current rebalance and not answered yet: only the new-member join timeout applies. */
  isNew = false;
  /** The session ends at this time unless the member shows up again (see Membership). */
  sessionDeadline = 0;
  sessionTimer: TimerHandle | null = null;
  /** When sessionTimer fires; it may be earlier than sessionDeadline, never later. */
  sessionTimerDue = 0;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: Protocol[],
  ) {}

  /** The member's metadata for a protocol it supports. */
  metadata(protocol: string): Buffer {
    const found = this.protocols.find((p) => p.name === protocol);
    if (found === undefined) {
      throw new Error(`member ${this.memberId} does not support protocol ${protocol}`);
    }
    return found.metadata;
  }

  /** The same protocols with the same metadata, in the same order. */
  matches(protocols: Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every(
      (p, i) => p.name === this.protocols[i].name && p.metadata.equals(this.protocols[i].metadata),
    );
  }

  /** Whether the member named this protocol in its JoinGroup. */
  supports(protocol: string): boolean {
    return this.protocols.some((p) => p.name === protocol);
  }

  /** The member's most preferred protocol among the candidates; null if it supports none. */
  vote(candidates: ReadonlySet<string>): string | null {
    return this.protocols.find((p) => candidates.has(p.name))?.name ?? null;
  }

  /**
   * Kafka's hasSatisfiedHeartbeat at session expiry: a member whose JoinGroup or SyncGroup waits
   * on the rebalance cannot heartbeat and is not expired, unless it is new.
   */
  get waitsOnRebalance(): boolean {
    return !this.isNew && (this.awaitingJoin !== null || this.awaitingSync !== null);
  }
}
