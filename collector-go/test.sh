#!/usr/bin/env bash
# Vets and tests the collector with the build tags build.sh ships with.
#   ./test.sh            human-readable output
#   ./test.sh -json      go test -json output for CI tooling
# Tests run only against local stand-ins (httptest servers on 127.0.0.1);
# the AWS SDK gets dummy credentials and never contacts AWS or EC2 metadata.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
tags="$(tr -d '[:space:]' < build-tags)"

unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet -tags "$tags" ./...

if [[ "${1:-}" == "-json" ]]; then
  exec go test -tags "$tags" -count=1 "$@" ./...
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
go test -tags "$tags" -count=1 -v "$@" ./... > "$log" 2>&1 || status=$?
# Package results and anything that failed, then one summary line.
grep -E '^(ok|FAIL|---|panic:)|^\s+--- FAIL|_test\.go:[0-9]+:' "$log" | grep -v -- '--- PASS' || true
passed="$(grep -cE '^\s*--- PASS' "$log" || true)"
failed="$(grep -cE '^\s*--- FAIL' "$log" || true)"
echo "collector-go: ${passed} passed, ${failed} failed"
if [[ "$status" -ne 0 && "$failed" -eq 0 ]]; then
  cat "$log" >&2   # a build failure or panic outside a test
fi
exit "$status"
