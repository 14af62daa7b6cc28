/**
 * Koppa's Grafana dashboards as the tests see them: every panel (rows' nested panels included),
 * every query target and every template variable of grafana/dashboards/*.json, and the
 * substitution of Grafana's variables that turns a target into a PromQL expression.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DASHBOARD_DIR = join(ROOT, 'grafana/dashboards');

export interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string } | string | null;
  gridPos?: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
  panels?: Panel[];
}

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  datasource?: { type?: string; uid?: string } | string | null;
}

export interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type?: string; uid?: string } | string | null;
  includeAll?: boolean;
  allValue?: string | null;
}

export interface Dashboard {
  file: string;
  json: {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: Variable[] };
  };
  /** Every panel, rows and the panels inside collapsed rows included. */
  panels: Panel[];
  targets: { panel: Panel; target: Target }[];
  variables: Variable[];
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as Dashboard['json'];
      const panels = json.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
      return {
        file,
        json,
        panels,
        targets: panels.flatMap((panel) =>
          (panel.targets ?? []).map((target) => ({ panel, target })),
        ),
        variables: json.templating.list,
      };
    });
}

export function variableQuery(variable: Variable): string {
  return typeof variable.query === 'string' ? variable.query : variable.query.query;
}

/** `label_values(selector, label)` → its parts. */
export function parseLabelValues(query: string): { selector: string; label: string } {
  const match = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(query.trim());
  if (!match) throw new Error(`not a label_values(selector, label) query: ${query}`);
  return { selector: match[1].trim(), label: match[2] };
}

/**
 * Replaces Grafana's variables (`$name`, `${name}`) by `values`; one it does not know is an error,
 * so that no target reaches Prometheus with a variable left in it.
 */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
}

/** The labels a legend names (`{{group}} · {{topic}}` → group, topic). */
export function legendLabels(legend: string | undefined): string[] {
  return [...(legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]);
}

/** Where a target comes from, for failure messages. */
export function describe(dashboard: Dashboard, panel: Panel, target: Target): string {
  return `${dashboard.json.title} / ${panel.title} / ${target.refId}`;
}
