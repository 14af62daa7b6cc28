/**
 * The Grafana dashboards and their provisioning, read as files: the generator's output, one
 * data source by its fixed uid everywhere, template variables in every query, units and layout.
 * What the queries return against a live cluster is observability-live.test.ts's part.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe as suite, expect, it } from 'vitest';
import { buildDashboards, DATASOURCE_UID } from '../../scripts/generate-dashboards.js';
import { readYaml } from '../helpers/yaml.js';
import {
  DASHBOARD_DIR,
  describe,
  loadDashboards,
  parseLabelValues,
  ROOT,
  variableQuery,
} from './dashboards.js';

const dashboards = loadDashboards();

/** Metrics that carry a `topic` label (KoP's counters, lag, committed offsets, log offsets). */
const TOPIC_METRICS =
  /^(kop_server_\w+|koppa_consumer_group_(lag_messages|lag_seconds|committed_offset)|koppa_log_\w+)$/;
/** Metrics that carry a `group` label. */
const GROUP_METRICS = /^(kop_server_\w+_OUT|koppa_consumer_group_\w+)$/;

/** Every `metric{matchers}` of an expression (function names are never followed by `{`). */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)].map((m) => ({
    metric: m[1],
    matchers: m[2],
  }));
}

/** Koppa's metric names used bare, without a selector (which could not filter on `cluster`). */
function bareMetrics(expr: string): string[] {
  return [...expr.matchAll(/\b((?:koppa|kop_server)_[a-zA-Z0-9_]+)\b(?!\s*\{)/g)].map((m) => m[1]);
}

suite('Grafana dashboards', () => {
  it('are the three dashboards scripts/generate-dashboards.ts makes', () => {
    const built = buildDashboards();
    expect(dashboards.map((d) => d.file)).toEqual(Object.keys(built).sort());
    for (const d of dashboards) expect(d.json, d.file).toEqual(built[d.file]);
    expect(dashboards.map((d) => d.json.title).sort()).toEqual([
      'Koppa / Brokers',
      'Koppa / Consumer groups',
      'Koppa / Topics',
    ]);
  });

  it('query the provisioned Prometheus by its uid in every panel, target and variable', () => {
    const text = dashboards.map((d) => readFileSync(join(DASHBOARD_DIR, d.file), 'utf8'));
    // No data source named by its name (a string), nor left to Grafana's default.
    for (const t of text) expect(t).not.toMatch(/"datasource":\s*"/);
    for (const d of dashboards) {
      expect(d.json.schemaVersion, d.file).toBeGreaterThanOrEqual(39);
      const queryPanels = d.panels.filter((p) => p.type !== 'row');
      expect(queryPanels.length, d.file).toBeGreaterThan(5);
      for (const panel of queryPanels) {
        expect(panel.datasource, `${d.file}: ${panel.title}`).toEqual({
          type: 'prometheus',
          uid: DATASOURCE_UID,
        });
        expect(panel.targets?.length, `${d.file}: ${panel.title}`).toBeGreaterThan(0);
      }
      for (const row of d.panels.filter((p) => p.type === 'row')) {
        expect(row.targets ?? [], `row ${row.title} has no queries`).toEqual([]);
      }
      for (const { panel, target } of d.targets) {
        expect(target.datasource, describe(d, panel, target)).toEqual(panel.datasource);
      }
      for (const v of d.variables) {
        expect(v.datasource, `${d.file}: $${v.name}`).toEqual({
          type: 'prometheus',
          uid: DATASOURCE_UID,
        });
      }
    }
  });

  it('filter every query on the cluster, and on the dashboard’s group, topic and broker', () => {
    for (const d of dashboards) {
      const names = d.variables.map((v) => v.name);
      expect(names[0], d.file).toBe('cluster');
      expect(variableQuery(d.variables[0])).toBe('label_values(koppa_broker_info, cluster)');
      // Chained: every other variable's values come from the chosen cluster.
      for (const v of d.variables.slice(1)) {
        const { selector } = parseLabelValues(variableQuery(v));
        expect(selector, `${d.file}: $${v.name}`).toContain('cluster=~"$cluster"');
        expect(v.includeAll && v.allValue, `${d.file}: $${v.name}`).toBe('.*');
      }
      for (const { panel, target } of d.targets) {
        const where = describe(d, panel, target);
        expect(bareMetrics(target.expr), where).toEqual([]);
        for (const { metric, matchers } of selectors(target.expr)) {
          if (metric === 'up') {
            // `up` has no cluster label: the panel joins it to koppa_broker_info's.
            expect(target.expr, where).toMatch(/group_left \(cluster\)/);
          } else {
            expect(matchers, `${where}: ${metric}`).toContain('cluster=~"$cluster"');
          }
          if (names.includes('instance')) {
            expect(matchers, `${where}: ${metric}`).toContain('instance=~"$instance"');
          }
          if (names.includes('group') && GROUP_METRICS.test(metric)) {
            expect(matchers, `${where}: ${metric}`).toContain('group=~"$group"');
          }
          if (names.includes('topic') && TOPIC_METRICS.test(metric)) {
            expect(matchers, `${where}: ${metric}`).toContain('topic=~"$topic"');
          }
        }
        // Rates over Grafana's rate interval, never a fixed window (the stuck panel's 10m
        // window is the alert's own).
        for (const m of target.expr.matchAll(/\b(rate|increase)\([^[]*\[([^\]]+)\]/g)) {
          expect(m[2], where).toMatch(/^\$__(rate_interval|range)$/);
        }
      }
    }
  });

  it('give every panel a unit, a description and a place of its own', () => {
    for (const d of dashboards) {
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, d.file).toBe(ids.length);
      const cells = new Set<string>();
      for (const panel of d.panels) {
        const { x, y, w, h } = panel.gridPos!;
        expect(x + w, `${d.file}: ${panel.title}`).toBeLessThanOrEqual(24);
        for (let i = x; i < x + w; i++) {
          for (let j = y; j < y + h; j++) {
            const cell = `${i},${j}`;
            expect(cells.has(cell), `${d.file}: ${panel.title} overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
        }
        if (panel.type === 'row') continue;
        expect(panel.fieldConfig?.defaults?.unit, `${d.file}: ${panel.title}`).toMatch(
          /^(ops|reqps|bytes|Bps|s|short|percentunit|none)$/,
        );
        expect((panel as { description?: string }).description, panel.title).toBeTruthy();
      }
    }
  });

  it('are provisioned with the data source uid they use, from the folder compose mounts', () => {
    const datasources = readYaml(
      join(ROOT, 'grafana/provisioning/datasources/koppa-prometheus.yml'),
    ) as { datasources: { uid: string; type: string; url: string; jsonData: object }[] };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        uid: DATASOURCE_UID,
        type: 'prometheus',
        url: 'http://prometheus:9090',
        jsonData: expect.objectContaining({ timeInterval: '15s' }),
      }),
    ]);
    const providers = readYaml(join(ROOT, 'grafana/provisioning/dashboards/koppa.yml')) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(providers.providers).toHaveLength(1);
    const compose = readYaml(join(ROOT, 'docker-compose.yml')) as {
      services: { grafana: { volumes: string[] } };
    };
    expect(compose.services.grafana.volumes).toContain(
      `./grafana/dashboards:${providers.providers[0].options.path}:ro`,
    );
    // The scrape interval Grafana is told is the one Prometheus uses.
    const prometheus = readYaml(join(ROOT, 'prometheus/prometheus.yml')) as {
      global: { scrape_interval: string };
    };
    expect(prometheus.global.scrape_interval).toBe('15s');
  });
});
