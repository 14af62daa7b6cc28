/**
 * The edges of the coordinator's state machine: time, logging, durable appends of group metadata,
 * member-removed events and the other group events. Membership reaches the outside only through
 * these.
 */
import type { Group } from './group.js';
import type {
  Clock,
  CoordinatorConfig,
  ErrorCodeNumber,
  GroupEventListener,
  GroupRecord,
  MemberRemovedEvent,
} from './types.js';

/** The slice of pino's Logger the coordinator uses. */
export interface CoordinatorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface CoordinatorContext {
  readonly config: CoordinatorConfig;
  readonly clock: Clock;
  readonly logger: CoordinatorLogger;
  /** Appends the group's metadata record; resolves to NONE once durable, else the error to answer. */
  storeGroup(group: Group, record: GroupRecord): Promise<ErrorCodeNumber>;
  /** A member is gone from its group for good. */
  memberRemoved(event: MemberRemovedEvent): void;
  /** Every other group event goes to the coordinator's listeners through this. */
  readonly events: Required<GroupEventListener>;
}

/** Group events that go nowhere, for a Membership driven on its own. */
export const NO_GROUP_EVENTS: Required<GroupEventListener> = {
  memberAdded: () => undefined,
  memberSeen: () => undefined,
  assignmentCompleted: () => undefined,
  groupRemoved: () => undefined,
  groupsReleased: () => undefined,
};
