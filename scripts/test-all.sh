#!/usr/bin/env bash
# The whole test suite: installs what it needs, then unit, integration and client tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-env.sh
npx vitest run
