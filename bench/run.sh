#!/usr/bin/env bash
# The benchmark, from a fresh clone: installs what it needs, builds the collector and the preload
# layer, then measures sizes, start-up, invoke overhead and throughput, each beside its baseline,
# and writes bench/results.json and bench/RESULTS.md. About 15 minutes on 2 cores.
# Run as root (the emulator uses mount and network namespaces). Quick run, e.g.:
#   BENCH_STARTUP_RUNS=5 BENCH_READY_RUNS=5 BENCH_INVOCATIONS=50 BENCH_THROUGHPUT_BURSTS=1000 bench/run.sh
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"

# The Lambda emulator, moto and the runtime interface client (every step checks first).
bash "$REPO_DIR/tools/lambda-emulator/setup.sh"

# The traced function's environment comes from synthesizing fixtures/app/bench-app.ts with the
# construct: the repository's dependencies and the compiled library.
if [ ! -x "$REPO_DIR/node_modules/.bin/ts-node" ]; then
  echo "bench: installing the repository's packages (npm ci)"
  npm ci --prefix "$REPO_DIR" --no-audit --no-fund --loglevel=error
fi
if [ ! -f "$REPO_DIR/lib/index.js" ]; then
  echo "bench: compiling the construct library (npx projen compile)"
  (cd "$REPO_DIR" && npx projen compile)
fi

stamp="$BENCH_DIR/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$BENCH_DIR/package-lock.json" -nt "$stamp" ]; then
  echo "bench: installing bench/'s packages"
  npm ci --prefix "$BENCH_DIR" --no-audit --no-fund --loglevel=error
fi

# The upstream Lambda collector, from ../shared/third_party (skipped with a line when absent).
"$BENCH_DIR/build-artifacts.sh" collector preload baseline peer-collector
# The harness runs on the Node.js 22 that bench/ installs (the AWS SDK it uses wants 22 or later).
node_arch="$(node -p "process.arch === 'arm64' ? 'arm64' : 'x64'")"
exec "$BENCH_DIR/node_modules/node-22-linux-$node_arch/bin/node" "$BENCH_DIR/src/main.mjs"
