#!/usr/bin/env bash
# The library as a Python user gets it: the wheel jsii-pacmak builds from the compiled library,
# installed in a fresh virtualenv with aws-cdk-lib from PyPI (the oldest supported release, the
# devDependency pin of package.json), and a Python CDK app with two OtelTracedFunctions
# synthesized by `python app.py` (no cdk CLI).
#
# Checked: the wheel and what it ships; synth with esbuild on the PATH and neither Go nor Docker
# (both are replaced by stubs that record any call); synth without esbuild fails with an error
# that says how to install it and never tries Docker; with bundling skipped for every stack
# (`aws:cdk:bundling-stacks` = [], as in unit tests) synth needs no esbuild.
#
# Needs Node.js, npm, and python3 (>= 3.10, with venv). jsii-pacmak makes its own virtualenv
# and pip-installs its build tools there (setuptools, build, twine, packaging: its
# requirements-dev.txt); nothing is installed outside the temporary directory except pip's and
# npm's download caches (PIP_CACHE_DIR, npm's cache).
#
# Prints one `ok - ...` / `not ok - ...` line per check and ends with `N passed, N failed`.
# KEEP_WORK=1 keeps the temporary directory (its path is printed).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/python-app-test.XXXXXX")
LOGS="$WORK/logs"
mkdir -p "$LOGS"
cleanup() {
  if [ -n "${KEEP_WORK:-}" ]; then
    echo "# kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
export PIP_QUIET=1
unset NODE_PATH PYTHONPATH VIRTUAL_ENV

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
  failed=$((failed + 1))
  echo "not ok - $1"
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    grep -v -e '^!!' -e "^b'!!" "$2" | tail -n "${3:-25}" | sed 's/^/#   /'
  fi
}
# check NAME LOG COMMAND...: one check whose output goes to LOG (its tail is shown on failure).
check() {
  local name=$1 log=$2
  shift 2
  if "$@" >"$log" 2>&1; then ok "$name"; else not_ok "$name" "$log"; fi
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
# Stop here: what follows needs what just failed.
give_up() {
  not_ok "$1" "${2:-}"
  finish
}
elapsed() { echo "$(($(date +%s) - $1))s"; }

# --- versions, read from package.json ----------------------------------------------------------
pkg() { node -p "require('./package.json').$1 ?? ''"; }
CDK_VERSION=$(pkg "devDependencies['aws-cdk-lib']")
CONSTRUCTS_VERSION=$(pkg "devDependencies['constructs']")
ESBUILD_VERSION=$(pkg "optionalDependencies['esbuild']")
if [ -z "$CDK_VERSION" ] || [ -z "$CONSTRUCTS_VERSION" ] || [ -z "$ESBUILD_VERSION" ]; then
  give_up "package.json pins aws-cdk-lib and constructs (devDependencies) and esbuild (optionalDependencies)"
fi
echo "# aws-cdk-lib $CDK_VERSION, constructs $CONSTRUCTS_VERSION, esbuild $ESBUILD_VERSION; work dir $WORK"

if ! python3 -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >"$LOGS/python.log" 2>&1; then
  python3 --version >>"$LOGS/python.log" 2>&1
  give_up "python3 >= 3.10 with venv and ensurepip is on the PATH" "$LOGS/python.log"
fi

# --- the compiled library and its assets, built when missing or stale -------------------------
newer_than_jsii=$(find lib -name '*.ts' ! -name '*.d.ts' -newer .jsii 2>/dev/null | head -n 1)
if [ ! -f .jsii ] || [ -n "$newer_than_jsii" ] || [ README.md -nt .jsii ] || [ package.json -nt .jsii ]; then
  check "library compiled (npx projen compile)" "$LOGS/compile.log" npx projen compile
else
  ok "library compiled (.jsii newer than lib/*.ts, README.md and package.json)"
fi
if [ ! -f assets/preload-layer/nodejs/otel-preload/init.mjs ]; then
  check "preload layer built (npx projen build:preload)" "$LOGS/build-preload.log" npx projen build:preload
fi
if [ ! -f assets/collector-layer/manifest.json ]; then
  check "prebuilt collector built (npx projen build:collector)" "$LOGS/build-collector.log" npx projen build:collector
fi

# --- the wheel -------------------------------------------------------------------------------------
start=$(date +%s)
if ! npx jsii-pacmak --target python --outdir "$WORK/dist" --no-npmignore >"$LOGS/pacmak.log" 2>&1; then
  give_up "jsii-pacmak --target python builds the wheel" "$LOGS/pacmak.log"
fi
WHEEL=$(ls "$WORK"/dist/python/*.whl 2>/dev/null | head -n 1)
if [ -z "$WHEEL" ]; then
  give_up "jsii-pacmak --target python builds the wheel (no .whl in $WORK/dist/python)" "$LOGS/pacmak.log"
fi
ok "jsii-pacmak --target python builds $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB, $(elapsed "$start"))"

# What the wheel declares and ships: its requirements, and the npm tarball it embeds.
cat >"$WORK/inspect_wheel.py" <<'PY'
import io, re, sys, tarfile, zipfile

wheel, cdk_version = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(wheel)
metadata = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
requires = [l.split(":", 1)[1].strip() for l in metadata.splitlines() if l.startswith("Requires-Dist:")]
cdk = next((r for r in requires if re.match(r"aws-cdk-lib\b", r)), None)
ok = cdk is not None and f">={cdk_version}" in cdk.replace(" ", "") and "<3.0.0" in cdk.replace(" ", "")
print(("ok" if ok else "not ok") + f" - the wheel requires aws-cdk-lib >= {cdk_version}, < 3 (declares: {cdk})")

tgz = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
names = set(tarfile.open(fileobj=io.BytesIO(z.read(tgz))).getnames())
for path in [
    "package/assets/preload-layer/nodejs/otel-preload/init.mjs",
    "package/assets/collector-layer/manifest.json",
    "package/assets/collector-layer/x86_64/extensions/otel-xray-collector",
    "package/assets/collector-layer/arm64/extensions/otel-xray-collector",
    "package/collector-go/build.sh",
]:
    print(("ok" if path in names else "not ok") + f" - the wheel's npm tarball ships {path[len('package/'):]}")
PY
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
  esac
done < <(python3 "$WORK/inspect_wheel.py" "$WHEEL" "$CDK_VERSION" 2>"$LOGS/inspect-wheel.log" || echo "not ok - the wheel can be inspected")
[ -s "$LOGS/inspect-wheel.log" ] && sed 's/^/#   /' "$LOGS/inspect-wheel.log"

# --- a user's virtualenv -------------------------------------------------------------------------
start=$(date +%s)
VENV="$WORK/venv"
if ! { python3 -m venv "$VENV" &&
  "$VENV/bin/python" -m pip install "$WHEEL" "aws-cdk-lib==$CDK_VERSION" "constructs==$CONSTRUCTS_VERSION"; } >"$LOGS/pip.log" 2>&1; then
  give_up "pip installs the wheel with aws-cdk-lib==$CDK_VERSION and constructs==$CONSTRUCTS_VERSION into a fresh virtualenv" "$LOGS/pip.log"
fi
ok "pip installs the wheel with aws-cdk-lib==$CDK_VERSION and constructs==$CONSTRUCTS_VERSION into a fresh virtualenv ($(elapsed "$start"))"

# --- esbuild, in a prefix of its own ---------------------------------------------------------------
ESBUILD_PREFIX="$WORK/esbuild"
if ! npm install --prefix "$ESBUILD_PREFIX" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
  "esbuild@$ESBUILD_VERSION" >"$LOGS/esbuild.log" 2>&1; then
  give_up "npm installs esbuild@$ESBUILD_VERSION" "$LOGS/esbuild.log"
fi
ESBUILD_BIN="$ESBUILD_PREFIX/node_modules/.bin"
found_esbuild=$("$ESBUILD_BIN/esbuild" --version 2>>"$LOGS/esbuild.log")
if [ "$found_esbuild" = "$ESBUILD_VERSION" ]; then
  ok "esbuild $ESBUILD_VERSION installed in $ESBUILD_PREFIX"
else
  give_up "esbuild $ESBUILD_VERSION installed (got '$found_esbuild')" "$LOGS/esbuild.log"
fi

# --- PATHs: stubs for go and docker, with and without esbuild -----------------------------------
STUBS="$WORK/stubs"
TOOL_CALLS="$WORK/tool-calls.log"
mkdir -p "$STUBS"
: >"$TOOL_CALLS"
for tool in go docker; do
  cat >"$STUBS/$tool" <<SH
#!/bin/sh
echo "$tool \$*" >>"$TOOL_CALLS"
echo "$tool: not available in this test" >&2
exit 127
SH
  chmod +x "$STUBS/$tool"
done
# node stays reachable when its directory is dropped below for holding an esbuild.
ln -s "$(readlink -f "$(command -v node)")" "$STUBS/node"
# The PATH without any directory holding an esbuild.
BASE_PATH=""
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [ -n "$dir" ] && [ ! -x "$dir/esbuild" ] && BASE_PATH="${BASE_PATH:+$BASE_PATH:}$dir"
done
PATH_WITH_ESBUILD="$VENV/bin:$STUBS:$ESBUILD_BIN:$BASE_PATH"
PATH_WITHOUT_ESBUILD="$VENV/bin:$STUBS:$BASE_PATH"
if PATH="$PATH_WITHOUT_ESBUILD" command -v esbuild >/dev/null 2>&1; then
  give_up "no esbuild on the PATH of the no-esbuild cases"
fi

# --- the app ---------------------------------------------------------------------------------------
APP="$WORK/app"
mkdir -p "$APP/handler"
cat >"$APP/handler/index.mjs" <<'JS'
export const handler = async () => ({ statusCode: 200, body: 'traced' });
JS
# NodejsFunction bundles from the directory of a lock file.
echo '{ "name": "python-app", "version": "0.0.0", "private": true }' >"$APP/package.json"
echo '{ "name": "python-app", "version": "0.0.0", "lockfileVersion": 3, "requires": true, "packages": { "": { "name": "python-app", "version": "0.0.0" } } }' >"$APP/package-lock.json"
cat >"$APP/app.py" <<'PY'
import os
import sys

from aws_cdk import App, Stack
from aws_cdk.aws_lambda import Architecture
from cdk_lambda_otel_xray import OtelTracedFunction

here = os.path.dirname(os.path.abspath(__file__))
context = {"aws:cdk:bundling-stacks": []} if os.environ.get("SKIP_BUNDLING") == "1" else {}
app = App(outdir=sys.argv[1], context=context)
stack = Stack(app, "PythonOtelApp")
for name, architecture in (("ApiX86", Architecture.X86_64), ("ApiArm", Architecture.ARM_64)):
    OtelTracedFunction(
        stack,
        name,
        entry=os.path.join(here, "handler", "index.mjs"),
        architecture=architecture,
        deps_lock_file_path=os.path.join(here, "package-lock.json"),
    )
app.synth()
PY

cat >"$WORK/check_template.py" <<'PY'
"""Checks a synthesized PythonOtelApp; prints one `ok - ` / `not ok - ` line per check."""
import json, os, sys

outdir, mode, contract_file = sys.argv[1], sys.argv[2], sys.argv[3]  # mode: "bundled" or "skipped"
with open(contract_file) as f:
    PRELOAD = "--import " + json.load(f)["preload"]["importPath"]
ELF_MACHINE = {"x86_64": 0x3E, "arm64": 0xB7}


def report(ok, text):
    print(("ok" if ok else "not ok") + " - " + text)


template_file = os.path.join(outdir, "PythonOtelApp.template.json")
if not os.path.exists(template_file):
    report(False, f"{template_file} was written")
    sys.exit(0)
resources = json.load(open(template_file))["Resources"]
functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
report(len(functions) == 2, f"[{mode}] the template has two functions (found {len(functions)})")


# The staged asset of a function's Code or a layer's Content, from the asset manifest (the
# template's aws:asset:path metadata is only written when the cdk CLI asks for it).
assets = json.load(open(os.path.join(outdir, "PythonOtelApp.assets.json")))["files"]


def asset_dir(resource):
    props = resource["Properties"]
    key = (props.get("Code") or props.get("Content") or {}).get("S3Key", "")
    source = assets.get(key[:-len(".zip")] if key.endswith(".zip") else key, {}).get("source", {})
    return os.path.join(outdir, source["path"]) if "path" in source else None


for logical_id, fn in sorted(functions.items()):
    props = fn["Properties"]
    arch = (props.get("Architectures") or ["x86_64"])[0]
    layers = props.get("Layers", [])
    report(len(layers) == 2, f"[{mode}] {logical_id} ({arch}) has two layers (found {len(layers)})")
    node_options = props.get("Environment", {}).get("Variables", {}).get("NODE_OPTIONS", "")
    report(PRELOAD in node_options, f"[{mode}] {logical_id} NODE_OPTIONS contains `{PRELOAD}` (is `{node_options}`)")
    if mode != "bundled":
        continue
    code_dir = asset_dir(fn)
    report(code_dir is not None and os.path.isfile(os.path.join(code_dir, "index.js")),
           f"[{mode}] {logical_id}: the handler was bundled by esbuild (index.js in its asset)")
    collectors = [resources[l["Ref"]] for l in layers if isinstance(l, dict) and "Ref" in l
                  and resources.get(l["Ref"], {}).get("Type") == "AWS::Lambda::LayerVersion"
                  and "OpenTelemetry Collector" in resources[l["Ref"]]["Properties"].get("Description", "")]
    if len(collectors) != 1:
        report(False, f"[{mode}] {logical_id}: one collector layer among its layers (found {len(collectors)})")
        continue
    collector = collectors[0]
    compatible = collector["Properties"].get("CompatibleArchitectures")
    layer_dir = asset_dir(collector)
    binary = os.path.join(layer_dir or "", "extensions", "otel-xray-collector")
    machine = None
    if layer_dir and os.path.isfile(binary):
        with open(binary, "rb") as f:
            head = f.read(20)
        if head[:4] == b"\x7fELF":
            machine = int.from_bytes(head[18:20], "little")
    report(compatible == [arch] and machine == ELF_MACHINE.get(arch),
           f"[{mode}] {logical_id}: its collector layer is for {arch} and holds a {arch} ELF extensions/otel-xray-collector "
           f"(layer architectures {compatible}, ELF machine {hex(machine) if machine is not None else 'none'})")
    config = os.path.join(layer_dir or "", "collector-config", "config.yaml")
    report(os.path.isfile(config), f"[{mode}] {logical_id}: its collector layer holds collector-config/config.yaml")
PY

# synth NAME PATH SKIP OUTDIR LOG: runs the app; its exit status is synth's.
synth() {
  (cd "$APP" && env PATH="$2" SKIP_BUNDLING="$3" timeout 900 "$VENV/bin/python" app.py "$4") >"$5" 2>&1
}
# template_checks MODE OUTDIR: the checks of check_template.py, counted here.
template_checks() {
  local line
  while IFS= read -r line; do
    case "$line" in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) not_ok "${line#not ok - }" ;;
      *) echo "#   $line" ;;
    esac
  done < <("$VENV/bin/python" "$WORK/check_template.py" "$2" "$1" "$ROOT/contract/contract.json" 2>&1)
}
no_tool_calls() {
  if [ -s "$TOOL_CALLS" ]; then
    not_ok "$1: neither go nor docker was run" "$TOOL_CALLS"
  else
    ok "$1: neither go nor docker was run"
  fi
  : >"$TOOL_CALLS"
}

# 1. esbuild on the PATH, no Go, no Docker.
start=$(date +%s)
if synth bundled "$PATH_WITH_ESBUILD" 0 "$WORK/out-bundled" "$LOGS/synth-bundled.log"; then
  ok "python app.py synthesizes two OtelTracedFunctions (x86_64, arm64) with esbuild on the PATH, no Go, no Docker ($(elapsed "$start"))"
  template_checks bundled "$WORK/out-bundled"
else
  not_ok "python app.py synthesizes two OtelTracedFunctions (x86_64, arm64) with esbuild on the PATH, no Go, no Docker ($(elapsed "$start"))" "$LOGS/synth-bundled.log" 40
fi
no_tool_calls "synth with esbuild"

# 2. No esbuild: a clear error, and no attempt at Docker.
start=$(date +%s)
if synth no-esbuild "$PATH_WITHOUT_ESBUILD" 0 "$WORK/out-no-esbuild" "$LOGS/synth-no-esbuild.log"; then
  not_ok "without esbuild, synth fails ($(elapsed "$start"))" "$LOGS/synth-no-esbuild.log"
else
  ok "without esbuild, synth fails ($(elapsed "$start"))"
  if grep -q 'esbuild' "$LOGS/synth-no-esbuild.log" &&
    grep -Eq 'npm install (--global|-g) esbuild' "$LOGS/synth-no-esbuild.log" &&
    grep -q 'forceDockerBundling' "$LOGS/synth-no-esbuild.log"; then
    ok "the error names esbuild, how to install it (npm install --global esbuild...) and forceDockerBundling"
  else
    not_ok "the error names esbuild, how to install it (npm install --global esbuild...) and forceDockerBundling" "$LOGS/synth-no-esbuild.log"
  fi
  if grep -Eqi 'docker (run|build)' "$LOGS/synth-no-esbuild.log"; then
    not_ok "the error does not come from an attempted \`docker run\` / \`docker build\`" "$LOGS/synth-no-esbuild.log"
  else
    ok "the error does not come from an attempted \`docker run\` / \`docker build\`"
  fi
fi
no_tool_calls "synth without esbuild"

# 3. Bundling skipped for every stack, as in unit tests: no esbuild needed.
start=$(date +%s)
if synth skipped "$PATH_WITHOUT_ESBUILD" 1 "$WORK/out-skipped" "$LOGS/synth-skipped.log"; then
  ok "with context aws:cdk:bundling-stacks = [], synth succeeds without esbuild ($(elapsed "$start"))"
  template_checks skipped "$WORK/out-skipped"
else
  not_ok "with context aws:cdk:bundling-stacks = [], synth succeeds without esbuild ($(elapsed "$start"))" "$LOGS/synth-skipped.log" 40
fi
no_tool_calls "synth with bundling skipped"

finish
