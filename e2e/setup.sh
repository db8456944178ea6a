#!/usr/bin/env bash
# Installs what the end-to-end suite needs, on a fresh Debian machine or again on one already set
# up (every step checks first). Run as root.
#   - the Lambda emulator's set-up (tools/lambda-emulator/setup.sh: system packages, aws-lambda-ric
#     for Node.js 22 and 24, moto[server])
#   - npm ci here (what the e2e app's functions import, esbuild for their bundles)
#   - the official runtime interface emulator, built from its source in
#     ../shared/third_party/aws-lambda-runtime-interface-emulator (beside the repository; Go and the
#     Go module proxy for its dependencies); skipped, and its scenarios with it, only when that
#     folder is absent
#   - the OpenTelemetry Python SDK in .cache/python-otel, for the Python function of the Aspect
#     scenarios, when the emulator has a Python 3.13 runtime
#   - PostgreSQL, MariaDB and Redis (Debian packages), for the database scenario, which starts its
#     own servers on loopback (test/support/database-servers.mjs); no system service is started
#   - the Prisma client of the e2e app's Databases function, generated from
#     fixtures/app/functions/databases/schema.prisma into generated/prisma beside it
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

step "PostgreSQL, MariaDB and Redis (Debian packages, for the database scenario)"
DB_PACKAGES=(postgresql mariadb-server mariadb-client redis-server redis-tools)
missing_db=()
for pkg in "${DB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_db+=("$pkg")
done
if [ "${#missing_db[@]}" -eq 0 ]; then
  note "installed"
else
  note "installing ${missing_db[*]}"
  # The packages would start their system services; the scenario runs its own servers instead.
  # policy-rc.d answering 101 keeps invoke-rc.d (and deb-systemd-invoke) from starting them.
  policy_rc=/usr/sbin/policy-rc.d
  added_policy=""
  if [ ! -e "$policy_rc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
    chmod 755 "$policy_rc"
    added_policy=1
  fi
  status=0
  # -o DPkg::Lock::Timeout: another package manager run (a parallel set-up) may hold dpkg's lock.
  { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing_db[@]}"; } >"$CACHE/apt-databases.log" 2>&1 || status=$?
  if [ -n "$added_policy" ]; then rm -f "$policy_rc"; fi
  if [ "$status" -ne 0 ]; then
    cat "$CACHE/apt-databases.log" >&2
    echo "error: could not install ${missing_db[*]} (log above, also in $CACHE/apt-databases.log)" >&2
    exit 1
  fi
  note "installed ${missing_db[*]}"
fi

step "Prisma client of the Databases function (fixtures/app/functions/databases/generated/prisma)"
# Prisma 7's client without the query engine binary: TypeScript, the query compiler as
# WebAssembly from @prisma/client, and the pg driver adapter. `prisma generate` needs no engine,
# but the CLI looks for the schema engine first and would download it: pointing it at a program
# that is never run skips that.
PRISMA_SCHEMA="$E2E_DIR/fixtures/app/functions/databases/schema.prisma"
PRISMA_OUT="$E2E_DIR/fixtures/app/functions/databases/generated/prisma"
PRISMA_STAMP_VALUE="$(cat "$PRISMA_SCHEMA" "$E2E_DIR/node_modules/prisma/package.json" | sha256sum | cut -c1-64)"
if [ -f "$PRISMA_OUT/.stamp" ] && [ "$(cat "$PRISMA_OUT/.stamp")" = "$PRISMA_STAMP_VALUE" ]; then
  note "up to date"
else
  rm -rf "$PRISMA_OUT"
  if (cd "$E2E_DIR" && PRISMA_SCHEMA_ENGINE_BINARY=/bin/false CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1 \
      ./node_modules/.bin/prisma generate --schema "$PRISMA_SCHEMA") >"$CACHE/prisma-generate.log" 2>&1; then
    echo "$PRISMA_STAMP_VALUE" >"$PRISMA_OUT/.stamp"
    note "generated"
  else
    cat "$CACHE/prisma-generate.log" >&2
    echo "error: prisma generate failed (log above, also in $CACHE/prisma-generate.log)" >&2
    exit 1
  fi
fi

step "Official runtime interface emulator (aws-lambda-rie)"
RIE_SOURCE="$E2E_DIR/../../shared/third_party/aws-lambda-runtime-interface-emulator"
RIE_BIN="$CACHE/bin/aws-lambda-rie"
RIE_STAMP="$CACHE/bin/aws-lambda-rie.source"
if [ ! -d "$RIE_SOURCE" ]; then
  note "skipped: $RIE_SOURCE is absent; the aws-lambda-rie scenarios will be skipped"
elif [ -x "$RIE_BIN" ] && [ -f "$RIE_STAMP" ] && cmp -s "$RIE_SOURCE/SOURCE" "$RIE_STAMP"; then
  note "present, built from $(cat "$RIE_STAMP")"
elif ! command -v go >/dev/null 2>&1; then
  echo "error: building aws-lambda-rie from $RIE_SOURCE needs Go on the PATH" >&2
  exit 1
else
  # The source folder may be read-only: build from a copy.
  rm -rf "$CACHE/rie-src"
  cp -R "$RIE_SOURCE" "$CACHE/rie-src"
  chmod -R u+w "$CACHE/rie-src"
  mkdir -p "$CACHE/bin"
  if (cd "$CACHE/rie-src" && CGO_ENABLED=0 go build -o "$RIE_BIN" ./cmd/aws-lambda-rie) >"$CACHE/rie.log" 2>&1; then
    cp "$RIE_SOURCE/SOURCE" "$RIE_STAMP"
    note "built $RIE_BIN from $(cat "$RIE_STAMP")"
  else
    cat "$CACHE/rie.log" >&2
    echo "error: could not build aws-lambda-rie from $RIE_SOURCE (log above, also in $CACHE/rie.log)" >&2
    exit 1
  fi
fi

step "OpenTelemetry Python SDK for the Python function of the Aspect app (e2e/.cache/python-otel)"
# Installed with the Python 3.13 the emulator's set-up found, as `pip install --target` packages a
# Python function; without it, the Python scenario is skipped.
PY_OTEL="$CACHE/python-otel"
PY_OTEL_PACKAGES="opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2 opentelemetry-propagator-aws-xray==1.0.2 opentelemetry-sdk-extension-aws==2.1.0"
PY_LANG_FILE="$E2E_DIR/../tools/lambda-emulator/.cache/runtime-python3.13/.lang"
if [ -f "$PY_OTEL/.stamp" ] && [ "$(cat "$PY_OTEL/.stamp")" = "$PY_OTEL_PACKAGES" ]; then
  note "up to date"
elif [ ! -f "$PY_LANG_FILE" ]; then
  note "skipped: the emulator has no Python 3.13 runtime; the Python scenario will be skipped"
else
  rm -rf "$PY_OTEL"
  # shellcheck disable=SC2086
  if "$(cat "$PY_LANG_FILE")/bin/python3.13" -m pip install --quiet --disable-pip-version-check --target "$PY_OTEL" $PY_OTEL_PACKAGES >"$CACHE/python-otel.log" 2>&1; then
    echo "$PY_OTEL_PACKAGES" >"$PY_OTEL/.stamp"
    note "installed"
  else
    rm -rf "$PY_OTEL"
    note "not available: $(tail -1 "$CACHE/python-otel.log"); the Python scenario will be skipped"
  fi
fi

step "e2e set-up complete"
