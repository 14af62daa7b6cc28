/**
 * The Prometheus text exposition format, version 0.0.4: names, escaping, sample values. Metrics
 * read at scrape time are written in it directly (see scraped-metrics.ts), without building
 * prom-client's per-sample objects.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function checkMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name: ${JSON.stringify(name)}`);
}

/** Names starting with `__` are Prometheus's own. */
export function checkLabelName(metric: string, label: string): void {
  if (!LABEL_NAME.test(label) || label.startsWith('__')) {
    throw new Error(`${metric}: invalid label name ${JSON.stringify(label)}`);
  }
}

const LABEL_VALUE_SPECIAL = /[\\"\n]/;

/** A label value between its double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  if (!LABEL_VALUE_SPECIAL.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped (a double quote stays as it is). */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `# HELP` and `# TYPE` lines of a metric. */
export function metricHeader(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** `name="value"` pairs, comma-separated, of the labels present (undefined ones left out). */
export function renderLabels(
  labels: Readonly<Record<string, string | undefined>>,
  check?: (label: string) => void,
): string {
  let text = '';
  for (const name of Object.keys(labels)) {
    const value = labels[name];
    if (value === undefined) continue;
    check?.(name);
    text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(String(value))}"`;
  }
  return text;
}

/** A sample value as Prometheus reads it (Go's ParseFloat): `+Inf`, `-Inf` and `NaN` spelled so. */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return `${value}`;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}
