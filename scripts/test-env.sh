#!/usr/bin/env bash
# Installs what the test suites drive, when missing: Debian's Kafka clients (kcat, kafka-python
# with its zstd, snappy and lz4 codecs, confluent-kafka, Go's sarama), ZooKeeper, Prometheus (with promtool)
# and docker-compose (the observability tests), and the project's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v kcat >/dev/null || need+=(kcat)
/usr/bin/python3 -c 'import kafka' 2>/dev/null || need+=(python3-kafka)
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || need+=(python3-confluent-kafka)
/usr/bin/python3 -c 'import zstandard' 2>/dev/null || need+=(python3-zstandard)
/usr/bin/python3 -c 'import snappy' 2>/dev/null || need+=(python3-snappy)
/usr/bin/python3 -c 'import lz4' 2>/dev/null || need+=(python3-lz4)
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/Shopify/sarama ] || need+=(golang-github-shopify-sarama-dev)
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || need+=(prometheus)
[ -x /usr/bin/docker-compose ] || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
