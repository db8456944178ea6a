#!/usr/bin/env bash
# The project's whole test command, from a fresh clone on a fresh machine: installs what the
# project needs, builds, and runs every suite. Each suite's log goes to .test-results/; the last
# line is the total "N passed, N failed".
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
results="$repo/.test-results"
rm -rf "$results"
mkdir -p "$results"

total_passed=0
total_failed=0
summary=()

add() { # add SUITE PASSED FAILED
  total_passed=$((total_passed + $2))
  total_failed=$((total_failed + $3))
  summary+=("$(printf '%-28s %4d passed, %4d failed' "$1" "$2" "$3")")
}

# Counts from a log of a suite whose runner prints TAP ("ok"/"not ok" or "# pass N"/"# fail N"),
# node's spec reporter ("ℹ pass N") or a plain "N passed, N failed" line.
count_log() { # count_log SUITE LOGFILE EXIT_STATUS
  local suite=$1 log=$2 status=$3 passed failed
  passed=$(grep -E '^(# |ℹ )pass [0-9]+' "$log" | awk '{s+=$NF} END {print s+0}')
  failed=$(grep -E '^(# |ℹ )fail [0-9]+' "$log" | awk '{s+=$NF} END {print s+0}')
  if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    local plain
    plain=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 | sed -E 's/^[A-Za-z0-9_-]+: //')
    if [ -n "$plain" ]; then
      passed=$(echo "$plain" | awk '{print $1}')
      failed=$(echo "$plain" | awk '{print $3}' | tr -d ',')
    fi
  fi
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # the suite broke before or after its tests: count it
  fi
  add "$suite" "$passed" "$failed"
}

run_suite() { # run_suite SUITE LOGNAME COMMAND...
  local suite=$1 log="$results/$2.log"; shift 2
  echo "::: $suite: $*"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  count_log "$suite" "$log" "$status"
}

step() { # step NAME COMMAND... ; set-up steps count as one failure if they break
  echo "::: $1"; shift
  if ! "$@" >"$results/setup.log" 2>&1; then
    cat "$results/setup.log"
    echo "set-up step failed: $*"
    add "set-up" 0 1
    return 1
  fi
}

# --- set-up (everything from the project's own files) ---
step "install the library's dependencies" npm ci --no-audit --no-fund || true
step "build: preload layer, jsii compile, API.md" bash -c "npx projen pre-compile && npx projen compile && npx projen post-compile" || true
step "end-to-end set-up (the Lambda emulator's: moto, runtime interface client; the e2e app's packages)" bash e2e/setup.sh || true

# --- suites ---
run_suite "construct (jest)" jest bash -c 'npx jest --ci --coverage=false --json --outputFile=.test-results/jest.json; s=$?
  node -e "const r = require(\"./.test-results/jest.json\"); console.log(r.numPassedTests + \" passed, \" + r.numFailedTests + \" failed\")"; exit $s'
# eslint: one check per linted file (its own JSON report), failed when the file has a problem.
run_suite "lint (eslint)" eslint bash -c 'ESLINT_USE_FLAT_CONFIG=false NODE_NO_WARNINGS=1 npx eslint --max-warnings 0 --ext .ts --no-error-on-unmatched-pattern \
    --format json --output-file .test-results/eslint.json lib test integ projenrc .projenrc.ts; s=$?
  node -e "const r = require(\"./.test-results/eslint.json\"); const bad = r.filter(f => f.errorCount + f.warningCount > 0);
    for (const f of bad) for (const m of f.messages) console.log(f.filePath + \":\" + m.line + \":\" + m.column + \" \" + m.ruleId + \" \" + m.message);
    console.log((r.length - bad.length) + \" passed, \" + bad.length + \" failed\")"; exit $s'
run_suite "collector (go test)" collector bash -c "set -o pipefail; bash collector-go/test.sh -json 2>&1 | python3 scripts/go-test-summary.py"
run_suite "preload (node 22, 24)" preload bash layer-src/test.sh
run_suite "end to end (emulator)" e2e bash e2e/test.sh
# integ-runner's own summary ("Tests:    N passed, N total", or "N failed, N passed, N total").
run_suite "integ snapshots" integ bash -c 'set -o pipefail; npx integ-runner --directory integ --language typescript --max-workers 1 2>&1 | tee .test-results/integ-runner.log; s=$?
  line=$(grep -E "^Tests:" .test-results/integ-runner.log | tail -n 1)
  failed=$(echo "$line" | grep -oE "[0-9]+ failed" | grep -oE "[0-9]+" || true)
  passed=$(echo "$line" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+" || true)
  echo "${passed:-0} passed, ${failed:-0} failed"; exit $s'
run_suite "templates (cfn-lint)" cfn-lint bash scripts/cfn-lint-test.sh
run_suite "newcomer (pack + synth)" newcomer bash scripts/newcomer-test.sh
run_suite "README snippets (rosetta)" rosetta bash scripts/rosetta-test.sh
run_suite "Python app (wheel + synth)" python-app bash scripts/python-app-test.sh
run_suite "size budgets" sizes bash bench/sizes-test.sh
run_suite "benchmark tooling" bench-unit node --test bench/test/

echo
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed" | tee "$results/total.txt"
[ "$total_failed" -eq 0 ]
