/**
 * Broker membership: this broker's ephemeral registration under `/koppa/brokers/<id>`, and the
 * live-broker list kept current from the store's notifications on that folder.
 */
import type { Logger } from 'pino';
import { BadVersionError, NotFoundError, type MetadataStore } from '../metadata/types.js';
import { BROKERS_ROOT, brokerPath } from './paths.js';
import type { BrokerInfo } from './types.js';

export class DuplicateBrokerIdError extends Error {
  constructor(readonly brokerId: number) {
    super(
      `broker id ${brokerId} is already registered by a live broker (a previous run of this ` +
        'broker stays registered until its metadata session expires)',
    );
    this.name = 'DuplicateBrokerIdError';
  }
}

export class BrokerRegistry {
  private live = new Map<number, BrokerInfo>();
  private unsubscribe?: () => void;
  private refreshing?: Promise<void>;
  private refreshAgain = false;
  private stopped = false;

  constructor(
    private readonly store: MetadataStore,
    private readonly self: BrokerInfo,
    private readonly logger: Logger,
    /** Called after the live list changed. */
    private readonly onChange: () => void,
  ) {}

  /** Registers this broker (refusing a live duplicate id) and reads the live list. */
  async start(): Promise<void> {
    this.unsubscribe = this.store.onNotification((n) => {
      if (n.path === BROKERS_ROOT || n.path.startsWith(`${BROKERS_ROOT}/`)) this.refresh();
    });
    try {
      await this.store.put(brokerPath(this.self.brokerId), encode(this.self), {
        ephemeral: true,
        expectedVersion: -1,
      });
    } catch (err) {
      this.unsubscribe();
      if (err instanceof BadVersionError) throw new DuplicateBrokerIdError(this.self.brokerId);
      throw err;
    }
    await this.refresh();
  }

  /** Live brokers by id (as last read). */
  brokers(): ReadonlyMap<number, BrokerInfo> {
    return this.live;
  }

  /** Re-reads the list; concurrent calls coalesce into at most one more read. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.refreshAgain = false;
          await this.readAll();
        } while (this.refreshAgain && !this.stopped);
      } catch (err) {
        if (!this.stopped) {
          this.logger.warn({ err }, 'reading the live broker list failed; retrying');
          setTimeout(() => void this.refresh(), 500).unref();
        }
      } finally {
        this.refreshing = undefined;
      }
    };
    this.refreshing = run();
    return this.refreshing;
  }

  /** Removes this broker's registration (graceful shutdown). */
  async deregister(): Promise<void> {
    try {
      await this.store.delete(brokerPath(this.self.brokerId));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  private async readAll(): Promise<void> {
    const ids = (await this.store.children(BROKERS_ROOT))
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
    const next = new Map<number, BrokerInfo>();
    for (const id of ids.sort((a, b) => a - b)) {
      const node = await this.store.get(brokerPath(id));
      if (!node) continue;
      try {
        next.set(id, decode(node.value, id));
      } catch (err) {
        this.logger.warn({ err, brokerId: id }, 'ignoring an unreadable broker registration');
      }
    }
    if (this.stopped || sameBrokers(this.live, next)) return;
    this.live = next;
    this.onChange();
  }
}

function encode(info: BrokerInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}

function decode(value: Buffer, brokerId: number): BrokerInfo {
  const parsed = JSON.parse(value.toString('utf8')) as Partial<BrokerInfo>;
  if (parsed.brokerId !== brokerId) throw new Error('broker id does not match its node');
  return {
    brokerId,
    rack: typeof parsed.rack === 'string' ? parsed.rack : null,
    protocols: typeof parsed.protocols === 'object' && parsed.protocols ? parsed.protocols : {},
    httpPort: typeof parsed.httpPort === 'number' ? parsed.httpPort : null,
    httpHost: typeof parsed.httpHost === 'string' ? parsed.httpHost : null,
  };
}

function sameBrokers(a: Map<number, BrokerInfo>, b: Map<number, BrokerInfo>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, info] of a) {
    const other = b.get(id);
    if (!other || JSON.stringify(other) !== JSON.stringify(info)) return false;
  }
  return true;
}
