/**
 * The docker-compose stack's files, checked with the tools that read them: promtool for
 * Prometheus's configuration and rules, docker-compose 1.29 for the compose file (no Docker
 * engine runs here, so nothing is built or started), TypeScript for the load generator's stage.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROMTOOL } from '../helpers/prometheus-server.js';
import { parseYaml, readYaml } from '../helpers/yaml.js';
import { ROOT } from './dashboards.js';

const DOCKER_COMPOSE = '/usr/bin/docker-compose';

/** Images the stack may pull instead of building: official ones, named here on purpose. */
const OFFICIAL_IMAGES = ['zookeeper', 'prom/prometheus', 'grafana/grafana', 'node'];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  /** `SOURCE:TARGET:MODE` as docker-compose 1.29 prints them. */
  volumes?: string[];
  environment?: Record<string, string>;
  ports?: { published: number; target: number }[];
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The compose file as docker-compose normalizes it (paths absolute, volumes long-form). */
function composeConfig(): Compose {
  const text = execFileSync(
    DOCKER_COMPOSE,
    ['--file', join(ROOT, 'docker-compose.yml'), 'config'],
    {
      encoding: 'utf8',
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return parseYaml(text) as Compose;
}

function promtool(...args: string[]): string {
  return execFileSync(PROMTOOL, args, { encoding: 'utf8', cwd: ROOT, stdio: 'pipe' });
}

/** `FROM image AS name` stages of the Dockerfile. */
function dockerStages(): { image: string; name: string }[] {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  return [...text.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)\s*$/gim)].map((m) => ({
    image: m[1],
    name: m[2],
  }));
}

interface Mount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source, target, mode = 'rw'] = spec.split(':');
    const type = isAbsolute(source) ? 'bind' : 'volume';
    return { type, source, target, readOnly: mode.split(',').includes('ro') };
  });
}

const imageName = (image: string) => image.split('@')[0].replace(/:[^/]*$/, '');

