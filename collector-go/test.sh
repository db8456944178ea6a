#!/usr/bin/env bash
# Vets and tests the collector with the build tags build.sh ships with.
#   ./test.sh            human-readable output
#   ./test.sh -json      go test -json output for CI tooling
# Tests run only against local stand-ins (httptest servers on 127.0.0.1);
# the AWS SDK gets dummy credentials and never contacts AWS or EC2 metadata.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
tags="grpcnotrace,nethttpomithttp2"

unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet -tags "$tags" ./...
go test -tags "$tags" -count=1 "$@" ./...
