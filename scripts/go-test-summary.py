#!/usr/bin/env python3
"""Reads `go test -json` on stdin; prints each package's result, the output of failed tests,
and a closing "collector: N passed, N failed" line (tests and subtests counted once each)."""
import json
import sys

passed = failed = 0
outputs = {}
for line in sys.stdin:
    line = line.strip()
    if not line.startswith('{'):
        print(line)  # gofmt / go vet messages
        continue
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        print(line)
        continue
    action, test, pkg = event.get('Action'), event.get('Test'), event.get('Package', '')
    key = (pkg, test)
    if action == 'output':
        outputs.setdefault(key, []).append(event.get('Output', ''))
    elif test and action == 'pass':
        passed += 1
        outputs.pop(key, None)
    elif test and action == 'fail':
        failed += 1
        sys.stdout.write(''.join(outputs.pop(key, [])))
    elif not test and action in ('pass', 'fail', 'skip'):
        print(f"{action:4} {pkg} {event.get('Elapsed', '')}s")
        if action == 'fail':
            sys.stdout.write(''.join(outputs.pop(key, [])))
            if not any(p == pkg and t for p, t in outputs):
                failed += 1  # a package that failed to build or panicked outside a test
print(f"collector: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
