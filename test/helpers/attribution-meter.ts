/**
 * Measures, from the brokers' own `/metrics`, how well fetched messages are attributed to their
 * consumer group: each group consumes topics of its own, so the right group of every message
 * counted in `kop_server_MESSAGE_OUT` is known. Scrapes every broker at a fixed interval (all at
 * once; a tick is skipped while the previous scrape is still out) and works on the increments
 * (a restarted broker starts its counters again from zero).
 *
 * - attributed: the share of fetched messages of the groups' topics counted under the right
 *   group. Messages a broker still holds aside waiting for their group when the measurement ends
 *   (`koppa_fetch_messages_awaiting_group`, after waiting a while for it to reach zero) count as
 *   not attributed.
 * - max unattributed: the longest stretch of consecutive scrapes in which some group's topics had
 *   fetched messages counted under no group or another group. A broker's increments cover the
 *   time since its last successful scrape (since it was started, after a restart), so counts
 *   that only show once an unreachable (paused) broker answers again stretch back that far.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { scrape, type Sample } from './prometheus-text.js';

export interface GroupTopics {
  group: string;
  /** Kafka topic names, as clients name them. */
  topics: string[];
}

export interface Attribution {
  /** Messages of the groups' topics counted in MESSAGE_OUT over the measurement. */
  fetched: number;
  attributedPercent: number;
  maxUnattributedS: number;
  /** Messages the brokers still held aside, waiting for their group, at the end. */
  awaitingAtEnd: number;
}

const MESSAGE_OUT = 'kop_server_MESSAGE_OUT';
const AWAITING = 'koppa_fetch_messages_awaiting_group';
/** How long the end of a measurement waits for the messages held aside to be counted. */
const SETTLE_MS = 15_000;

export class AttributionMeter {
  /** Last value per broker and series, to compute increments across scrapes. */
  private readonly last = new Map<string, number>();
  private right = 0;
  private total = 0;
  /** Per group: when its current stretch of misattributed scrapes began. */
  private readonly badSince = new Map<string, number>();
  private maxBadMs = 0;
  private previousAt = 0;
  /** Per broker: when its last increments end (its last successful scrape, or its start). */
  private readonly coveredUntil = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<number>;

  constructor(
    /** Each broker's HTTP port by broker id; null while it is not running. */
    private readonly httpPorts: () => (number | null)[],
    private readonly groups: GroupTopics[],
    private readonly everyMs = 250,
  ) {}

  /** Takes the baseline now; increments count from here. */
  async start(): Promise<void> {
    await this.sample(false);
    this.timer = setInterval(() => {
      if (this.sampling) return;
      this.sampling = this.sample(true)
        .catch(() => 0)
        .finally(() => (this.sampling = undefined));
    }, this.everyMs);
  }

  /** Scrapes until nothing waits for its group any more (or a while has passed): the figures. */
  async stop(): Promise<Attribution> {
    clearInterval(this.timer);
    await this.sampling;
    const deadline = Date.now() + SETTLE_MS;
    let awaiting = await this.sample(true);
    while (awaiting > 0 && Date.now() < deadline) {
      await sleep(this.everyMs);
      awaiting = await this.sample(true);
    }
    for (const since of this.badSince.values()) {
      this.maxBadMs = Math.max(this.maxBadMs, this.previousAt - since);
    }
    const all = this.total + awaiting;
    return {
      fetched: this.total,
      attributedPercent: all === 0 ? 100 : (100 * this.right) / all,
      maxUnattributedS: this.maxBadMs / 1000,
      awaitingAtEnd: awaiting,
    };
  }

  /** One scrape of every running broker; resolves to the messages they hold aside in all. */
  private async sample(count: boolean): Promise<number> {
    const at = Date.now();
    const increments = new Map<string, { right: number; total: number; from: number }>();
    for (const g of this.groups) increments.set(g.group, { right: 0, total: 0, from: Infinity });
    const ports = this.httpPorts();
    const scraped = await Promise.all(
      ports.map((port) => (port === null ? null : scrape(port, 2000).catch(() => null))),
    );
    let awaiting = 0;
    for (const [broker, samples] of scraped.entries()) {
      if (ports[broker] === null) {
        // Stopped: its next run counts from zero, from when it is seen running again.
        this.coveredUntil.delete(broker);
        for (const key of this.last.keys()) {
          if (key.startsWith(`${broker}\u0000`)) this.last.delete(key);
        }
        continue;
      }
      if (!this.coveredUntil.has(broker)) this.coveredUntil.set(broker, at);
      // Down or not answering: what it counts meanwhile shows at its next answer.
      if (samples === null) continue;
      const from = this.coveredUntil.get(broker)!;
      this.coveredUntil.set(broker, at);
      for (const s of samples as Sample[]) {
        if (s.name === AWAITING) awaiting += s.value;
        if (s.name !== MESSAGE_OUT) continue;
        const owner = this.groups.find((g) =>
          g.topics.some((t) => topicMatches(s.labels.topic, t)),
        );
        if (!owner) continue;
        const key = `${broker}\u0000${JSON.stringify(s.labels)}`;
        const previous = this.last.get(key) ?? 0;
        // A broker restarted unseen (between two scrapes) counts from zero again.
        const delta = s.value >= previous ? s.value - previous : s.value;
        this.last.set(key, s.value);
        const inc = increments.get(owner.group)!;
        inc.total += delta;
        if (s.labels.group === owner.group) inc.right += delta;
        else if (delta > 0) inc.from = Math.min(inc.from, from);
      }
    }
    if (count) {
      for (const [group, inc] of increments) {
        this.total += inc.total;
        this.right += inc.right;
        const bad = inc.right < inc.total;
        const since = this.badSince.get(group);
        if (bad) {
          const from = Math.min(inc.from, this.previousAt);
          if (since === undefined || from < since) this.badSince.set(group, from);
        } else if (since !== undefined) {
          this.maxBadMs = Math.max(this.maxBadMs, this.previousAt - since);
          this.badSince.delete(group);
        }
      }
    }
    this.previousAt = at;
    return awaiting;
  }
}

/** A `topic` label holds the Kafka name or the full `persistent://tenant/namespace/name`. */
function topicMatches(label: string | undefined, topic: string): boolean {
  return label === topic || (label?.endsWith(`/${topic}`) ?? false);
}
