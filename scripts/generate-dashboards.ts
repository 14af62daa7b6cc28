/**
 * Writes Koppa's Grafana dashboards (grafana/dashboards/*.json) from the definitions below:
 * `npm run generate:dashboards`. The JSON files are what Grafana provisions; a test
 * checks that they are what this script makes, so edit here and run it again.
 *
 * Every panel queries the provisioned Prometheus data source by its fixed uid, and every query
 * filters on the dashboard's template variables (`cluster` first; Prometheus's `instance` is the
 * broker). Rates use `$__rate_interval`, which Grafana derives from the data source's scrape
 * interval (`timeInterval` in grafana/provisioning/datasources).
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';

export const DATASOURCE_UID = 'koppa-prometheus';
const DATASOURCE = { type: 'prometheus', uid: DATASOURCE_UID } as const;

// ---- Building blocks --------------------------------------------------------------------------

/** Grafana unit ids: messages and requests per second, bytes, bytes per second, seconds, counts. */
type Unit = 'ops' | 'reqps' | 'bytes' | 'Bps' | 's' | 'short' | 'percentunit' | 'none';

interface Query {
  expr: string;
  legend?: string;
  /** One value per series at the dashboard's end time (stats, tables), not a time series. */
  instant?: boolean;
  /** Rows of labels and values, for tables. */
  table?: boolean;
}

interface PanelSpec {
  title: string;
  description: string;
  unit: Unit;
  queries: Query[];
  /** Grid width out of 24. Default 12. */
  width?: number;
  /** Grid height. Default 8. */
  height?: number;
}

type Panel = Record<string, unknown>;

/** A time series panel with its legend as a table of last and max values. */
function timeseries(spec: PanelSpec & { stack?: boolean; bars?: boolean }): Panel {
  return {
    type: 'timeseries',
    ...common(spec),
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        min: 0,
        custom: {
          drawStyle: spec.bars ? 'bars' : 'line',
          lineWidth: 1,
          fillOpacity: spec.stack ? 30 : 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' },
        },
      },
      overrides: [],
    },
    options: {
      legend: {
        displayMode: 'table',
        placement: 'bottom',
        calcs: ['lastNotNull', 'max'],
        sortBy: 'Last *',
        sortDesc: true,
      },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

/** A stat panel: one value per series at the end of the range. */
function stat(
  spec: PanelSpec & {
    /** Value → text and colour (`up` 1 → UP, green). */
    mappings?: { value: number; text: string; color: string }[];
    /** Show the series' names only (a state, given by a label). */
    namesOnly?: boolean;
  },
): Panel {
  return {
    type: 'stat',
    ...common(spec),
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        color: { mode: spec.mappings ? 'fixed' : 'thresholds', fixedColor: 'text' },
        thresholds: { mode: 'absolute', steps: [{ color: 'text', value: null }] },
        mappings: spec.mappings
          ? [
              {
                type: 'value',
                options: Object.fromEntries(
                  spec.mappings.map((m, index) => [
                    String(m.value),
                    { text: m.text, color: m.color, index },
                  ]),
                ),
              },
            ]
          : [],
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      textMode: spec.namesOnly ? 'name' : 'value_and_name',
      colorMode: spec.mappings ? 'background' : 'none',
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      wideLayout: true,
    },
  };
}

/**
 * A table of instant queries, merged on their labels (one row per series). `columns` names the
 * value column of each query (`Value #A`, ...) and gives it a unit.
 */
function table(
  spec: Omit<PanelSpec, 'unit'> & { columns: Record<string, { name: string; unit: Unit }> },
): Panel {
  return {
    type: 'table',
    ...common({
      ...spec,
      queries: spec.queries.map((q) => ({ ...q, instant: true, table: true })),
    }),
    fieldConfig: {
      defaults: { unit: 'none' },
      // Overrides apply after the transformations: to the renamed columns.
      overrides: Object.values(spec.columns).map(({ name, unit }) => ({
        matcher: { id: 'byName', options: name },
        properties: [{ id: 'unit', value: unit }],
      })),
    },
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false } },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true },
          renameByName: Object.fromEntries(
            Object.entries(spec.columns).map(([column, { name }]) => [column, name]),
          ),
        },
      },
    ],
  };
}

