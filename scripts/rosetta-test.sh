#!/usr/bin/env bash
# Every TypeScript snippet of the README and of the doc comments (`@example`) compiles:
# `jsii-rosetta extract --strict` on the compiled assembly (.jsii), with the fixtures in
# rosetta/ (`default.ts-fixture` for fragments, `stack.ts-fixture` for ```ts fixture=stack
# snippets that bring their own imports, ```ts nofixture for whole programs).
# The same translations give the Python, Java, C# and Go READMEs their examples.
#
# Prints one `ok - ...` / `not ok - ...` line per snippet and ends with `N passed, N failed`.
# Writes .jsii.tabl.json (rosetta's tablet beside the assembly, which jsii-pacmak reads).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rosetta-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
  failed=$((failed + 1))
  echo "not ok - $1"
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    grep -v -e '^!!' -e "^b'!!" "$2" | tail -n 30 | sed 's/^/#   /'
  fi
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# The README is copied into the assembly at compile time: compile when it is stale.
newer_than_jsii=$(find lib -name '*.ts' ! -name '*.d.ts' -newer .jsii 2>/dev/null | head -n 1)
if [ ! -f .jsii ] || [ -n "$newer_than_jsii" ] || [ README.md -nt .jsii ]; then
  if ! npx projen compile >"$WORK/compile.log" 2>&1; then
    not_ok "library compiled (npx projen compile)" "$WORK/compile.log"
    finish
  fi
fi

# A fresh tablet: an old one would let rosetta reuse earlier results instead of compiling.
rm -f .jsii.tabl.json .jsii.tabl.json.gz
if npx jsii-rosetta extract --strict --output "$WORK/tablet.json" .jsii >"$WORK/extract.log" 2>&1; then
  extract_status=0
else
  extract_status=$?
fi

# One check per snippet, from the tablet, with the compiler's errors for those that failed.
node - "$WORK/tablet.json" "$WORK/extract.log" README.md >"$WORK/checks.txt" 2>&1 <<'JS'
const fs = require('fs');
const [tabletFile, logFile, readmeFile] = process.argv.slice(2);
if (!fs.existsSync(tabletFile)) {
  console.log('not ok - jsii-rosetta wrote its tablet');
  process.exit(0);
}
const log = fs.readFileSync(logFile, 'utf-8').split('\n');
const snippets = Object.values(JSON.parse(fs.readFileSync(tabletFile, 'utf-8')).snippets);
const name = (location) => {
  const { api, field } = location;
  if (api.api === 'moduleReadme') return { label: `README.md snippet at line ${field.line}`, file: `README-L${field.line}.ts` };
  const member = api.memberName ? `#${api.memberName}` : '';
  return { label: `@example of ${api.fqn}${member}`, file: `${api.fqn}${member ? '-' + api.memberName : ''}-example.ts` };
};
const entries = snippets.map((s) => ({ ...name(s.location), s }))
  .sort((a, b) => (a.s.location.field?.line ?? 1e9) - (b.s.location.field?.line ?? 1e9) || a.label.localeCompare(b.label));
for (const { label, file, s } of entries) {
  if (s.didCompile) {
    console.log(`ok - ${label} compiles`);
  } else {
    console.log(`not ok - ${label} compiles`);
    for (const line of log.filter((l) => l.includes(file) && / error TS\d+/.test(l))) console.log(`#   ${line}`);
  }
}
// Rosetta finds every TypeScript block of the README.
const readme = fs.readFileSync(readmeFile, 'utf-8');
const blocks = (readme.match(/^```(ts|typescript)\b/gm) ?? []).length;
const found = snippets.filter((s) => s.location.api.api === 'moduleReadme').length;
console.log(`${found === blocks ? 'ok' : 'not ok'} - every TypeScript block of README.md was checked (${found} of ${blocks})`);
JS
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "$line" ;;
  esac
done <"$WORK/checks.txt"

# Strict mode fails on any snippet that does not compile, and on a missing fixture.
if [ "$extract_status" -eq 0 ]; then
  ok "jsii-rosetta extract --strict succeeds"
else
  not_ok "jsii-rosetta extract --strict succeeds (exit status $extract_status)" "$WORK/extract.log"
fi

finish
