import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSettings } from '../src/settings.mjs';

test('defaults measure at least what the issue asks: 20 runs, 500 invocations each', () => {
  const s = readSettings({});
  assert.ok(s.BENCH_STARTUP_RUNS >= 20);
  assert.ok(s.BENCH_READY_RUNS >= 20);
  assert.ok(s.BENCH_INVOCATIONS >= 500);
  assert.deepEqual(s.BENCH_THROUGHPUT_BURSTS, [1000, 2000, 5000, 10000, 20000]);
  assert.equal(s.BENCH_RUNTIME, 'nodejs24.x');
});

test('counts come from the environment for quick runs', () => {
  const s = readSettings({ BENCH_INVOCATIONS: '50', BENCH_THROUGHPUT_BURSTS: '100, 200' });
  assert.equal(s.BENCH_INVOCATIONS, 50);
  assert.deepEqual(s.BENCH_THROUGHPUT_BURSTS, [100, 200]);
});

test('bad values are refused with the variable, the value and the fix', () => {
  assert.throws(() => readSettings({ BENCH_INVOCATIONS: 'many' }), /BENCH_INVOCATIONS="many" is not valid: .*whole number of at least 1/);
  assert.throws(() => readSettings({ BENCH_STARTUP_RUNS: '0' }), /BENCH_STARTUP_RUNS="0"/);
  assert.throws(() => readSettings({ BENCH_THROUGHPUT_BURSTS: '10,x' }), /BENCH_THROUGHPUT_BURSTS="10,x" is not valid: give span counts/);
  assert.throws(() => readSettings({ BENCH_RUNTIME: 'nodejs18.x' }), /BENCH_RUNTIME="nodejs18.x" is not valid: use one of nodejs22.x, nodejs24.x/);
});