describe('Prometheus configuration', () => {
  it('passes promtool check rules and check config', () => {
    const rules = promtool(
      'check',
      'rules',
      'prometheus/rules/koppa-recording.yml',
      'prometheus/rules/koppa-alerts.yml',
    );
    expect(rules).toMatch(/koppa-recording\.yml\s+SUCCESS: \d+ rules found/);
    expect(rules).toMatch(/koppa-alerts\.yml\s+SUCCESS: \d+ rules found/);
    const config = promtool('check', 'config', 'prometheus/prometheus.yml');
    expect(config).toMatch(/SUCCESS: 2 rule files found/);
  });

  it('scrapes every broker of the compose stack on its HTTP port, every 15 s', () => {
    const config = readYaml(join(ROOT, 'prometheus/prometheus.yml')) as {
      global: { scrape_interval: string };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.global.scrape_interval).toBe('15s');
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(['koppa']);
    const targets = config.scrape_configs[0].static_configs.flatMap((s) => s.targets);
    const compose = composeConfig();
    const brokers = Object.entries(compose.services)
      .filter(([, s]) => s.build?.target === 'koppa')
      .map(([name]) => name);
    expect(brokers).toHaveLength(3);
    // webServicePort of the image's broker.conf, which compose does not override.
    const conf = readFileSync(join(ROOT, 'docker/broker.conf'), 'utf8');
    const port = /^webServicePort=(\d+)$/m.exec(conf)?.[1];
    expect(port).toBe('8080');
    expect(targets.sort()).toEqual(brokers.map((b) => `${b}:${port}`).sort());
  });

  it('gives every alert a for:, a severity, a summary and a description', () => {
    for (const file of ['koppa-alerts.yml', 'koppa-recording.yml']) {
      const rules = readYaml(join(ROOT, 'prometheus/rules', file)) as {
        groups: { rules: Record<string, unknown>[] }[];
      };
      for (const rule of rules.groups.flatMap((g) => g.rules)) {
        if (!rule.alert) {
          // Recording rules are named level:metric:operations.
          expect(rule.record, file).toMatch(/^[a-z_]+:[a-zA-Z0-9_]+:[a-z0-9_]+$/);
          continue;
        }
        expect(rule.for, String(rule.alert)).toMatch(/^\d+[smh]$/);
        expect(rule.labels, String(rule.alert)).toEqual({
          severity: expect.stringMatching(/^(warning|critical)$/),
        });
        expect(rule.annotations, String(rule.alert)).toEqual({
          summary: expect.any(String),
          description: expect.any(String),
        });
      }
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = composeConfig();

  it('is valid for docker-compose config -q', () => {
    // Throws (with docker-compose's message) when it is not.
    execFileSync(DOCKER_COMPOSE, ['--file', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    expect(Object.keys(compose.services).sort()).toEqual([
      'broker-1',
      'broker-2',
      'broker-3',
      'grafana',
      'loadgen',
      'prometheus',
      'zookeeper',
    ]);
  });

  it('builds its images from the repository’s Dockerfile, or pulls official ones', () => {
    const stages = dockerStages();
    expect(stages.map((s) => s.name)).toEqual(['build', 'loadgen', 'koppa']);
    for (const stage of stages) expect(stage.image).toBe('node:20-bookworm-slim');
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) {
        const context = service.build.context;
        expect(isAbsolute(context) && !relative(ROOT, context).startsWith('..'), name).toBe(true);
        const dockerfile = join(context, service.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
        expect(
          stages.map((s) => s.name),
          name,
        ).toContain(service.build.target);
      } else {
        expect(OFFICIAL_IMAGES, `${name}: ${service.image}`).toContain(
          imageName(service.image ?? ''),
        );
      }
    }
  });

  it('mounts only paths of the repository, and one shared data volume for the brokers', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of mounts(service)) {
        if (volume.type !== 'bind') continue;
        expect(relative(ROOT, volume.source).startsWith('..'), `${name}: ${volume.source}`).toBe(
          false,
        );
        expect(existsSync(volume.source), `${name}: ${volume.source}`).toBe(true);
        expect(volume.readOnly, `${name}: ${volume.source} read-only`).toBe(true);
      }
    }
    // Prometheus reads its rule files relative to the mounted configuration.
    const prometheus = mounts(compose.services.prometheus).find((v) => v.type === 'bind')!;
    expect(statSync(join(prometheus.source, 'prometheus.yml')).isFile()).toBe(true);
    expect(prometheus.target).toBe('/etc/prometheus');
    // Brokers of one host share one message store: the same volume at the data directory.
    const conf = readFileSync(join(ROOT, 'docker/broker.conf'), 'utf8');
    const dataDir = /^dataDir=(.+)$/m.exec(conf)?.[1];
    const brokers = Object.values(compose.services).filter((s) => s.build?.target === 'koppa');
    const dataVolumes = brokers.map(
      (s) => mounts(s).find((v) => v.target === dataDir && v.type === 'volume')?.source,
    );
    expect(dataVolumes).toEqual(['koppa-data', 'koppa-data', 'koppa-data']);
    expect(Object.keys(compose.volumes ?? {})).toContain('koppa-data');
  });

  // Other brokers reach a broker's HTTP port (admin answers, lag sampling) at its advertised
  // address: the wildcard it binds would send them to themselves.
  it('gives each broker its id, ZooKeeper, and listener and HTTP addresses advertised by its service name', () => {
    const brokers = Object.entries(compose.services).filter(([, s]) => s.build?.target === 'koppa');
    const ids = new Set<string>();
    for (const [name, service] of brokers) {
      const env = service.environment ?? {};
      expect(env.KOPPA_METADATA_STORE_URL, name).toMatch(/^zk:zookeeper:2181\//);
      expect(env.KOPPA_KAFKA_ADVERTISED_LISTENERS, name).toBe(`PLAINTEXT://${name}:9092`);
      expect(env.KOPPA_ADVERTISED_ADDRESS, name).toBe(name);
      ids.add(env.KOPPA_BROKER_ID);
    }
    expect(ids.size).toBe(brokers.length);
    expect(compose.services.loadgen.environment?.KAFKA_BOOTSTRAP?.split(',').sort()).toEqual(
      brokers.map(([name]) => `${name}:9092`).sort(),
    );
  });
});

describe('the image', () => {
  const out = mkdtempSync(join(tmpdir(), 'koppa-loadgen-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('keeps dependencies, build output, data and history out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', 'dist', 'data', '.git'])
      expect(ignored).toContain(entry);
  });

  it('compiles the load generator into one module that needs only kafkajs and Node', () => {
    // What the Dockerfile's build stage runs, into a temporary folder.
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['-p', 'tsconfig.loadgen.json', '--outDir', out],
      { cwd: ROOT, stdio: 'pipe' },
    );
    const js = readFileSync(join(out, 'load-generator.js'), 'utf8');
    const imports = [...js.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['kafkajs', 'node:timers/promises']);
    // The loadgen stage copies kafkajs's folder alone: it must need nothing else.
    const kafkajs = JSON.parse(
      readFileSync(join(ROOT, 'node_modules/kafkajs/package.json'), 'utf8'),
    ) as { dependencies?: Record<string, string> };
    expect(kafkajs.dependencies ?? {}).toEqual({});
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('RUN npm run build && npx tsc -p tsconfig.loadgen.json');
    expect(dockerfile).toContain('COPY --from=build /app/dist/loadgen/load-generator.js ./');
  });
});
