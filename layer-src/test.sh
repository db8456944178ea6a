#!/usr/bin/env bash
# Builds the preload layer and runs the whole test suite on Node.js 22 and on Node.js 24,
# the Lambda runtimes the preload supports (binaries from the npm `node` package, pinned in
# devDependencies), and once more on Node.js 22.22.2, which predates in-thread module hooks
# (module.registerHooks fixed in 22.22.3 / 24.11.1), so the preload registers its ES module hook
# on Node.js's loader thread instead. Exits non-zero if the build or any test fails.
# Usage: layer-src/test.sh
set -euo pipefail
cd "$(dirname "$0")"

runtimes=(node-22 node-24 node-22-loader-thread)
missing=0
for runtime in "${runtimes[@]}"; do [ -x "node_modules/${runtime}/bin/node" ] || missing=1; done
if [ "$missing" -eq 1 ] || [ ! -d node_modules/esbuild ]; then
  npm ci --no-audit --no-fund
fi

node build.mjs

reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
passed=0
failed=0
status=0
for runtime in "${runtimes[@]}"; do
  node_bin="node_modules/${runtime}/bin/node"
  echo "== Node.js $("$node_bin" --version) (${runtime})"
  "$node_bin" --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$reports/${runtime}.tap" \
    'test/*.test.mjs' || status=1
  passed=$((passed + $(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$reports/${runtime}.tap")))
  failed=$((failed + $(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$reports/${runtime}.tap")))
done

echo "preload: ${passed} passed, ${failed} failed"
if [ "$failed" -ne 0 ]; then status=1; fi
exit "$status"
