import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, pairedDifferences, percentile, summarize } from '../src/stats.mjs';

test('median of an odd count is the middle sample, of an even count the mean of the two middle ones', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('nearest-rank percentiles return measured samples', () => {
  const samples = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(samples, 50), 50);
  assert.equal(percentile(samples, 99), 99);
  assert.equal(percentile(samples, 100), 100);
  assert.equal(percentile([7, 3], 99), 7);
  assert.equal(percentile([7, 3], 50), 3);
});

test('statistics refuse empty series and non-numbers, naming the problem', () => {
  assert.throws(() => median([]), /no samples/);
  assert.throws(() => percentile([1, Number.NaN], 50), /NaN is not a finite number|null is not a finite number/);
  assert.throws(() => percentile([1], 0), /percentile 0 is out of range/);
});

test('paired differences need series of the same length', () => {
  assert.deepEqual(pairedDifferences([10, 12], [4, 5]), [6, 7]);
  assert.throws(() => pairedDifferences([1], [1, 2]), /differ in length \(1 and 2\)/);
});

test('summarize reports count, extremes and percentiles', () => {
  assert.deepEqual(summarize([3, 1, 2]), { n: 3, min: 1, p50: 2, p90: 3, p99: 3, max: 3 });
});

test('Go inittrace lines are parsed into package, start, clock and bytes', async () => {
  const { parseInitTrace } = await import('../src/collector-init-trace.mjs');
  const inits = parseInitTrace('init errors @0.015 ms, 0.59 ms clock, 0 bytes, 0 allocs\nnoise\ninit go.opentelemetry.io/otel/semconv/v1%2e40%2e0 @12 ms, 0.11 ms clock, 2048 bytes, 3 allocs\n');
  assert.deepEqual(inits, [
    { pkg: 'errors', atMs: 0.015, clockMs: 0.59, bytes: 0 },
    { pkg: 'go.opentelemetry.io/otel/semconv/v1.40.0', atMs: 12, clockMs: 0.11, bytes: 2048 },
  ]);
});

test('profile samples are grouped by what ran and summed in milliseconds', async () => {
  const { groupProfile } = await import('../src/profile-preload.mjs');
  const profile = {
    nodes: [
      { id: 1, callFrame: { url: '', functionName: '(root)' } },
      { id: 2, callFrame: { url: 'file:///opt/nodejs/otel-preload/chunks/sdk-X.mjs', functionName: 'start' } },
      { id: 3, callFrame: { url: 'node:internal/modules/esm/resolve', functionName: 'resolve' } },
      { id: 4, callFrame: { url: '', functionName: '(garbage collector)' } },
    ],
    samples: [2, 2, 3, 4, 2],
    timeDeltas: [1000, 1000, 500, 250, 1000],
  };
  assert.deepEqual(groupProfile(profile), [
    { group: 'preload: bundled code (SDK, instrumentations, esbuild interop)', ms: 3 },
    { group: 'Node.js ES module loader (resolve, link, evaluate)', ms: 0.5 },
    { group: 'garbage collection', ms: 0.3 },
  ]);
});
