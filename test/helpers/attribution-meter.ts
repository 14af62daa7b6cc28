/**
 * Measures, from the brokers' own `/metrics`, how well fetched messages are attributed to their
 * consumer group: each group consumes topics of its own, so the right group of every message
 * counted in `kop_server_MESSAGE_OUT` is known. Scrapes every broker at a fixed interval and
 * works on the increments (a restarted broker starts its counters again from zero).
 *
 * - attributed: the share of fetched messages of the groups' topics counted under the right group;
 * - max unattributed: the longest stretch of consecutive scrapes in which some group's topics had
 *   fetched messages counted under no group or another group.
 */
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
}

const MESSAGE_OUT = 'kop_server_MESSAGE_OUT';

export class AttributionMeter {
  /** Last value per broker and series, to compute increments across scrapes. */
  private readonly last = new Map<string, number>();
  private right = 0;
  private total = 0;
  /** Per group: when its current stretch of misattributed scrapes began (the scrape before). */
  private readonly badSince = new Map<string, number>();
  private maxBadMs = 0;
  private previousAt = 0;
  private timer?: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly httpPorts: () => (number | null)[],
    private readonly groups: GroupTopics[],
    private readonly everyMs = 250,
  ) {}

  /** Takes the baseline now; increments count from here. */
  async start(): Promise<void> {
    await this.sample(false);
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample(true)).catch(() => undefined);
    }, this.everyMs);
  }

  /** One last scrape, then the figures. */
  async stop(): Promise<Attribution> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample(true);
    for (const since of this.badSince.values()) {
      this.maxBadMs = Math.max(this.maxBadMs, this.previousAt - since);
    }
    return {
      fetched: this.total,
      attributedPercent: this.total === 0 ? 100 : (100 * this.right) / this.total,
      maxUnattributedS: this.maxBadMs / 1000,
    };
  }

  private async sample(count: boolean): Promise<void> {
    const at = Date.now();
    const increments = new Map<string, { right: number; total: number }>();
    for (const g of this.groups) increments.set(g.group, { right: 0, total: 0 });
    const ports = this.httpPorts();
    for (const [broker, port] of ports.entries()) {
      if (port === null) continue;
      let samples: Sample[];
      try {
        samples = await scrape(port, 2000);
      } catch {
        continue; // down or restarting: its counts start again from zero when it is back
      }
      for (const s of samples) {
        if (s.name !== MESSAGE_OUT) continue;
        const owner = this.groups.find((g) =>
          g.topics.some((t) => topicMatches(s.labels.topic, t)),
        );
        if (!owner) continue;
        const key = `${broker}\u0000${JSON.stringify(s.labels)}`;
        const previous = this.last.get(key) ?? 0;
        // A broker restarted since the last scrape counts from zero again.
        const delta = s.value >= previous ? s.value - previous : s.value;
        this.last.set(key, s.value);
        const inc = increments.get(owner.group)!;
        inc.total += delta;
        if (s.labels.group === owner.group) inc.right += delta;
      }
    }
    if (count) {
      for (const [group, inc] of increments) {
        this.total += inc.total;
        this.right += inc.right;
        const bad = inc.right < inc.total;
        const since = this.badSince.get(group);
        if (bad && since === undefined) this.badSince.set(group, this.previousAt);
        if (!bad && since !== undefined) {
          this.maxBadMs = Math.max(this.maxBadMs, this.previousAt - since);
          this.badSince.delete(group);
        }
      }
    }
    this.previousAt = at;
  }
}

/** A `topic` label holds the Kafka name or the full `persistent://tenant/namespace/name`. */
function topicMatches(label: string | undefined, topic: string): boolean {
  return label === topic || (label?.endsWith(`/${topic}`) ?? false);
}
