import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUDGETS } from '../src/budgets.mjs';
import { consoleTable, markdown, rows } from '../src/report.mjs';

const machine = { cores: 2, cpu_model: 'test cpu', memory_gib: 24, kernel: '6.1', node_benchmarked: { 'start-up': 'v22.0.0', nodejs22x: 'v22.0.0', nodejs24x: 'v24.0.0' }, go: 'go1.26', commit: 'abc1234', date: '2026-01-01T00:00:00Z' };

test('every budget gets one row with its measured value, budget, baseline and anchor', () => {
  const table = rows({ preload_startup_ms: 21.5, peer_preload_startup_ms: 420.25 });
  assert.equal(table.length, BUDGETS.length);
  const startup = table.find((r) => r.key === 'preload_startup_ms');
  assert.deepEqual(
    { measured: startup.measured, budget: startup.budget, baseline: startup.baseline, status: startup.status },
    { measured: '21.50 ms', budget: '<= 30.00 ms', baseline: '420.25 ms (peer_preload_startup_ms)', status: 'within' },
  );
});

test('a missed budget shows by how much, in the console and in markdown', () => {
  const results = { collector_binary_bytes: 27_607_202 };
  assert.match(consoleTable(results), /MISSED\s+collector binary, linux\/amd64, stripped\n.*over the budget of 20\.00 MB by 7\.61 MB/);
  const md = markdown(results, { machine, settings: { BENCH_INVOCATIONS: 500 } });
  assert.match(md, /\| collector binary, linux\/amd64, stripped \| 27\.61 MB \| <= 20\.00 MB \| - \| .* \| MISSED: over the budget of 20\.00 MB by 7\.61 MB \|/);
  assert.match(md, /Measured on 2 cores \(test cpu\).*Node\.js v22\.0\.0 and v24\.0\.0 \(benchmarked\).*commit abc1234/);
  assert.match(md, /Runs: BENCH_INVOCATIONS=500\./);
});
