#!/usr/bin/env bash
# Runs the end-to-end suite: set-up (idempotent; it runs the Lambda emulator's, in
# tools/lambda-emulator), one synthesis of the e2e app with the real construct, then every test
# file on Node.js 22 with Node's test runner. Prints the spec report (ending with "ℹ pass N" /
# "ℹ fail N"), writes TAP to e2e/.work/results.tap, and ends with "e2e: N passed, N failed";
# exits non-zero on any failure.
# Needs from the repository build: npm ci at the root, npx projen compile, and the preload layer
# (npm ci --prefix layer-src && node layer-src/build.mjs). Run as root.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$E2E_DIR/setup.sh"

ARCH="$(node -p "process.arch === 'arm64' ? 'arm64' : 'x64'")"
EMULATOR_DIR="$(cd "$E2E_DIR/../tools/lambda-emulator" && pwd)"
NODE="$EMULATOR_DIR/node_modules/node-22-linux-$ARCH/bin/node"
WORK="$E2E_DIR/.work"
mkdir -p "$WORK"

printf '\033[1m==> Synthesizing the e2e app (bundles, collector and preload layers)\033[0m\n'
"$NODE" --input-type=module -e "
import { synthesize } from '$EMULATOR_DIR/index.mjs';
await synthesize('$E2E_DIR/fixtures/app/e2e-app.ts', '$WORK/cdk.out', { onLine: (l) => console.log('    ' + l) });
"
export E2E_CDK_OUT="$WORK/cdk.out"

printf '\033[1m==> Running the suite\033[0m\n'
tap="$WORK/results.tap"
status=0
"$NODE" --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "$E2E_DIR"/test/*.test.mjs || status=$?

# The spec report above already ends with its totals ("ℹ pass N"); the TAP file is kept for tools.
pass="$(sed -n 's/^# pass //p' "$tap" | tail -1)"
fail="$(sed -n 's/^# fail //p' "$tap" | tail -1)"
echo "e2e: ${pass:-0} passed, ${fail:-0} failed"
if [ "$status" -eq 0 ] && [ "${fail:-1}" != 0 ]; then status=1; fi
exit "$status"
