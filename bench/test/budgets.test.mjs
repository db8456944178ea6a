import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUDGETS, MB, MIB, format, judge, limitOf } from '../src/budgets.mjs';

const budget = (key) => BUDGETS.find((b) => b.key === key);

test('the collector binary budget is 20 MB and a larger binary is over it by the difference', () => {
  assert.deepEqual(judge(budget('collector_binary_bytes'), { collector_binary_bytes: 20 * MB }), { status: 'within', note: '' });
  const over = judge(budget('collector_binary_bytes'), { collector_binary_bytes: 27.5 * MB });
  assert.equal(over.status, 'over');
  assert.match(over.note, /over the budget of 20\.00 MB by 7\.50 MB/);
});

test('the preload layer must be within 1.5 MiB and below the peer measured in the same run', () => {
  const b = budget('preload_layer_bytes');
  assert.equal(judge(b, { preload_layer_bytes: 0.8 * MB, peer_preload_layer_bytes: 70 * MB }).status, 'within');
  assert.equal(judge(b, { preload_layer_bytes: 1.5 * MIB + 1 }).status, 'over');
  const slower = judge(budget('preload_startup_ms'), { preload_startup_ms: 40, peer_preload_startup_ms: 30 });
  assert.equal(slower.status, 'over');
  assert.match(slower.note, /not below its baseline peer_preload_startup_ms \(30\.00 ms\)/);
});

test('limits taken from another figure of the run follow that figure', () => {
  const b = budget('extension_after_runtime_done_p50_ms');
  assert.equal(limitOf(b, { xray_round_trip_p50_ms: 7 }), 12);
  assert.equal(judge(b, { extension_after_runtime_done_p50_ms: 13, xray_round_trip_p50_ms: 7 }).status, 'over');
  assert.equal(limitOf(b, {}), undefined);
});

test('a figure missing from the run is reported as not measured, not as within', () => {
  assert.equal(judge(budget('collector_ready_ms'), {}).status, 'unmeasured');
  assert.equal(judge(budget('collector_spans_per_second'), { collector_spans_per_second: 1000 }).status, 'reported');
});

test('figures are formatted in their unit', () => {
  assert.equal(format(1_234_567, 'bytes'), '1.23 MB');
  assert.equal(format(1.234, 'ms'), '1.23 ms');
  assert.equal(format(2839.4, 'spans/s'), '2,839 spans/s');
  assert.equal(format(undefined, 'ms'), 'n/a');
});
