#!/usr/bin/env bash
# Installs what the Lambda emulator needs, on a fresh Debian machine or again on one already set up
# (every step checks first). Run as root: the emulator uses mount and network namespaces.
#   - apt packages: socat (forwarders into each environment), iproute2, util-linux (unshare,
#     nsenter), and the toolchain aws-lambda-ric builds with (autoconf automake libtool make cmake g++)
#   - npm ci here (aws-lambda-ric, Node.js 22 and 24 from the npm packages node-linux-<arch>,
#     the AWS SDK clients, yaml)
#   - aws-lambda-ric's native addon, built once per Node.js major (the ABI differs): 3.x for
#     Node.js 22, 4.x for Node.js 24
#   - moto[server] in a virtualenv, the local X-Ray and DynamoDB
#   - when a Python 3.13 is installed: awslambdaric, the Python runtime interface client
# Everything goes under .cache/ and node_modules/ of this directory.
set -euo pipefail

TOOL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$TOOL_DIR/.cache"
MOTO_VERSION="5.2.5"
PY_RIC_VERSION="4.2.2"
ARCH="$(node -p "process.arch === 'arm64' ? 'arm64' : 'x64'")"
mkdir -p "$CACHE"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "tools/lambda-emulator/setup.sh must run as root: the emulator creates mount and network namespaces" >&2
  exit 1
fi

step "System packages"
declare -A PACKAGE_OF=(
  [socat]=socat [ip]=iproute2 [unshare]=util-linux [nsenter]=util-linux
  [autoconf]=autoconf [automake]=automake [libtoolize]=libtool [make]=make [cmake]=cmake [g++]=g++
  [python3]=python3 [rsvg-convert]=librsvg2-bin
)
missing=()
for cmd in "${!PACKAGE_OF[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$cmd]}")
done
# moto goes into a virtualenv, which needs ensurepip (Debian ships it in python3-venv).
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  note "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another package manager run (a parallel set-up) holds dpkg's lock for a while: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
else
  note "all present"
fi

step "npm packages of tools/lambda-emulator/"
stamp="$CACHE/npm.stamp"
if [ ! -f "$stamp" ] || [ "$TOOL_DIR/package-lock.json" -nt "$stamp" ] || [ ! -d "$TOOL_DIR/node_modules/aws-lambda-ric" ]; then
  # Scripts stay off: aws-lambda-ric is built below, once per Node.js major.
  npm ci --prefix "$TOOL_DIR" --ignore-scripts --no-audit --no-fund --loglevel=error
  touch "$stamp"
else
  note "up to date"
fi

