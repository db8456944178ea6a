#!/usr/bin/env bash
# cfn-lint (PyPI, pinned) over the integ snapshots' templates and over edge-case stacks
# synthesized from test/fixtures/edge-case-stacks/app.ts: one check per template, failed on
# any cfn-lint error (warnings are listed, not counted). Stacks named Control* must be refused:
# they show the linter catches what it is here to catch. Last line: "N passed, N failed".
# Needs python3 (>= 3.9, with venv); cfn-lint lives in .cache/cfn-lint-venv.
set -uo pipefail

CFN_LINT_VERSION=1.58.0
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
venv="$repo/.cache/cfn-lint-venv"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

if [ "$("$venv/bin/cfn-lint" --version 2>/dev/null)" != "cfn-lint $CFN_LINT_VERSION" ]; then
  if ! { python3 -m venv "$venv" && "$venv/bin/python" -m pip install --quiet "cfn-lint==$CFN_LINT_VERSION"; } >/tmp/cfn-lint-install.$$.log 2>&1; then
    cat /tmp/cfn-lint-install.$$.log
    not_ok "pip installs cfn-lint==$CFN_LINT_VERSION into $venv"
    finish
  fi
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/edge-case-stacks.XXXXXX")
trap 'rm -rf "$out"' EXIT
# --prefer-ts-exts: the library's sources, not a stale compiled lib/*.js.
if ! npx ts-node --prefer-ts-exts -P test/tsconfig.json test/fixtures/edge-case-stacks/app.ts "$out/cdk.out" >"$out/synth.log" 2>&1; then
  grep -v 'logRetention\|use `logGroup`\|next major release' "$out/synth.log"
  not_ok "the edge-case stacks synthesize (test/fixtures/edge-case-stacks/app.ts)"
  finish
fi
mapfile -t stacks < <(sed -n 's/^stack //p' "$out/synth.log")

lint() { # lint NAME TEMPLATE EXPECT(clean|refused)
  local name=$1 template=$2 expect=$3 report errors warnings
  report=$("$venv/bin/cfn-lint" --format parseable -- "$template" 2>&1)
  errors=$(printf '%s\n' "$report" | grep -E '^[^:]+:[0-9]+:[0-9]+:[0-9]+:[0-9]+:E[0-9]+:' || true)
  warnings=$(printf '%s\n' "$report" | grep -cE '^[^:]+:[0-9]+:[0-9]+:[0-9]+:[0-9]+:W[0-9]+:' || true)
  if printf '%s\n' "$report" | grep -qE '^(Traceback|usage:)'; then
    printf '%s\n' "$report"
    not_ok "$name: cfn-lint ran"
  elif [ "$expect" = clean ] && [ -z "$errors" ]; then
    ok "$name: no cfn-lint error ($warnings warnings)"
  elif [ "$expect" = refused ] && [ -n "$errors" ]; then
    ok "$name: refused by cfn-lint, as it must be ($(printf '%s\n' "$errors" | sed -E 's/^([^:]+:){5}([A-Z][0-9]+):.*/\2/' | sort -u | paste -sd' '))"
  elif [ "$expect" = clean ]; then
    printf '%s\n' "$errors"
    not_ok "$name: cfn-lint errors"
  else
    not_ok "$name: cfn-lint found no error in a template it must refuse"
  fi
}

for template in integ/*.snapshot/*.template.json; do
  lint "integ ${template#integ/}" "$template" clean
done
for stack in "${stacks[@]}"; do
  case "$stack" in
    Control*) lint "edge case $stack" "$out/cdk.out/$stack.template.json" refused ;;
    *) lint "edge case $stack" "$out/cdk.out/$stack.template.json" clean ;;
  esac
done
finish
