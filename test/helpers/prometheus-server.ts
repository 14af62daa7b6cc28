/**
 * A real Prometheus (Debian's `prometheus` package, 2.42) for tests: a plain process on a free
 * loopback port with its storage in a temporary directory, ready when `/-/ready` answers 200.
 * The caller gives its configuration (written as JSON, which is YAML) and any files it names
 * relative to itself (rule files); the helper queries it through its HTTP API.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { killOnExit, removed, removeOnExit } from './exit-cleanup.js';
import { freePort } from './broker-process.js';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export interface StartPrometheusOptions {
  /** prometheus.yml's content; relative paths in it (rule_files) are read from `files`. */
  config: Record<string, unknown>;
  /** Files next to the configuration, by relative path. */
  files?: Record<string, string>;
  /** How long to wait for `/-/ready`. Default 30 s. */
  startTimeoutMs?: number;
}

/** One series of an instant query's answer. */
export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

export interface LoadedRule {
  type: 'alerting' | 'recording';
  name: string;
  query: string;
  /** `for:` of an alert, in seconds. */
  duration?: number;
  health: string;
  lastError?: string;
}

export interface PrometheusServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** An instant query now; throws if Prometheus refuses the expression. */
  query(expr: string): Promise<InstantSample[]>;
  /** The label sets of the series `match` selects over the last `lookbackSeconds`. */
  series(match: string, lookbackSeconds?: number): Promise<Record<string, string>[]>;
  alerts(): Promise<ActiveAlert[]>;
  rules(): Promise<LoadedRule[]>;
  /** Scrape targets with their health (`up`, `down`, `unknown`). */
  targets(): Promise<{ scrapeUrl: string; health: string; labels: Record<string, string> }[]>;
  /** The last lines Prometheus logged, for failure messages. */
  logTail(): string;
  /** Stops Prometheus and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  if (!existsSync(PROMETHEUS)) {
    throw new Error('Prometheus is not installed: apt-get install prometheus');
  }
  const dir = await mkdtemp(join(tmpdir(), 'koppa-prometheus-'));
  removeOnExit(dir);
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(configPath, JSON.stringify(options.config, null, 2));
  for (const [path, text] of Object.entries(options.files ?? {})) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log: string[] = [];
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killOnExit(child);
  const collect = (chunk: Buffer): void => {
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (log.length > 200) log = log.slice(-200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
    removed(dir);
  };

  const api = async <T>(path: string, form?: Record<string, string>): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method: form ? 'POST' : 'GET',
      body: form ? new URLSearchParams(form) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await response.json()) as { status: string; data: T; error?: string };
    if (answer.status !== 'success') {
      throw new Error(`Prometheus ${path} ${JSON.stringify(form ?? {})}: ${answer.error}`);
    }
    return answer.data;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`Prometheus exited while starting:\n${log.join('\n')}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Prometheus was not ready in time:\n${log.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: InstantSample[] }>('/api/v1/query', {
        query: expr,
      });
      if (data.resultType !== 'vector') {
        throw new Error(`${expr} answered a ${data.resultType}, not an instant vector`);
      }
      return data.result;
    },
    async series(match, lookbackSeconds = 300) {
      const now = Date.now() / 1000;
      return api<Record<string, string>[]>('/api/v1/series', {
        'match[]': match,
        start: String(now - lookbackSeconds),
        end: String(now),
      });
    },
    async alerts() {
      return (await api<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts;
    },
    async rules() {
      const data = await api<{ groups: { rules: LoadedRule[] }[] }>('/api/v1/rules');
      return data.groups.flatMap((g) => g.rules);
    },
    async targets() {
      const data = await api<{
        activeTargets: { scrapeUrl: string; health: string; labels: Record<string, string> }[];
      }>('/api/v1/targets');
      return data.activeTargets;
    },
    logTail: () => log.join('\n'),
    stop,
  };
}
