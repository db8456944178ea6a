#!/usr/bin/env bash
# Measures what each built-in component adds to the stripped linux binary:
# builds the collector once complete and once without each component (in a
# temporary copy of the sources), with the exact flags of build.sh.
#   GOARCH=amd64 ./size-report.sh
set -euo pipefail
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# variant name | package names whose lines (import and table row) are removed
# from components.go | files of internal/components removed with them
variants=(
  "awsxray exporter|awsxrayexporter|awsxray.go"
  "otlphttp exporter|otlphttpexporter|"
  "debug exporter|debugexporter|"
  "sigv4auth extension|sigv4authextension|"
  "awsxray + sigv4auth|awsxrayexporter sigv4authextension|awsxray.go"
)
tags="$(tr -d '[:space:]' < "$src_dir/build-tags")"

build() { # <dir> -> size in bytes
  (cd "$1" && GOOS=linux CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local go build \
    -tags "$tags" -trimpath -buildvcs=false -gcflags=all=-l \
    -ldflags="-s -w -buildid=" -o "$1/bin" . >/dev/null)
  wc -c < "$1/bin"
}

cp -r "$src_dir" "$work/full"
full=$(build "$work/full")
printf '%-30s %10s\n' "build" "bytes"
printf '%-30s %10d\n' "complete" "$full"
for v in "${variants[@]}"; do
  IFS='|' read -r name packages files <<< "$v"
  dir="$work/without"
  rm -rf "$dir" && cp -r "$src_dir" "$dir"
  for p in $packages; do sed -i "/$p/d" "$dir/internal/components/components.go"; done
  for f in $files; do rm "$dir/internal/components/$f"; done
  size=$(build "$dir")
  printf '%-30s %10d  (adds %d bytes)\n' "without $name" "$size" $((full - size))
done
