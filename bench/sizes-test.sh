#!/usr/bin/env bash
# Size budgets, deterministic: builds the collector (linux/amd64 and arm64) and the preload layer,
# then checks each against its budget. Prints TAP-like ok / not ok lines and a last line
# "N passed, N failed"; exits non-zero when a budget is broken.
# Set BENCH_SKIP_BUILD=1 to check what bench/.build/ already holds.
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  if ! "$BENCH_DIR/build-artifacts.sh" collector preload >&2; then
    echo "not ok 1 - building the collector and the preload layer failed (see above)"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi
exec node "$BENCH_DIR/src/sizes-test.mjs"
