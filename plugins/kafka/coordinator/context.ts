/**
 * The edges of the coordinator's state machine: time, logging, durable appends of group metadata
 * and member-removed events. Membership reaches the outside only through these.
 */
import type { Group } from './group.js';
import type {
  Clock,
  CoordinatorConfig,
  ErrorCodeNumber,
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
}
