#!/usr/bin/env bash
# Builds what the benchmarks and the size test measure into bench/.build/, from the project's own
# sources and build scripts:
#   collector-amd64/, collector-arm64/   collector-go/build.sh <out> with GOARCH (extensions/ + collector-config/)
#   preload-layer/                       layer-src/build.mjs <out> (nodejs/otel-preload/...)
#   baseline-extension/                  fixtures/baseline-extension, the smallest Go extension (run.sh only)
#   peer-collector/                      the upstream OpenTelemetry Lambda collector, from
#                                        ../shared/third_party/opentelemetry-lambda-collector (optional:
#                                        skipped with a line when that folder is absent; rebuilt only
#                                        when its SOURCE file changed): extensions/collector,
#                                        collector-config/config.yaml (src/otlphttp-config.mjs), SOURCE
# Usage: bench/build-artifacts.sh [collector] [preload] [baseline] [peer-collector]
#        (default: the first three)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"
BUILD_DIR="${BENCH_BUILD_DIR:-$BENCH_DIR/.build}"
mkdir -p "$BUILD_DIR"

what=("$@")
[ "${#what[@]}" -gt 0 ] || what=(collector preload baseline)

need() { # need COMMAND HOW-TO-INSTALL
  command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is not installed: $2" >&2; exit 1; }
}

build_collector() {
  need go "install Go 1.26 (https://go.dev/dl/); the collector is built from collector-go/"
  local script="$REPO_DIR/collector-go/build.sh"
  [ -x "$script" ] || { echo "bench: $script is missing or not executable: the collector cannot be built" >&2; exit 1; }
  for arch in amd64 arm64; do
    echo "bench: building the collector for linux/$arch"
    rm -rf "$BUILD_DIR/collector-$arch"
    GOARCH="$arch" "$script" "$BUILD_DIR/collector-$arch"
  done
}

build_preload() {
  need node "install Node.js 20 or later"
  # npm ci only when layer-src has no installed packages or its lock file changed since.
  local stamp="$REPO_DIR/layer-src/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$REPO_DIR/layer-src/package-lock.json" -nt "$stamp" ]; then
    echo "bench: installing layer-src's packages"
    npm ci --prefix "$REPO_DIR/layer-src" --no-audit --no-fund --loglevel=error
  fi
  echo "bench: building the preload layer"
  # build.mjs exits non-zero when the layer is over its budget, after writing it: the size test
  # reports that itself, with the figure.
  local init  # the preload's path in the layer: contract/contract.json preload.importPath, under /opt
  init="$(node -p "require('$REPO_DIR/contract/contract.json').preload.importPath.replace(/^\/opt\//, '')")"
  node "$REPO_DIR/layer-src/build.mjs" "$BUILD_DIR/preload-layer" || [ -f "$BUILD_DIR/preload-layer/$init" ]
}

THIRD_PARTY_DIR="${BENCH_THIRD_PARTY_DIR:-$(dirname "$REPO_DIR")/shared/third_party}"

build_peer_collector() {
  local peer="$THIRD_PARTY_DIR/opentelemetry-lambda-collector" out="$BUILD_DIR/peer-collector"
  if [ ! -f "$peer/SOURCE" ] || [ ! -d "$peer/src" ]; then
    echo "bench: SKIPPED peer-collector: $peer is absent (the upstream OpenTelemetry Lambda collector's source)"
    return 0
  fi
  need go "install Go 1.26 (https://go.dev/dl/); the upstream collector is built from $peer/src"
  need node "install Node.js 20 or later"
  if [ -x "$out/extensions/collector" ] && [ -f "$out/SOURCE" ] && cmp -s "$peer/SOURCE" "$out/SOURCE"; then
    echo "bench: the upstream Lambda collector is built already ($out, same SOURCE)"
  else
    echo "bench: building the upstream Lambda collector for linux/amd64 from $peer/src (default component set)"
    # The folder is read-only and the build may change go.mod/go.sum (-mod=mod): build a copy.
    local copy="$BUILD_DIR/peer-collector-src"
    rm -rf "$copy" "$out"
    cp -r "$peer/src" "$copy"
    mkdir -p "$out/extensions"
    (cd "$copy" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$out/extensions/collector" .)
    rm -rf "$copy"
    cp "$peer/SOURCE" "$out/SOURCE"
    echo "bench: upstream Lambda collector linux/amd64: $(wc -c < "$out/extensions/collector") bytes"
  fi
  # Its configuration for the comparison: OTLP/HTTP in, otlphttp out to the benchmark's sink.
  mkdir -p "$out/collector-config"
  node "$BENCH_DIR/src/otlphttp-config.mjs" > "$out/collector-config/config.yaml"
}

build_baseline() {
  need go "install Go 1.26 (https://go.dev/dl/)"
  echo "bench: building the baseline extension"
  mkdir -p "$BUILD_DIR/baseline-extension/extensions"
  local listen  # the collector's OTLP/HTTP address: contract/contract.json collector.otlpHttpListen
  listen="$(node -p "require('$REPO_DIR/contract/contract.json').collector.otlpHttpListen")"
  (cd "$BENCH_DIR/fixtures/baseline-extension" && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.listenAddress=$listen" \
    -o "$BUILD_DIR/baseline-extension/extensions/baseline-extension" .)
}

for item in "${what[@]}"; do
  case "$item" in
    collector) build_collector ;;
    preload) build_preload ;;
    baseline) build_baseline ;;
    peer-collector) build_peer_collector ;;
    *) echo "bench: unknown artifact '$item': use collector, preload, baseline or peer-collector" >&2; exit 2 ;;
  esac
done