# Node.js 24 runs on aws-lambda-ric 4.x, as Lambda's nodejs24.x runtime does (no callback
# handlers). Node.js 22 runs on aws-lambda-ric 3.x: 4.x refuses callback-style handlers on Node.js
# 22 (it is the Managed Instances client there), while Lambda's nodejs22.x runtime accepts them.
# Each native addon is built against the headers shipped in the Node.js package (include/node).
build_ric() {
  local major="$1" package="$2"
  local pkg_dir="$TOOL_DIR/node_modules/$package"
  local version node_dir node_version out want build
  version="$(node -p "require('$pkg_dir/package.json').version")"
  node_dir="$TOOL_DIR/node_modules/node-$major-linux-$ARCH"
  node_version="$("$node_dir/bin/node" --version)"
  out="$CACHE/runtime-node$major"
  want="aws-lambda-ric $version, Node.js $node_version"
  if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$want" ]; then
    note "$want: up to date"
    return
  fi
  note "$want: building curl and aws-lambda-cpp, then the addon (a few minutes the first time)"
  build="$CACHE/ric-build-$major"
  rm -rf "$build" "$out"
  cp -r "$pkg_dir" "$build"
  (cd "$build" && sh scripts/preinstall.sh >"$CACHE/ric-$major-deps.log" 2>&1) || {
    echo "building the dependencies of aws-lambda-ric $version failed; the log follows" >&2
    tail -40 "$CACHE/ric-$major-deps.log" >&2
    exit 1
  }
  mkdir -p "$out"
  if [ "${version%%.*}" -ge 4 ]; then
    (cd "$build" && PATH="$node_dir/bin:$PATH" DEPS_PREFIX="$build/deps/artifacts" \
      "$node_dir/bin/node" "$TOOL_DIR/node_modules/node-gyp/bin/node-gyp.js" rebuild \
      --directory=src/native --nodedir="$node_dir" >"$CACHE/ric-$major-gyp.log" 2>&1) || gyp_failed "$major"
    cp "$build/index.mjs" "$build/package.json" "$build/src/native/build/Release/rapid-client.node" "$out/"
  else
    (cd "$build" && PATH="$node_dir/bin:$PATH" \
      "$node_dir/bin/node" "$TOOL_DIR/node_modules/node-gyp/bin/node-gyp.js" rebuild \
      --nodedir="$node_dir" >"$CACHE/ric-$major-gyp.log" 2>&1) || gyp_failed "$major"
    cp -r "$build/dist" "$out/dist"
    cp "$build/build/Release/rapid-client.node" "$out/dist/"
    cp "$TOOL_DIR/src/emulator/runtime-hooks/ric3-bootstrap.mjs" "$out/index.mjs"
  fi
  # What the runtime provides to handlers, as Lambda's /var/runtime/node_modules does (the AWS SDK).
  ln -sfn "$TOOL_DIR/node_modules" "$out/node_modules"
  rm -rf "$build"
  echo "$want" >"$out/.stamp"
}
gyp_failed() {
  echo "node-gyp build of aws-lambda-ric for Node.js $1 failed; the log follows" >&2
  tail -40 "$CACHE/ric-$1-gyp.log" >&2
  exit 1
}

step "aws-lambda-ric native addons for Node.js 22 and 24"
build_ric 22 aws-lambda-ric-3
build_ric 24 aws-lambda-ric

step "moto[server] $MOTO_VERSION"
VENV="$CACHE/moto-venv"
if [ -x "$VENV/bin/moto_server" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" = "$MOTO_VERSION" ]; then
  note "up to date"
else
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

step "Python 3.13 runtime (awslambdaric $PY_RIC_VERSION), when a Python 3.13 is installed"
# Lambda's python3.13 runtime: the interpreter at /var/lang (this machine's Python 3.13, mounted
# there) and the runtime interface client at /var/runtime (awslambdaric from PyPI, which ships
# prebuilt wheels). Optional: without a Python 3.13, Python functions cannot run here.
PY_RUNTIME="$CACHE/runtime-python3.13"
find_python313() {
  local candidate
  for candidate in "$(command -v python3.13 2>/dev/null || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
if [ -f "$PY_RUNTIME/.stamp" ] && [ "$(cat "$PY_RUNTIME/.stamp")" = "$PY_RIC_VERSION" ]; then
  note "up to date"
elif ! PY313="$(find_python313)"; then
  note "skipped: no Python 3.13 found; Python functions will not run in the emulator"
else
  rm -rf "$PY_RUNTIME"
  if "$PY313" -m pip install --quiet --disable-pip-version-check --target "$PY_RUNTIME" "awslambdaric==$PY_RIC_VERSION" >"$CACHE/ric-python.log" 2>&1; then
    "$PY313" -c 'import sys; print(sys.base_prefix)' >"$PY_RUNTIME/.lang"
    echo "$PY_RIC_VERSION" >"$PY_RUNTIME/.stamp"
    note "awslambdaric $PY_RIC_VERSION for $PY313"
  else
    rm -rf "$PY_RUNTIME"
    note "skipped: pip could not install awslambdaric ($(tail -1 "$CACHE/ric-python.log")); Python functions will not run in the emulator"
  fi
fi

step "Set-up complete"
