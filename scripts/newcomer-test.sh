#!/usr/bin/env bash
# Newcomer test: pack the library, install the tarball into a brand-new CDK app outside the
# repository, synthesize two traced functions (x86_64 and arm64), and check the assets hold
# both collector executables and the preload. Prints one "ok"/"not ok" line per check and a
# closing "N passed, N failed".
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/otel-xray-newcomer.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # check "description" command...
  local what=$1; shift
  if "$@" >>"$work/checks.log" 2>&1; then echo "ok - $what"; passed=$((passed + 1)); else echo "not ok - $what"; failed=$((failed + 1)); fi
}

cdk_lib=$(node -p "require('$repo/package.json').devDependencies['aws-cdk-lib']")
constructs=$(node -p "require('$repo/package.json').devDependencies['constructs']")
cdk_cli=$(node -p "require('$repo/package.json').devDependencies['aws-cdk']")

echo "# packing $(node -p "require('$repo/package.json').name") from $repo"
(cd "$repo" && npm pack --silent --pack-destination "$work" >"$work/pack.log" 2>&1) || { cat "$work/pack.log"; echo "0 passed, 1 failed"; exit 1; }
tarball=$(ls "$work"/*.tgz)
check "the tarball ships the compiled library, the preload layer and the collector source" \
  bash -c "tar -tzf '$tarball' | grep -q 'package/lib/index.js' && tar -tzf '$tarball' | grep -q 'package/assets/preload-layer/nodejs/otel-preload/init.mjs' && tar -tzf '$tarball' | grep -q 'package/collector-go/build.sh' && ! tar -tzf '$tarball' | grep -q '_test.go'"

app="$work/app"
mkdir -p "$app/src"
cd "$app"
cat > package.json <<JSON
{ "name": "newcomer-app", "version": "1.0.0", "private": true }
JSON
cat > cdk.json <<'JSON'
{ "app": "node app.js" }
JSON
cat > src/api.mjs <<'JS'
export const handler = async () => ({ statusCode: 200, body: 'hello' });
JS
cat > app.js <<'JS'
const { App, Stack } = require('aws-cdk-lib');
const { Architecture } = require('aws-cdk-lib/aws-lambda');
const { OtelTracedFunction } = require('cdk-lambda-otel-xray');

const app = new App();
const stack = new Stack(app, 'NewcomerStack');
new OtelTracedFunction(stack, 'Api', { entry: 'src/api.mjs' });
new OtelTracedFunction(stack, 'ApiArm', { entry: 'src/api.mjs', architecture: Architecture.ARM_64 });
app.synth();
JS
echo "# installing the tarball into a new CDK app at $app"
if ! npm install --no-audit --no-fund "$tarball" "aws-cdk-lib@$cdk_lib" "constructs@$constructs" "aws-cdk@$cdk_cli" >"$work/install.log" 2>&1; then
  cat "$work/install.log"; echo "not ok - npm install of the tarball"; echo "$passed passed, $((failed + 1)) failed"; exit 1
fi
check "npm install puts esbuild where NodejsFunction finds it (no Docker fallback)" test -x node_modules/.bin/esbuild

echo "# cdk synth"
if CDK_DISABLE_CLI_TELEMETRY=true npx cdk synth --quiet --no-notices >"$work/synth.log" 2>&1; then
  echo "ok - cdk synth of two traced functions"; passed=$((passed + 1))
else
  cat "$work/synth.log"; echo "not ok - cdk synth of two traced functions"; failed=$((failed + 1))
fi
check "synth did not use Docker" bash -c "! grep -qi 'docker' '$work/synth.log'"

elf_machine() { # prints the ELF e_machine of a file as hex
  od -An -tx2 -j18 -N2 "$1" | tr -d ' '
}
found_amd64=""; found_arm64=""; found_preload=""
for dir in cdk.out/asset.*/; do
  bin="$dir/extensions/otel-xray-collector"
  if [ -x "$bin" ]; then
    case "$(elf_machine "$bin")" in
      003e) found_amd64=$bin ;;
      00b7) found_arm64=$bin ;;
    esac
  fi
  [ -f "$dir/nodejs/otel-preload/init.mjs" ] && found_preload=$dir
done
check "an asset holds the x86_64 collector executable" test -n "$found_amd64"
check "an asset holds the arm64 collector executable" test -n "$found_arm64"
check "an asset holds the preload" test -n "$found_preload"
check "both functions load the preload and carry both layers" node -e "
  const t = require('./cdk.out/NewcomerStack.template.json');
  const fns = Object.values(t.Resources).filter(r => r.Type === 'AWS::Lambda::Function');
  if (fns.length !== 2) throw new Error('expected 2 functions, got ' + fns.length);
  for (const f of fns) {
    if (f.Properties.Layers.length !== 2) throw new Error('expected 2 layers');
    if (!f.Properties.Environment.Variables.NODE_OPTIONS.includes('--import /opt/nodejs/otel-preload/init.mjs')) throw new Error('no preload');
  }"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
