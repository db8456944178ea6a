#!/usr/bin/env bash
# Builds the otel-xray-collector Lambda extension layer content.
#
#   GOARCH=amd64|arm64 ./build.sh <out-dir>
#
# writes
#   <out-dir>/extensions/otel-xray-collector   static, stripped linux ELF
#   <out-dir>/collector-config/config.yaml     default collector configuration
#
# The same command serves a local Go toolchain and the CDK Docker bundling
# path (golang image, source mounted read-only at /asset-input): nothing is
# written next to the sources. Builds are reproducible: the same sources and
# Go version give identical bytes (-trimpath, -buildvcs=false, no build ID,
# no timestamps, no cgo).
set -euo pipefail

out_dir="${1:-}"
if [[ -z "$out_dir" ]]; then
  echo "usage: GOARCH=amd64|arm64 $0 <out-dir>" >&2
  exit 2
fi
src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export GOOS=linux
export GOARCH="${GOARCH:-amd64}"
case "$GOARCH" in
  amd64|arm64) ;;
  *) echo "GOARCH=$GOARCH is not supported: use amd64 (x86_64 functions) or arm64 (arm64 functions)" >&2; exit 2 ;;
esac
export CGO_ENABLED=0
# Never touch go.mod/go.sum: the source may be mounted read-only.
export GOFLAGS=-mod=readonly
# Use the toolchain that runs this script; never download another one.
export GOTOOLCHAIN=local

required="$(awk '$1 == "go" { print $2; exit }' "$src_dir/go.mod")"
have="$(go env GOVERSION | sed 's/^go//')"
if [[ "$(printf '%s\n%s\n' "$required" "$have" | sort -V | head -n1)" != "$required" ]]; then
  echo "Go $have is too old: go.mod requires Go $required (use the golang:${required%.*} image or install Go $required)" >&2
  exit 1
fi

# Size: grpcnotrace drops golang.org/x/net/trace (and with it html/template,
# whose reflection disables the linker's dead method elimination);
# nethttpomithttp2 drops net/http's bundled HTTP/2 (the X-Ray client configures
# golang.org/x/net/http2 itself); -l (no inlining) trims code the collector's
# few requests per invoke never miss. See README.md "Size". The tags are in
# build-tags, which test.sh, size-report.sh and the tests read too.
tags="$(tr -d '[:space:]' < "$src_dir/build-tags")"
mkdir -p "$out_dir/extensions" "$out_dir/collector-config"
binary="$out_dir/extensions/otel-xray-collector"

(cd "$src_dir" && go build \
  -tags "$tags" \
  -trimpath \
  -buildvcs=false \
  -gcflags=all=-l \
  -ldflags="-s -w -buildid=" \
  -o "$binary" \
  .)
cp "$src_dir/config/config.yaml" "$out_dir/collector-config/config.yaml"
chmod 0755 "$binary"
chmod 0644 "$out_dir/collector-config/config.yaml"

size=$(wc -c < "$binary")
echo "otel-xray-collector linux/$GOARCH: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f MB", s / 1000000 }'))"
