#!/usr/bin/env bash
# Builds the preload layer and runs the whole test suite on Node.js 22 and on Node.js 24,
# the Lambda runtimes the preload supports (binaries from the npm `node` package, pinned in
# devDependencies). Exits non-zero if the build or any test fails.
# Usage: layer-src/test.sh
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x node_modules/node-22/bin/node ] || [ ! -x node_modules/node-24/bin/node ] || [ ! -d node_modules/esbuild ]; then
  npm ci --no-audit --no-fund
fi

node build.mjs

reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
passed=0
failed=0
status=0
for major in 22 24; do
  node_bin="node_modules/node-${major}/bin/node"
  echo "== Node.js $("$node_bin" --version)"
  "$node_bin" --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$reports/node-${major}.tap" \
    'test/*.test.mjs' || status=1
  passed=$((passed + $(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$reports/node-${major}.tap")))
  failed=$((failed + $(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$reports/node-${major}.tap")))
done

echo "preload: ${passed} passed, ${failed} failed"
if [ "$failed" -ne 0 ]; then status=1; fi
exit "$status"
