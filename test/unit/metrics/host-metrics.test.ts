import { Counter, Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHostMetrics, type BrokerMetrics } from '../../../src/metrics/index.js';
import { parsePrometheusText } from '../../helpers/prometheus-text.js';

/** The `# TYPE` lines of a body, by metric name, and how often each name has one. */
function typeLines(text: string): Map<string, number> {
  const types = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^# TYPE (\S+) \S+$/.exec(line);
    if (match) types.set(match[1], (types.get(match[1]) ?? 0) + 1);
  }
  return types;
}

/** Every chunk of the body, in order. */
async function chunks(metrics: BrokerMetrics): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of metrics.expositionChunks()) all.push(chunk);
  return all;
}

describe('host metrics exposition', () => {
  it('labels every series with the cluster: scraped, prom-client and process metrics', async () => {
    const metrics = createHostMetrics({ clusterName: 'east' });
    metrics.counter({ name: 'bare_total', help: 'no labels', read: (set) => set({}, 3) });
    metrics.gauge({
      name: 'labelled',
      help: 'with labels',
      labelNames: ['topic'],
      read: (set) => set({ topic: 't' }, 1.5),
    });
    new Histogram({
      name: 'latency_seconds',
      help: 'a prom-client histogram',
      labelNames: ['api'],
      buckets: [0.1, 1],
      registers: [metrics.registry],
    }).observe({ api: 'Fetch' }, 0.5);
    const samples = parsePrometheusText(await metrics.exposition());
    expect(samples.filter((s) => s.labels.cluster !== 'east')).toEqual([]);
    const by = (name: string) => samples.filter((s) => s.name === name);
    expect(by('bare_total')).toEqual([
      { name: 'bare_total', labels: { cluster: 'east' }, value: 3 },
    ]);
    expect(by('labelled')).toEqual([
      { name: 'labelled', labels: { topic: 't', cluster: 'east' }, value: 1.5 },
    ]);
    expect(by('latency_seconds_bucket').map((s) => [s.labels.le, s.value])).toEqual([
      ['0.1', 0],
      ['1', 1],
      ['+Inf', 1],
    ]);
    expect(by('koppa_process_cpu_seconds_total')).toHaveLength(1);
  });

  it("labels with `standalone` when no cluster is named, the host setting's default", async () => {
    const metrics = createHostMetrics();
    metrics.counter({ name: 'c_total', help: 'h', read: (set) => set({}, 1) });
    const samples = parsePrometheusText(await metrics.exposition());
    expect(new Set(samples.map((s) => s.labels.cluster))).toEqual(new Set(['standalone']));
  });

  it('serves the process metrics of each broker of a process with its own cluster', async () => {
    const a = createHostMetrics({ clusterName: 'a' });
    const b = createHostMetrics({ clusterName: 'b' });
    const cpu = async (m: BrokerMetrics) =>
      parsePrometheusText(await m.exposition()).find(
        (s) => s.name === 'koppa_process_cpu_seconds_total',
      )?.labels;
    expect(await cpu(a)).toEqual({ cluster: 'a' });
    expect(await cpu(b)).toEqual({ cluster: 'b' });
  });

  it('escapes label values and help text as the text format says', async () => {
    const metrics = createHostMetrics({ clusterName: 'say "hi"\\\n' });
    const group = 'a "quoted" \\ back\nslash';
    metrics.counter({
      name: 'escaped_total',
      help: 'help with \\ and\na line feed and "quotes"',
      labelNames: ['group'],
      read: (set, setCached) => {
        set({ group }, 1);
        setCached({ labels: { group: `${group}!` } }, 2);
      },
    });
    const text = await metrics.exposition();
    expect(text).toContain(
      '# HELP escaped_total help with \\\\ and\\na line feed and "quotes"\n# TYPE escaped_total counter\n',
    );
    expect(text).toContain(
      'escaped_total{group="a \\"quoted\\" \\\\ back\\nslash",cluster="say \\"hi\\"\\\\\\n"} 1\n',
    );
    const samples = parsePrometheusText(text).filter((s) => s.name === 'escaped_total');
    expect(samples.map((s) => [s.labels.group, s.labels.cluster, s.value])).toEqual([
      [group, 'say "hi"\\\n', 1],
      [`${group}!`, 'say "hi"\\\n', 2],
    ]);
  });

  it('writes special values as Prometheus reads them', async () => {
    const metrics = createHostMetrics();
    metrics.gauge({
      name: 'special',
      help: 'h',
      labelNames: ['v'],
      read: (set) => {
        for (const [v, value] of [
          ['inf', Infinity],
          ['-inf', -Infinity],
          ['nan', NaN],
          ['big', 2 ** 60],
          ['frac', 0.25],
        ] as const) {
          set({ v }, value);
        }
      },
    });
    const lines = (await metrics.exposition()).split('\n').filter((l) => l.startsWith('special{'));
    expect(lines.map((l) => l.slice(l.lastIndexOf(' ') + 1))).toEqual([
      '+Inf',
      '-Inf',
      'NaN',
      String(2 ** 60),
      '0.25',
    ]);
  });

  it('leaves out labels a series does not give, and refuses labels not declared', async () => {
    const metrics = createHostMetrics();
    metrics.counter({
      name: 'partial_total',
      help: 'h',
      labelNames: ['topic', 'group'],
      read: (set) => set({ topic: 't', group: undefined }, 1),
    });
    expect(await metrics.exposition()).toContain(
      'partial_total{topic="t",cluster="standalone"} 1\n',
    );
    const wrong = createHostMetrics();
    wrong.counter({
      name: 'wrong_total',
      help: 'h',
      labelNames: ['topic'],
      read: (set) => set({ topic: 't', partition: '0' } as never, 1),
    });
    await expect(wrong.exposition()).rejects.toThrow(/wrong_total: label partition/);
  });

  it('has one HELP and TYPE per metric name, and refuses a name taken either way', () => {
    const metrics = createHostMetrics();
    metrics.counter({ name: 'taken_total', help: 'h', read: () => undefined });
    expect(() => metrics.gauge({ name: 'taken_total', help: 'h', read: () => undefined })).toThrow(
      /already been registered/,
    );
    expect(
      () => new Counter({ name: 'taken_total', help: 'h', registers: [metrics.registry] }),
    ).toThrow(/already been registered/);
    new Counter({ name: 'prom_total', help: 'h', registers: [metrics.registry] });
    expect(() => metrics.counter({ name: 'prom_total', help: 'h', read: () => undefined })).toThrow(
      /already been registered/,
    );
    expect(() =>
      metrics.counter({
        name: 'koppa_process_cpu_seconds_total',
        help: 'h',
        read: () => undefined,
      }),
    ).toThrow(/already been registered/);
    expect(() =>
      metrics.counter({
        name: 'has_cluster',
        help: 'h',
        labelNames: ['cluster'],
        read: () => undefined,
      }),
    ).toThrow(/cluster/);
    expect(() => metrics.counter({ name: 'bad-name', help: 'h', read: () => undefined })).toThrow(
      /invalid metric name/,
    );
  });

  it('names each metric once in a body with scraped, prom-client and process metrics', async () => {
    const metrics = createHostMetrics();
    metrics.counter({ name: 'a_total', help: 'h', read: (set) => set({}, 1) });
    metrics.gauge({ name: 'b', help: 'h', read: () => undefined });
    new Counter({ name: 'c_total', help: 'h', registers: [metrics.registry] }).inc();
    const text = await metrics.exposition();
    const types = typeLines(text);
    expect([...types.values()].filter((n) => n !== 1)).toEqual([]);
    expect(['a_total', 'b', 'c_total'].every((n) => types.has(n))).toBe(true);
    // Every sample belongs to a metric with a TYPE line (a histogram's by their suffixes).
    const typed = (name: string) =>
      types.has(name) ||
      ['_bucket', '_sum', '_count'].some(
        (suffix) => name.endsWith(suffix) && types.has(name.slice(0, -suffix.length)),
      );
    const orphans = parsePrometheusText(text).filter((s) => !typed(s.name));
    expect(orphans).toEqual([]);
  });

  it('cuts a large body where readers yield, and the pieces make the whole body', async () => {
    const metrics = createHostMetrics();
    const series = Array.from({ length: 20_000 }, (_, i) => ({
      labels: { topic: `persistent://public/default/topic-${i}` },
    }));
    let yields = 0;
    metrics.counter({
      name: 'many_total',
      help: 'h',
      labelNames: ['topic'],
      *read(_set, setCached) {
        for (const [i, s] of series.entries()) {
          setCached(s, i);
          if (i % 100 === 99) {
            yields++;
            yield;
          }
        }
      },
    });
    const pieces = await chunks(metrics);
    expect(yields).toBe(200);
    // 20,000 lines of about 70 characters: several pieces of about 256 KiB, then prom-client's.
    expect(pieces.length).toBeGreaterThan(4);
    const many = (text: string) => parsePrometheusText(text).filter((s) => s.name === 'many_total');
    const samples = many(pieces.join(''));
    expect(samples).toEqual(many(await metrics.exposition()));
    expect(samples.map((s) => s.value)).toEqual(series.map((_, i) => i));
    expect(samples[123].labels).toEqual({ topic: series[123].labels.topic, cluster: 'standalone' });
  });

  it('finishes a reader whose scrape was dropped midway', async () => {
    const metrics = createHostMetrics();
    let finished = false;
    metrics.counter({
      name: 'dropped_total',
      help: 'h',
      labelNames: ['i'],
      *read(set) {
        try {
          for (let i = 0; i < 100_000; i++) {
            set({ i: String(i) }, i);
            yield;
          }
        } finally {
          finished = true;
        }
      },
    });
    for await (const chunk of metrics.expositionChunks()) {
      expect(chunk.startsWith('# HELP dropped_total')).toBe(true);
      break;
    }
    expect(finished).toBe(true);
  });
});
