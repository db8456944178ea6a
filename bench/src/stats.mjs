// Order statistics for timing samples. Percentiles use the nearest-rank method: the p-th
// percentile is the smallest sample with at least p % of the samples at or below it, so every
// reported figure is a value that was actually measured.

/** Samples sorted ascending, after checking they are finite numbers. */
function sorted(samples, what) {
  if (!Array.isArray(samples) || samples.length === 0) {
    throw new Error(`${what}: no samples were given: measure at least one run`);
  }
  const bad = samples.find((s) => typeof s !== 'number' || !Number.isFinite(s));
  if (bad !== undefined) throw new Error(`${what}: sample ${JSON.stringify(bad)} is not a finite number`);
  return [...samples].sort((a, b) => a - b);
}

/** Nearest-rank percentile, p in (0, 100]. */
export function percentile(samples, p) {
  if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is out of range: use a number above 0 and at most 100`);
  const ordered = sorted(samples, `percentile ${p}`);
  const rank = Math.ceil((p / 100) * ordered.length);
  return ordered[rank - 1];
}

/** The median: the middle sample, or the mean of the two middle samples. */
export function median(samples) {
  const ordered = sorted(samples, 'median');
  const mid = Math.floor(ordered.length / 2);
  return ordered.length % 2 === 1 ? ordered[mid] : (ordered[mid - 1] + ordered[mid]) / 2;
}

/** Pairwise differences a[i] - b[i] of two equally long series measured interleaved. */
export function pairedDifferences(a, b) {
  if (a.length !== b.length) throw new Error(`paired series differ in length (${a.length} and ${b.length}): measure them interleaved, one of each per round`);
  return a.map((value, i) => value - b[i]);
}

/** Rounds to a fixed number of decimals for reporting (timings: 0.01 ms). */
export function round(value, decimals = 2) {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** Median, p90, p99, min, max and count of a series, rounded for the report. */
export function summarize(samples) {
  return {
    n: samples.length,
    min: round(Math.min(...samples)),
    p50: round(median(samples)),
    p90: round(percentile(samples, 90)),
    p99: round(percentile(samples, 99)),
    max: round(Math.max(...samples)),
  };
}
