#!/usr/bin/env bash
# Installs what the end-to-end suite needs, on a fresh Debian machine or again on one already set
# up (every step checks first). Run as root.
#   - the Lambda emulator's set-up (tools/lambda-emulator/setup.sh: system packages, aws-lambda-ric
#     for Node.js 22 and 24, moto[server])
#   - npm ci here (what the e2e app's functions import, esbuild for their bundles)
#   - the official runtime interface emulator, when the Go module proxy serves it
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$E2E_DIR/.cache"
mkdir -p "$CACHE"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

bash "$E2E_DIR/../tools/lambda-emulator/setup.sh"

step "npm packages of e2e/ (the e2e app's functions)"
if [ ! -f "$E2E_DIR/node_modules/.package-lock.json" ] || [ "$E2E_DIR/package-lock.json" -nt "$E2E_DIR/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$E2E_DIR" --no-audit --no-fund --loglevel=error
else
  note "up to date"
fi

step "Official runtime interface emulator (aws-lambda-rie)"
RIE_BIN="$CACHE/bin/aws-lambda-rie"
if [ -x "$RIE_BIN" ]; then
  note "present"
elif ! command -v go >/dev/null 2>&1; then
  note "skipped: no Go toolchain; the aws-lambda-rie scenario will be skipped"
else
  # The module declares its path as go.amzn.com, so it is built through e2e/rie/go.mod, which
  # replaces go.amzn.com with the GitHub module at a pinned commit.
  if (cd "$E2E_DIR/rie" && GOFLAGS=-mod=mod GOBIN="$CACHE/bin" go install go.amzn.com/cmd/aws-lambda-rie >"$CACHE/rie.log" 2>&1); then
    note "installed to $RIE_BIN"
  else
    note "not available: $(grep -m1 -E 'Forbidden|not available|error' "$CACHE/rie.log" || tail -1 "$CACHE/rie.log")"
    note "the aws-lambda-rie scenario will be skipped"
  fi
fi

step "e2e set-up complete"
