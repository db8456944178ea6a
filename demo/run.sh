#!/usr/bin/env bash
# npm run demo: from a fresh clone, installs and builds everything, runs the sample app (demo/app.ts)
# locally in the Lambda environment emulator with moto as X-Ray, prints the resulting trace as a
# tree and writes demo/trace.svg. Run as root (the emulator uses Linux namespaces).
set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$DEMO_DIR/.." && pwd)"
LOG_DIR="$DEMO_DIR/.work/logs"
mkdir -p "$LOG_DIR"
STEPS=7
step_no=0

# Runs a command with its output in a log, showing that it is alive; on failure prints the log's end.
run_step() {
  local label="$1"; shift
  step_no=$((step_no + 1))
  local log="$LOG_DIR/step-$step_no.log"
  local started=$SECONDS
  printf '\033[1m[%d/%d] %s\033[0m\n' "$step_no" "$STEPS" "$label"
  "$@" >"$log" 2>&1 &
  local pid=$!
  local frames='|/-\' i=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ -t 1 ]; then
      printf '\r      %s %ds  %s' "${frames:i++%4:1}" $((SECONDS - started)) "$(tail -n1 "$log" 2>/dev/null | tr -d '\r' | cut -c1-70)"
      printf '\033[K'
      sleep 0.2
    else
      sleep 1
      local elapsed=$((SECONDS - started))
      if [ "$elapsed" -gt 0 ] && [ $((elapsed % 30)) -eq 0 ]; then printf '      ... %ds\n' "$elapsed"; fi
    fi
  done
  if wait "$pid"; then
    [ -t 1 ] && printf '\r\033[K'
    printf '      done in %ds\n' $((SECONDS - started))
  else
    [ -t 1 ] && printf '\r\033[K'
    printf '      failed after %ds; the end of %s:\n' $((SECONDS - started)) "$log" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

skip_step() {
  step_no=$((step_no + 1))
  printf '\033[1m[%d/%d] %s\033[0m: up to date\n' "$step_no" "$STEPS" "$1"
}

newer_than() { # true when any file under $2... is newer than $1 (or $1 is missing)
  local target="$1"; shift
  [ ! -e "$target" ] && return 0
  [ -n "$(find "$@" -newer "$target" -type f -print -quit 2>/dev/null)" ]
}

if [ "$(id -u)" != 0 ]; then
  echo "npm run demo must run as root: the Lambda emulator creates mount and network namespaces" >&2
  exit 1
fi

run_step "Lambda emulator: system packages, aws-lambda-ric for Node.js 22 and 24, moto (tools/lambda-emulator/setup.sh)" "$REPO_DIR/tools/lambda-emulator/setup.sh"

if newer_than "$REPO_DIR/node_modules/.package-lock.json" "$REPO_DIR/package-lock.json"; then
  run_step "Project dependencies (npm ci)" npm ci --prefix "$REPO_DIR" --no-audit --no-fund
else
  skip_step "Project dependencies (npm ci)"
fi

if newer_than "$REPO_DIR/lib/index.js" "$REPO_DIR/lib" -name '*.ts' -not -name '*.d.ts'; then
  run_step "Construct library (npx projen compile)" bash -c "cd '$REPO_DIR' && npx projen compile"
else
  skip_step "Construct library (npx projen compile)"
fi

# Skips an architecture whose prebuilt layer matches the collector source.
run_step "Collector layer for x86_64 and arm64 (scripts/build-collector.mjs)" node "$REPO_DIR/scripts/build-collector.mjs"

# The preload's path in the layer (contract/contract.json: preload.importPath, under /opt).
preload="$REPO_DIR/assets/preload-layer/$(node -p "require('$REPO_DIR/contract/contract.json').preload.importPath.replace(/^\/opt\//, '')")"
if newer_than "$preload" "$REPO_DIR/layer-src/src" "$REPO_DIR/layer-src/build.mjs" "$REPO_DIR/layer-src/package-lock.json"; then
  run_step "Preload layer (layer-src build)" bash -c "npm ci --prefix '$REPO_DIR/layer-src' --no-audit --no-fund && node '$REPO_DIR/layer-src/build.mjs'"
else
  skip_step "Preload layer (layer-src build)"
fi

if newer_than "$DEMO_DIR/node_modules/.package-lock.json" "$DEMO_DIR/package-lock.json"; then
  run_step "Sample app dependencies (npm ci in demo/)" npm ci --prefix "$DEMO_DIR" --no-audit --no-fund
else
  skip_step "Sample app dependencies (npm ci in demo/)"
fi

step_no=$((step_no + 1))
printf '\033[1m[%d/%d] Running the sample app\033[0m\n' "$step_no" "$STEPS"
ARCH="$(node -p "process.arch === 'arm64' ? 'arm64' : 'x64'")"
exec "$REPO_DIR/tools/lambda-emulator/node_modules/node-22-linux-$ARCH/bin/node" "$DEMO_DIR/run.mjs"
