/**
 * The error codes a response carries: its top-level `errorCode` and those of its per-topic,
 * per-partition, per-group or per-member entries, as Kafka's schemas place them. Each served API
 * has a walker typed by its response, which visits only the entries that hold an error code
 * (never records); any other API falls back to a generic walk of the response object.
 * test/unit/server/response-errors.test.ts checks every walker against the schemas.
 */
import { ApiKey, type ApiKeyNumber, type ResponseTypes } from '../protocol/index.js';

/** Told each error code found, NONE (0) included: the caller skips it. */
export type ErrorCodeSink = (errorCode: number) => void;

type Walker<K extends ApiKeyNumber> = (response: ResponseTypes[K], sink: ErrorCodeSink) => void;

const walkers: { [K in ApiKeyNumber]?: Walker<K> } = {
  [ApiKey.Produce]: (r, e) => {
    for (const t of r.responses) for (const p of t.partitionResponses) e(p.errorCode);
  },
  [ApiKey.Fetch]: (r, e) => {
    e(r.errorCode ?? 0);
    for (const t of r.responses) for (const p of t.partitions) e(p.errorCode);
  },
  [ApiKey.ListOffsets]: (r, e) => {
    for (const t of r.topics) for (const p of t.partitions) e(p.errorCode);
  },
  [ApiKey.Metadata]: (r, e) => {
    for (const t of r.topics) {
      e(t.errorCode);
      for (const p of t.partitions) e(p.errorCode);
    }
  },
  [ApiKey.OffsetCommit]: (r, e) => {
    for (const t of r.topics) for (const p of t.partitions) e(p.errorCode);
  },
  [ApiKey.OffsetFetch]: (r, e) => {
    e(r.errorCode ?? 0);
    for (const t of r.topics ?? []) for (const p of t.partitions) e(p.errorCode);
    for (const g of r.groups ?? []) {
      e(g.errorCode);
      for (const t of g.topics) for (const p of t.partitions) e(p.errorCode);
    }
  },
  [ApiKey.FindCoordinator]: (r, e) => {
    e(r.errorCode ?? 0);
    for (const c of r.coordinators ?? []) e(c.errorCode);
  },
  [ApiKey.JoinGroup]: (r, e) => e(r.errorCode),
  [ApiKey.Heartbeat]: (r, e) => e(r.errorCode),
  [ApiKey.LeaveGroup]: (r, e) => {
    e(r.errorCode);
    for (const m of r.members ?? []) e(m.errorCode);
  },
  [ApiKey.SyncGroup]: (r, e) => e(r.errorCode),
  [ApiKey.DescribeGroups]: (r, e) => {
    for (const g of r.groups) e(g.errorCode);
  },
  [ApiKey.ListGroups]: (r, e) => e(r.errorCode),
  [ApiKey.ApiVersions]: (r, e) => e(r.errorCode),
  [ApiKey.CreateTopics]: (r, e) => {
    for (const t of r.topics) e(t.errorCode);
  },
  [ApiKey.DeleteTopics]: (r, e) => {
    for (const t of r.responses) e(t.errorCode);
  },
  [ApiKey.InitProducerId]: (r, e) => e(r.errorCode),
  [ApiKey.OffsetForLeaderEpoch]: (r, e) => {
    for (const t of r.topics) for (const p of t.partitions) e(p.errorCode);
  },
  [ApiKey.DescribeConfigs]: (r, e) => {
    for (const c of r.results) e(c.errorCode);
  },
  [ApiKey.CreatePartitions]: (r, e) => {
    for (const t of r.results) e(t.errorCode);
  },
  [ApiKey.DeleteGroups]: (r, e) => {
    for (const g of r.results) e(g.errorCode);
  },
  [ApiKey.OffsetDelete]: (r, e) => {
    e(r.errorCode);
    for (const t of r.topics) for (const p of t.partitions) e(p.errorCode);
  },
  [ApiKey.DescribeCluster]: (r, e) => e(r.errorCode),
};

/** Calls `sink` with every error code of an `apiKey` response. */
export function forEachErrorCode(apiKey: number, response: unknown, sink: ErrorCodeSink): void {
  const walk = walkers[apiKey as ApiKeyNumber] as Walker<ApiKeyNumber> | undefined;
  if (walk) walk(response as ResponseTypes[ApiKeyNumber], sink);
  else walkAny(response, sink, 0);
}

/** The APIs with a walker of their own. */
export function apisWithWalkers(): number[] {
  return Object.keys(walkers).map(Number);
}

/** Every `errorCode` field anywhere in a response object; records and other bytes skipped. */
function walkAny(value: unknown, sink: ErrorCodeSink, depth: number): void {
  if (depth > 8 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  if (Array.isArray(value)) {
    for (const element of value) walkAny(element, sink, depth + 1);
    return;
  }
  for (const [key, field] of Object.entries(value)) {
    if (key === 'errorCode' && typeof field === 'number') sink(field);
    else if (typeof field === 'object') walkAny(field, sink, depth + 1);
  }
}
