#!/usr/bin/env bash
# Measures what each built-in component adds to the stripped linux binary:
# builds the collector once complete and once without each component (in a
# temporary copy of the sources), with the exact flags of build.sh.
#   GOARCH=amd64 ./size-report.sh
set -euo pipefail
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# variant name | sed script that removes the component from components.go
variants=(
  "awsxray exporter|/awsxrayexporter\"/d;/awsxrayexporter.NewFactory()/d"
  "otlphttp exporter|/otlphttpexporter\"/d;/otlphttpexporter.NewFactory()/d"
  "debug exporter|/debugexporter\"/d;/debugexporter.NewFactory()/d"
  "sigv4auth extension|/sigv4authextension\"/d;s/byType(sigv4authextension.NewFactory())/byType[extension.Factory]()/"
  "awsxray + sigv4auth|/awsxrayexporter\"/d;/awsxrayexporter.NewFactory()/d;/sigv4authextension\"/d;s/byType(sigv4authextension.NewFactory())/byType[extension.Factory]()/"
)

build() { # <dir> -> size in bytes
  (cd "$1" && GOOS=linux CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local go build \
    -tags grpcnotrace,nethttpomithttp2 -trimpath -buildvcs=false -gcflags=all=-l \
    -ldflags="-s -w -buildid=" -o "$1/bin" . >/dev/null)
  wc -c < "$1/bin"
}

cp -r "$src_dir" "$work/full"
full=$(build "$work/full")
printf '%-30s %10s\n' "build" "bytes"
printf '%-30s %10d\n' "complete" "$full"
for v in "${variants[@]}"; do
  name="${v%%|*}"
  script="${v#*|}"
  dir="$work/without"
  rm -rf "$dir" && cp -r "$src_dir" "$dir"
  sed -i "$script" "$dir/internal/components/components.go"
  size=$(build "$dir")
  printf '%-30s %10d  (adds %d bytes)\n' "without $name" "$size" $((full - size))
done
