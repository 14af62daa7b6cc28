/**
 * Reads YAML for tests (the compose file, Prometheus's and Grafana's configuration) with PyYAML,
 * through Debian's python3: docker-compose 1.29, which the observability tests drive, is a Python
 * program built on it, so wherever those tests run it is there, and the project needs no YAML
 * package of its own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PYTHON } from './processes.js';

const YAML_TO_JSON = 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)';

export function parseYaml(text: string): unknown {
  const json = execFileSync(PYTHON, ['-c', YAML_TO_JSON], { input: text, encoding: 'utf8' });
  return JSON.parse(json) as unknown;
}

export function readYaml(path: string): unknown {
  return parseYaml(readFileSync(path, 'utf8'));
}