function common(spec: Omit<PanelSpec, 'unit'>): Panel {
  return {
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: { w: spec.width ?? 12, h: spec.height ?? 8 },
    targets: spec.queries.map((query, i) => ({
      datasource: DATASOURCE,
      refId: String.fromCharCode(65 + i),
      expr: query.expr,
      legendFormat: query.legend ?? '__auto',
      range: !query.instant,
      instant: Boolean(query.instant),
      format: query.table ? 'table' : 'time_series',
      editorMode: 'code',
    })),
  };
}

interface Row {
  title: string;
  panels: Panel[];
}

interface Variable {
  name: string;
  label: string;
  /** `label_values(...)`. */
  query: string;
  /** Offer "All" (the regex `.*`) and several values at once. */
  all: boolean;
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  rows: Row[];
}

/** Lays the rows out top to bottom, each row's panels left to right, wrapping at 24 columns. */
function dashboard(spec: DashboardSpec): Record<string, unknown> {
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({
      type: 'row',
      title: row.title,
      collapsed: false,
      id: id++,
      gridPos: { h: 1, w: 24, x: 0, y: y++ },
      panels: [],
    });
    let x = 0;
    let rowHeight = 0;
    for (const panel of row.panels) {
      const size = panel.gridPos as { w: number; h: number };
      if (x + size.w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      panels.push({ ...panel, id: id++, gridPos: { h: size.h, w: size.w, x, y } });
      x += size.w;
      rowHeight = Math.max(rowHeight, size.h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['koppa', 'kafka'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: '',
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [
      {
        type: 'dashboards',
        title: 'Koppa',
        tags: ['koppa'],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
      },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: spec.variables.map((v) => ({
        name: v.name,
        label: v.label,
        type: 'query',
        datasource: DATASOURCE,
        query: v.query,
        definition: v.query,
        refresh: 2,
        sort: 1,
        regex: '',
        multi: v.all,
        includeAll: v.all,
        allValue: v.all ? '.*' : null,
        current: {},
        options: [],
        hide: 0,
      })),
    },
    panels,
  };
}

// ---- Selectors ----------------------------------------------------------------------------------

/** `metric{cluster=~"$cluster", ...}` with the dashboard's variable filters. */
function selector(metric: string, ...filters: string[]): string {
  return `${metric}{${['cluster=~"$cluster"', ...filters].join(', ')}}`;
}

const GROUP = 'group=~"$group"';
const TOPIC = 'topic=~"$topic"';
const INSTANCE = 'instance=~"$instance"';

const cluster: Variable = {
  name: 'cluster',
  label: 'Cluster',
  query: 'label_values(koppa_broker_info, cluster)',
  all: false,
};

// ---- Koppa / Consumer groups ---------------------------------------------------------------

function consumerGroups(): DashboardSpec {
  const out = (metric: string) => selector(metric, GROUP, TOPIC);
  const ofGroup = (metric: string) => selector(metric, GROUP);
  const lag = out('koppa_consumer_group_lag_messages');
  const committed = out('koppa_consumer_group_committed_offset');
  const byPartition = 'group, topic, partition';
  return {
    uid: 'koppa-consumer-groups',
    title: 'Koppa / Consumer groups',
    description:
      'Which consumer groups read what, how far behind they are, and whether any is stuck.',
    variables: [
      cluster,
      {
        name: 'group',
        label: 'Group',
        query: 'label_values(kop_server_MESSAGE_OUT{cluster=~"$cluster"}, group)',
        all: true,
      },
      {
        name: 'topic',
        label: 'Topic',
        query: 'label_values(kop_server_MESSAGE_OUT{cluster=~"$cluster", group=~"$group"}, topic)',
        all: true,
      },
    ],
    rows: [
      {
        title: 'Consumption',
        panels: [
          timeseries({
            title: 'Fetched messages/s by group and topic',
            description:
              'Records fetched (kop_server_MESSAGE_OUT), counted under the group the fetching client belongs to; consumers without a group (assign()) have an empty group.',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (group, topic) (rate(${out('kop_server_MESSAGE_OUT')}[$__rate_interval]))`,
                legend: '{{group}} · {{topic}}',
              },
            ],
          }),
          timeseries({
            title: 'Fetched bytes/s by group and topic',
            description: 'Bytes of record batches fetched (kop_server_BYTES_OUT).',
            unit: 'Bps',
            queries: [
              {
                expr: `sum by (group, topic) (rate(${out('kop_server_BYTES_OUT')}[$__rate_interval]))`,
                legend: '{{group}} · {{topic}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Lag',
        panels: [
          timeseries({
            title: 'Lag (messages) by group and topic',
            description:
              'Log end offset minus committed offset, summed over the partitions (from the group coordinator, sampled every consumerLagIntervalMs).',
            unit: 'short',
            queries: [{ expr: `sum by (group, topic) (${lag})`, legend: '{{group}} · {{topic}}' }],
          }),
          timeseries({
            title: 'Lag (seconds) by group and topic',
            description:
              "Age of the oldest message not committed yet, on the group's worst partition of the topic; 0 when caught up.",
            unit: 's',
            queries: [
              {
                expr: `max by (group, topic) (${out('koppa_consumer_group_lag_seconds')})`,
                legend: '{{group}} · {{topic}}',
              },
            ],
          }),
          table({
            title: 'Lag by partition',
            description: 'Committed offset, lag in messages and lag in seconds of every partition.',
            width: 24,
            columns: {
              'Value #A': { name: 'committed offset', unit: 'none' },
              'Value #B': { name: 'lag (messages)', unit: 'short' },
              'Value #C': { name: 'lag (seconds)', unit: 's' },
            },
            queries: [
              { expr: `max by (${byPartition}) (${committed})` },
              { expr: `max by (${byPartition}) (${lag})` },
              { expr: `max by (${byPartition}) (${out('koppa_consumer_group_lag_seconds')})` },
            ],
          }),
        ],
      },
      {
        title: 'Membership and commits',
        panels: [
          timeseries({
            title: 'Members',
            description: 'Members of each group, as its coordinator counts them.',
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `max by (group) (${ofGroup('koppa_consumer_group_members')})`,
                legend: '{{group}}',
              },
            ],
          }),
          stat({
            title: 'State',
            description:
              "Each group's state in Kafka's group protocol: Empty, PreparingRebalance, CompletingRebalance, Stable or Dead.",
            unit: 'none',
            width: 8,
            namesOnly: true,
            queries: [
              {
                expr: `max by (group, state) (${ofGroup('koppa_consumer_group_state')}) == 1`,
                legend: '{{group}}: {{state}}',
                instant: true,
              },
            ],
          }),
          stat({
            title: 'Rebalances in the time range',
            description: 'Rebalances each group went through within the dashboard time range.',
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `sum by (group) (increase(${ofGroup('koppa_consumer_group_rebalances_total')}[$__range]))`,
                legend: '{{group}}',
                instant: true,
              },
            ],
          }),
          timeseries({
            title: 'Offset commits/s',
            description: 'OffsetCommit requests the coordinator accepted.',
            unit: 'reqps',
            queries: [
              {
                expr: `sum by (group) (rate(${ofGroup('koppa_consumer_group_commits_total')}[$__rate_interval]))`,
                legend: '{{group}}',
              },
            ],
          }),
          timeseries({
            title: 'Time since last commit',
            description: 'How long ago each group last committed offsets.',
            unit: 's',
            queries: [
              {
                expr: `time() - max by (group) (${ofGroup('koppa_consumer_group_last_commit_timestamp_seconds')})`,
                legend: '{{group}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Stuck consumers',
        panels: [
          timeseries({
            title: 'Stuck partitions: committed offset flat for 10 minutes while lag grows',
            description:
              'Lag of the partitions whose committed offset has not moved in 10 minutes while their lag grew: the consumers are stalled, paused or failing to commit. The KoppaConsumerGroupStuck alert fires on the same condition after 5 minutes. Empty when no group is stuck.',
            unit: 'short',
            width: 24,
            queries: [
              {
                expr: [
                  `max by (${byPartition}) (${lag} > 0)`,
                  `and on (${byPartition})`,
                  `(max by (${byPartition}) (delta(${committed}[10m])) == 0)`,
                  `and on (${byPartition})`,
                  `(max by (${byPartition}) (delta(${lag}[10m])) > 0)`,
                ].join('\n'),
                legend: '{{group}} · {{topic}} [{{partition}}]',
              },
            ],
          }),
        ],
      },
    ],
  };
}

// ---- Koppa / Brokers ---------------------------------------------------------------------------

function brokers(): DashboardSpec {
  const on = (metric: string) => selector(metric, INSTANCE);
  const rate = (metric: string) => `rate(${on(metric)}[$__rate_interval])`;
  const quantile = (q: number, metric: string, by: string) =>
    `histogram_quantile(${q}, sum by (${by}, le) (${rate(metric)}))`;
  const mapping = (names: string[]) =>
    names.map((name) => ({
      expr: `sum(${rate(`koppa_group_mapping_${name}_total`)})`,
      legend: name.replaceAll('_', ' '),
    }));
  return {
    uid: 'koppa-brokers',
    title: 'Koppa / Brokers',
    description:
      'Whether the brokers are up and healthy: requests, latency, errors, connections, throughput, ZooKeeper and group-id mapping.',
    variables: [
      cluster,
      {
        name: 'instance',
        label: 'Broker',
        query: 'label_values(koppa_broker_info{cluster=~"$cluster"}, instance)',
        all: true,
      },
    ],
    rows: [
      {
        title: 'Overview',
        panels: [
          stat({
            title: 'Brokers up',
            description:
              'Whether Prometheus can scrape each broker (`up`); a broker that stopped answering stays listed with its cluster for 6 hours.',
            unit: 'none',
            width: 8,
            mappings: [
              { value: 1, text: 'UP', color: 'green' },
              { value: 0, text: 'DOWN', color: 'red' },
            ],
            queries: [
              {
                expr: `up{job="koppa", ${INSTANCE}} * on (instance) group_left (cluster) max by (instance, cluster) (max_over_time(${on('koppa_broker_info')}[6h]))`,
                legend: '{{instance}}',
                instant: true,
              },
            ],
          }),
          timeseries({
            title: 'Open Kafka connections',
            description: 'Client connections open on each broker.',
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${on('koppa_kafka_connections')})`,
                legend: '{{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Connections opened and closed/s',
            description: 'Connection churn: clients reconnecting often show here.',
            unit: 'ops',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${rate('koppa_kafka_connections_opened_total')})`,
                legend: '{{instance}} opened',
              },
              {
                expr: `sum by (instance) (${rate('koppa_kafka_connections_closed_total')})`,
                legend: '{{instance}} closed',
              },
            ],
          }),
        ],
      },
      {
        title: 'Kafka requests',
        panels: [
          timeseries({
            title: 'Requests/s by API',
            description: 'Kafka requests answered, by API.',
            unit: 'reqps',
            queries: [
              {
                expr: `sum by (api) (${rate('koppa_kafka_request_duration_seconds_count')})`,
                legend: '{{api}}',
              },
            ],
          }),
          timeseries({
            title: 'Errors/s by API and error',
            description:
              'Kafka error codes in responses (top-level and per partition or group), by API and error name.',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (api, error) (${rate('koppa_kafka_request_errors_total')})`,
                legend: '{{api}} {{error}}',
              },
            ],
          }),
          timeseries({
            title: 'Latency p50 by API',
            description:
              'Median time from a request decoded to its response written. Fetch includes its long-poll wait (maxWaitMs), as Kafka measures it.',
            unit: 's',
            queries: [
              {
                expr: quantile(0.5, 'koppa_kafka_request_duration_seconds_bucket', 'api'),
                legend: '{{api}}',
              },
            ],
          }),
          timeseries({
            title: 'Latency p99 by API',
            description:
              '99th percentile of the time from a request decoded to its response written, over every selected broker.',
            unit: 's',
            queries: [
              {
                expr: quantile(0.99, 'koppa_kafka_request_duration_seconds_bucket', 'api'),
                legend: '{{api}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Throughput',
        panels: [
          timeseries({
            title: 'Messages/s produced and fetched',
            description:
              'Records produced (kop_server_MESSAGE_IN) and fetched (kop_server_MESSAGE_OUT).',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (instance) (${rate('kop_server_MESSAGE_IN')})`,
                legend: '{{instance}} produced',
              },
              {
                expr: `sum by (instance) (${rate('kop_server_MESSAGE_OUT')})`,
                legend: '{{instance}} fetched',
              },
            ],
          }),
          timeseries({
            title: 'Bytes/s produced and fetched',
            description:
              'Bytes of record batches produced (kop_server_BYTES_IN) and fetched (kop_server_BYTES_OUT).',
            unit: 'Bps',
            queries: [
              {
                expr: `sum by (instance) (${rate('kop_server_BYTES_IN')})`,
                legend: '{{instance}} produced',
              },
              {
                expr: `sum by (instance) (${rate('kop_server_BYTES_OUT')})`,
                legend: '{{instance}} fetched',
              },
            ],
          }),
          timeseries({
            title: 'Message store operations/s',
            description: "Appends to and reads from this broker's message store.",
            unit: 'ops',
            queries: [
              {
                expr: `sum by (instance) (${rate('koppa_storage_appends_total')})`,
                legend: '{{instance}} appends',
              },
              {
                expr: `sum by (instance) (${rate('koppa_storage_reads_total')})`,
                legend: '{{instance}} reads',
              },
            ],
          }),
          timeseries({
            title: 'Message store bytes/s',
            description: "Bytes appended to and read from this broker's message store.",
            unit: 'Bps',
            queries: [
              {
                expr: `sum by (instance) (${rate('koppa_storage_appended_bytes_total')})`,
                legend: '{{instance}} appended',
              },
              {
                expr: `sum by (instance) (${rate('koppa_storage_read_bytes_total')})`,
                legend: '{{instance}} read',
              },
            ],
          }),
        ],
      },
      {
        title: 'Metadata store (ZooKeeper)',
        panels: [
          stat({
            title: 'Connected to ZooKeeper',
            description: 'Whether each broker is connected to its metadata store now.',
            unit: 'none',
            width: 6,
            mappings: [
              { value: 1, text: 'connected', color: 'green' },
              { value: 0, text: 'disconnected', color: 'red' },
            ],
            queries: [
              {
                expr: `max by (instance) (${on('koppa_metadata_store_connected')})`,
                legend: '{{instance}}',
                instant: true,
              },
            ],
          }),
          timeseries({
            title: 'Operations/s by operation',
            description: 'Metadata store operations, by kind.',
            unit: 'ops',
            width: 6,
            queries: [
              {
                expr: `sum by (operation) (${rate('koppa_metadata_store_operation_duration_seconds_count')})`,
                legend: '{{operation}}',
              },
            ],
          }),
          timeseries({
            title: 'Operation latency p50 and p99',
            description: 'Metadata store round trips, by operation.',
            unit: 's',
            width: 6,
            queries: [
              {
                expr: quantile(
                  0.5,
                  'koppa_metadata_store_operation_duration_seconds_bucket',
                  'operation',
                ),
                legend: '{{operation}} p50',
              },
              {
                expr: quantile(
                  0.99,
                  'koppa_metadata_store_operation_duration_seconds_bucket',
                  'operation',
                ),
                legend: '{{operation}} p99',
              },
            ],
          }),
          timeseries({
            title: 'Operation failures/s',
            description: 'Metadata store operations that failed, by operation (0 when none did).',
            unit: 'ops',
            width: 6,
            queries: [
              {
                expr: `sum by (operation) (${rate('koppa_metadata_store_operation_failures_total')}) or sum by (operation) (${rate('koppa_metadata_store_operation_duration_seconds_count')}) * 0`,
                legend: '{{operation}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Group-id mapping',
        panels: [
          timeseries({
            title: 'Mapping updates/s',
            description:
              'Writes of client → group nodes (FindCoordinator), deletes by the coordinator, repairs and corrections, orphans removed and reconciler passes.',
            unit: 'ops',
            queries: mapping([
              'writes',
              'deletes',
              'repairs',
              'corrections',
              'orphans_removed',
              'reconcile_passes',
            ]),
          }),
          timeseries({
            title: 'Mapping problems/s',
            description:
              'Failed or late writes, deletes the guard refused (a newer write stood), coordinator and lookup failures, and fetches whose group had to be guessed (ambiguous answers).',
            unit: 'ops',
            queries: mapping([
              'write_failures',
              'deletes_refused',
              'coordinator_failures',
              'lookup_failures',
              'ambiguous_answers',
            ]),
          }),
          timeseries({
            title: 'Fetched messages without their group/s',
            description:
              'Messages whose consumer group was not learnt in time (koppa_fetch_unattributed_messages_total): counted in kop_server_MESSAGE_OUT without a group. Should be 0.',
            unit: 'ops',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${rate('koppa_fetch_unattributed_messages_total')})`,
                legend: '{{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Messages awaiting their group',
            description:
              'Fetched messages not counted yet because the broker is still learning their group.',
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${on('koppa_fetch_messages_awaiting_group')})`,
                legend: '{{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Mapping nodes cached',
            description: 'Client → group nodes each broker keeps watched for its fetch path.',
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${on('koppa_group_mapping_cached_nodes')})`,
                legend: '{{instance}}',
              },
            ],
          }),
        ],
      },
      {
        title: 'Process',
        panels: [
          timeseries({
            title: 'CPU',
            description: 'CPU time of each broker process (1 = one core).',
            unit: 'percentunit',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${rate('koppa_process_cpu_seconds_total')})`,
                legend: '{{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Heap used',
            description: 'V8 heap in use.',
            unit: 'bytes',
            width: 8,
            queries: [
              {
                expr: `sum by (instance) (${on('koppa_nodejs_heap_size_used_bytes')})`,
                legend: '{{instance}}',
              },
            ],
          }),
          timeseries({
            title: 'Event loop delay p99',
            description: 'How late timers and I/O callbacks run: a busy or blocked event loop.',
            unit: 's',
            width: 8,
            queries: [
              {
                expr: `max by (instance) (${on('koppa_nodejs_eventloop_lag_p99_seconds')})`,
                legend: '{{instance}}',
              },
            ],
          }),
        ],
      },
    ],
  };
}

// ---- Koppa / Topics ------------------------------------------------------------------------------

function topics(): DashboardSpec {
  const of = (metric: string) => selector(metric, TOPIC);
  const rate = (metric: string) => `rate(${of(metric)}[$__rate_interval])`;
  // A partition's log series come from its owner; max over owners keeps one during a move.
  const perPartition = (metric: string) => `max by (topic, partition) (${of(metric)})`;
  return {
    uid: 'koppa-topics',
    title: 'Koppa / Topics',
    description:
      'How much flows into and out of each topic, how much each holds, and which groups lag on it.',
    variables: [
      cluster,
      {
        name: 'topic',
        label: 'Topic',
        query: 'label_values(koppa_log_end_offset{cluster=~"$cluster"}, topic)',
        all: true,
      },
    ],
    rows: [
      {
        title: 'Traffic',
        panels: [
          timeseries({
            title: 'Produced messages/s by topic',
            description: 'Records produced (kop_server_MESSAGE_IN).',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (topic) (${rate('kop_server_MESSAGE_IN')})`,
                legend: '{{topic}}',
              },
            ],
          }),
          timeseries({
            title: 'Fetched messages/s by topic',
            description:
              'Records fetched by every consumer, with a group or without (kop_server_MESSAGE_OUT).',
            unit: 'ops',
            queries: [
              {
                expr: `sum by (topic) (${rate('kop_server_MESSAGE_OUT')})`,
                legend: '{{topic}}',
              },
            ],
          }),
          timeseries({
            title: 'Produced bytes/s by topic',
            description: 'Bytes of record batches produced (kop_server_BYTES_IN).',
            unit: 'Bps',
            queries: [
              { expr: `sum by (topic) (${rate('kop_server_BYTES_IN')})`, legend: '{{topic}}' },
            ],
          }),
          timeseries({
            title: 'Fetched bytes/s by topic',
            description: 'Bytes of record batches fetched (kop_server_BYTES_OUT).',
            unit: 'Bps',
            queries: [
              { expr: `sum by (topic) (${rate('kop_server_BYTES_OUT')})`, legend: '{{topic}}' },
            ],
          }),
        ],
      },
      {
        title: 'Logs',
        panels: [
          timeseries({
            title: 'Log end offset by topic',
            description: "Sum over the topic's partitions of the next offset to be written.",
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `sum by (topic) (${perPartition('koppa_log_end_offset')})`,
                legend: '{{topic}}',
              },
            ],
          }),
          timeseries({
            title: 'Messages retained by topic',
            description: 'Log end offset minus log start offset, summed over the partitions.',
            unit: 'short',
            width: 8,
            queries: [
              {
                expr: `sum by (topic) (${perPartition('koppa_log_end_offset')} - ${perPartition('koppa_log_start_offset')})`,
                legend: '{{topic}}',
              },
            ],
          }),
          timeseries({
            title: 'Log size by topic',
            description: "Bytes on disk of the topic's partitions.",
            unit: 'bytes',
            width: 8,
            queries: [
              {
                expr: `sum by (topic) (${perPartition('koppa_log_size_bytes')})`,
                legend: '{{topic}}',
              },
            ],
          }),
          table({
            title: 'Partitions',
            description: 'Start and end offsets and size of every partition.',
            width: 24,
            columns: {
              'Value #A': { name: 'log start offset', unit: 'none' },
              'Value #B': { name: 'log end offset', unit: 'none' },
              'Value #C': { name: 'size', unit: 'bytes' },
            },
            queries: [
              { expr: perPartition('koppa_log_start_offset') },
              { expr: perPartition('koppa_log_end_offset') },
              { expr: perPartition('koppa_log_size_bytes') },
            ],
          }),
        ],
      },
      {
        title: 'Consumer lag',
        panels: [
          timeseries({
            title: 'Lag (messages) by topic and group',
            description: 'Messages each group has not committed yet, summed over the partitions.',
            unit: 'short',
            queries: [
              {
                expr: `sum by (topic, group) (${of('koppa_consumer_group_lag_messages')})`,
                legend: '{{topic}} · {{group}}',
              },
            ],
          }),
          timeseries({
            title: 'Lag (seconds) by topic and group',
            description:
              "Age of the oldest message each group has not committed yet, on the topic's worst partition.",
            unit: 's',
            queries: [
              {
                expr: `max by (topic, group) (${of('koppa_consumer_group_lag_seconds')})`,
                legend: '{{topic}} · {{group}}',
              },
            ],
          }),
        ],
      },
    ],
  };
}

// ---- Output ---------------------------------------------------------------------------------------

/** Every dashboard, by file name under grafana/dashboards. */
export function buildDashboards(): Record<string, Record<string, unknown>> {
  return {
    'koppa-consumer-groups.json': dashboard(consumerGroups()),
    'koppa-brokers.json': dashboard(brokers()),
    'koppa-topics.json': dashboard(topics()),
  };
}

export const DASHBOARD_DIR = resolve(import.meta.dirname, '../grafana/dashboards');

async function main(): Promise<void> {
  for (const [file, json] of Object.entries(buildDashboards())) {
    const path = join(DASHBOARD_DIR, file);
    const options = { ...(await resolveConfig(path)), filepath: path };
    await writeFile(path, await format(JSON.stringify(json), options));
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
