// The budgets the project promises (README, "Performance"), the anchor each one beats, and the
// baseline measured beside it in the same run. Sizes are in bytes, timings in milliseconds.
// Anchors are quoted in decimal megabytes (10^6 bytes); the preload layer's 1.5 MB budget is taken
// as 1.5 MiB, as layer-src/build.mjs enforces it.

export const MB = 1_000_000;
export const MIB = 1024 * 1024;

/**
 * @typedef {object} Budget
 * @property {string} key            the figure in results.json
 * @property {string} label          what is measured
 * @property {'bytes'|'ms'|'spans/s'} unit
 * @property {number} [limit]        the figure must be at or below this
 * @property {string} [limitText]    how the limit is quoted, when not in the figure's unit
 * @property {{key: string, plus?: number, times?: number}} [limitFrom]  limit = another figure of the same run * times + plus
 * @property {string} [baseline]     key of the baseline measured in the same run
 * @property {boolean} [mustBeatBaseline]  the figure must be below its baseline
 * @property {string} anchor         what the budget beats, for the report
 * @property {boolean} deterministic a size (tested by sizes-test.sh) rather than a timing (reported only)
 */

/** @type {Budget[]} */
export const BUDGETS = [
  { key: 'collector_binary_bytes', label: 'collector binary, linux/amd64, stripped', unit: 'bytes', limit: 20 * MB, anchor: 'upstream Lambda collector 57.6 MB as built here (peer_collector_binary_bytes); custom build with awsxray 45 MB', deterministic: true },
  { key: 'collector_binary_bytes_arm64', label: 'collector binary, linux/arm64, stripped', unit: 'bytes', anchor: 'reported; the budget is set on amd64', deterministic: true },
  { key: 'collector_layer_zip_bytes', label: 'collector layer, zipped (amd64)', unit: 'bytes', anchor: 'reported', deterministic: true },
  { key: 'preload_layer_bytes', label: 'preload layer, unzipped', unit: 'bytes', limit: 1.5 * MIB, limitText: '1.5 MiB (1.57 MB)', baseline: 'peer_preload_layer_bytes', mustBeatBaseline: true, anchor: 'upstream Node.js layer 42.6 MB unzipped', deterministic: true },
  { key: 'preload_layer_zip_bytes', label: 'preload layer, zipped', unit: 'bytes', baseline: 'peer_preload_layer_zip_bytes', mustBeatBaseline: true, anchor: 'upstream Node.js layer 8.5 MB zipped', deterministic: true },
  { key: 'preload_startup_ms', label: 'preload start-up cost, Node.js 22, one core (median)', unit: 'ms', limit: 30, baseline: 'peer_preload_startup_ms', mustBeatBaseline: true, anchor: 'unbundled sdk-node + auto-instrumentations, same run', deterministic: false },
  { key: 'preload_startup_cjs_bundle_ms', label: 'preload start-up cost with the CommonJS bundle (NodejsFunction default)', unit: 'ms', limit: 30, anchor: 'the peer cannot load this bundle', deterministic: false },
  { key: 'collector_ready_ms', label: 'collector exec to registered and receiver accepting (median)', unit: 'ms', limit: 50, baseline: 'baseline_extension_ready_ms', anchor: 'smallest Go extension, same run', deterministic: false },
  { key: 'invoke_overhead_p50_ms', label: 'added response latency p50 (10 spans, one fetch), nodejs24.x', unit: 'ms', limit: 1, baseline: 'invoke_untraced_p50_ms', anchor: 'same handler untraced, same run', deterministic: false },
  { key: 'invoke_overhead_p99_ms', label: 'added response latency p99 (10 spans, one fetch), nodejs24.x', unit: 'ms', limit: 3, baseline: 'invoke_untraced_p99_ms', anchor: 'same handler untraced, same run', deterministic: false },
  { key: 'invoke_overhead_p50_ms_nodejs22x', label: 'added response latency p50, nodejs22.x', unit: 'ms', limit: 1, baseline: 'invoke_untraced_p50_ms_nodejs22x', anchor: 'same handler untraced, same run', deterministic: false },
  { key: 'invoke_overhead_p99_ms_nodejs22x', label: 'added response latency p99, nodejs22.x', unit: 'ms', limit: 3, baseline: 'invoke_untraced_p99_ms_nodejs22x', anchor: 'same handler untraced, same run', deterministic: false },
  { key: 'post_invoke_p50_ms', label: 'runtime response to collector event/next p50', unit: 'ms', baseline: 'xray_round_trip_p50_ms', anchor: 'negative when the collector asked for its next event before the runtime answered', deterministic: false },
  { key: 'post_invoke_p99_ms', label: 'runtime response to collector event/next p99', unit: 'ms', baseline: 'xray_round_trip_p99_ms', anchor: 'negative when the collector asked for its next event before the runtime answered', deterministic: false },
  { key: 'extension_after_runtime_done_p50_ms', label: 'runtimeDone delivered to collector event/next p50', unit: 'ms', limitFrom: { key: 'xray_round_trip_p50_ms', plus: 5 }, baseline: 'xray_round_trip_p50_ms', anchor: 'X-Ray stand-in round trip + 5 ms', deterministic: false },
  { key: 'extension_after_runtime_done_p99_ms', label: 'runtimeDone delivered to collector event/next p99', unit: 'ms', limitFrom: { key: 'xray_round_trip_p99_ms', plus: 5 }, baseline: 'xray_round_trip_p99_ms', anchor: 'X-Ray stand-in round trip + 5 ms', deterministic: false },
  { key: 'collector_flush_p50_ms', label: 'collector export of one invocation (12 spans), its own timing, p50', unit: 'ms', baseline: 'xray_round_trip_p50_ms', anchor: 'part of the line above', deterministic: false },
  { key: 'preload_startup_ms_nodejs24x', label: 'preload start-up cost, Node.js 24, one core (median)', unit: 'ms', limit: 30, anchor: 'same rounds on Node.js 24', deterministic: false },
  { key: 'fair_peer_preload_startup_ms_nodejs24x', label: 'official OpenTelemetry Node.js layer start-up cost, Node.js 24', unit: 'ms', baseline: 'preload_startup_ms_nodejs24x', anchor: 'budget: preload at most a third of this', deterministic: false },
  { key: 'preload_startup_cpu_ms', label: 'preload start-up CPU time, Node.js 22 (median, minus bare)', unit: 'ms', anchor: 'reported', deterministic: false },
  { key: 'fair_peer_preload_startup_ms', label: 'official OpenTelemetry Node.js layer start-up cost (AWS_LAMBDA_EXEC_WRAPPER), Node.js 22', unit: 'ms', baseline: 'preload_startup_ms', anchor: 'budget: preload at most a third of this', deterministic: false },
  { key: 'added_billed_p50_ms', label: 'added billed duration p50, 1 invoke / 200 ms', unit: 'ms', limitFrom: { key: 'xray_round_trip_p50_ms', plus: 2 }, baseline: 'billed_untraced_p50_ms', anchor: 'X-Ray stand-in round trip + 2 ms', deterministic: false },
  { key: 'added_billed_p99_ms', label: 'added billed duration p99, 1 invoke / 200 ms', unit: 'ms', anchor: 'reported', deterministic: false },
  { key: 'added_billed_steady_p50_ms', label: 'added billed duration p50, back-to-back', unit: 'ms', limit: 1, anchor: 'same handler untraced, same run', deterministic: false },
  { key: 'added_billed_unsampled_p50_ms', label: 'added billed duration p50, Sampled=0', unit: 'ms', limit: 0.5, anchor: 'same handler untraced, same run', deterministic: false },
  { key: 'cpu_handler_added_ms', label: 'CPU per invocation added in the handler process (one full CPU)', unit: 'ms', baseline: 'cpu_handler_untraced_ms', anchor: 'reported', deterministic: false },
  { key: 'cpu_collector_ms', label: 'collector CPU per invocation (one full CPU)', unit: 'ms', anchor: 'reported', deterministic: false },
  { key: 'cpu_added_at_128mb_ms', label: 'added CPU per invocation as wall time at 128 MB', unit: 'ms', anchor: 'CPU in proportion to memory, 1,769 MB = 1 vCPU', deterministic: false },
  { key: 'cpu_added_at_512mb_ms', label: 'added CPU per invocation as wall time at 512 MB', unit: 'ms', anchor: 'CPU in proportion to memory', deterministic: false },
  { key: 'cpu_added_at_1769mb_ms', label: 'added CPU per invocation as wall time at 1,769 MB', unit: 'ms', anchor: 'one vCPU', deterministic: false },
  { key: 'collector_ready_otlphttp_ms', label: 'collector exec to first event/next, otlphttp to a local sink (median)', unit: 'ms', limitFrom: { key: 'peer_collector_ready_ms', times: 1 / 3 }, limitText: 'a third of upstream', baseline: 'peer_collector_ready_ms', anchor: 'upstream Lambda collector, same configuration, same run', deterministic: false },
  { key: 'added_billed_otlphttp_p50_ms', label: 'added billed duration p50, otlphttp, 1 invoke / 200 ms', unit: 'ms', baseline: 'peer_added_billed_p50_ms', mustBeatBaseline: true, anchor: 'upstream Lambda collector, same configuration and preload, same run', deterministic: false },
  { key: 'added_billed_otlphttp_steady_p50_ms', label: 'added billed duration p50, otlphttp, back-to-back', unit: 'ms', baseline: 'peer_added_billed_steady_p50_ms', mustBeatBaseline: true, anchor: 'upstream Lambda collector, same run', deterministic: false },
  { key: 'added_billed_otlphttp_p50_ms_backend_50ms', label: 'added billed duration p50, otlphttp, sink answering after 50 ms', unit: 'ms', baseline: 'peer_added_billed_p50_ms_backend_50ms', mustBeatBaseline: true, anchor: 'upstream Lambda collector, same run', deterministic: false },
  { key: 'added_response_p50_ms_backend_50ms', label: 'added response latency p50, otlphttp, sink answering after 50 ms', unit: 'ms', baseline: 'peer_added_response_p50_ms_backend_50ms', anchor: 'upstream Lambda collector, same run', deterministic: false },
  { key: 'peer_collector_binary_bytes', label: 'upstream Lambda collector binary, linux/amd64, stripped, default components', unit: 'bytes', baseline: 'collector_binary_bytes', anchor: 'built from ../shared/third_party in this run', deterministic: false },
  { key: 'adot_startup_ms', label: 'AWS ADOT layer start-up cost (AWS_LAMBDA_EXEC_WRAPPER), Node.js 22', unit: 'ms', baseline: 'preload_startup_ms', anchor: 'budget: preload at most a quarter of this', deterministic: false },
  { key: 'adot_lite_startup_ms', label: 'AWS ADOT layer start-up cost, lite mode (OTEL_AWS_LAMBDA_FAST_START), Node.js 22', unit: 'ms', baseline: 'preload_startup_ms', anchor: 'budget: preload at most a third of this', deterministic: false },
  { key: 'adot_startup_ms_nodejs24x', label: 'AWS ADOT layer start-up cost, Node.js 24', unit: 'ms', baseline: 'preload_startup_ms_nodejs24x', anchor: 'budget: preload at most a quarter of this', deterministic: false },
  { key: 'adot_lite_startup_ms_nodejs24x', label: 'AWS ADOT layer start-up cost, lite mode, Node.js 24', unit: 'ms', baseline: 'preload_startup_ms_nodejs24x', anchor: 'budget: preload at most a third of this', deterministic: false },
  ...costBudgets(),
  { key: 'collector_spans_per_second', label: 'spans/s into the X-Ray stand-in, none lost, 1,769 MB function', unit: 'spans/s', baseline: 'xray_stand_in_spans_per_second', anchor: 'the stand-in fed directly, same run', deterministic: false },
];

/**
 * The cost comparison's budgets (cost.mjs, cost-run.mjs; BENCH_RUNTIME's figures): ours, in each
 * X-Ray delivery, at or below AWS's ADOT layer measured in the same run, in added billed time at
 * 128 and 1,769 MB with the CPU share, at low traffic and back-to-back, and in added CPU.
 */
function costBudgets() {
  const out = [];
  const delivery = { api: 'X-Ray API', daemon: 'X-Ray daemon' };
  const traffic = { low: 'low traffic', steady: 'back-to-back' };
  for (const variant of Object.keys(delivery)) {
    for (const memory of [128, 1769]) {
      for (const mode of Object.keys(traffic)) {
        const adot = `cost_adot_${memory}mb_${mode}_added_billed_p50_ms`;
        out.push({ key: `cost_${variant}_${memory}mb_${mode}_added_billed_p50_ms`, label: `added billed time p50, ${memory.toLocaleString('en-US')} MB with its CPU share, ${traffic[mode]}, ${delivery[variant]}`, unit: 'ms', limitFrom: { key: adot }, limitText: 'ADOT', baseline: adot, anchor: 'AWS ADOT layer (collector-less), same handler and rounds', deterministic: false });
      }
    }
    out.push({ key: `cost_${variant}_added_cpu_ms`, label: `added CPU per invocation, 12 spans, one full core, handler process + extensions, ${delivery[variant]}`, unit: 'ms', limitFrom: { key: 'cost_adot_added_cpu_ms' }, limitText: 'ADOT', baseline: 'cost_adot_added_cpu_ms', anchor: 'AWS ADOT layer, same rounds; stretch 1 ms', deterministic: false });
  }
  return out;
}

/** The effective limit of a budget for a results object, or undefined. */
export function limitOf(budget, results) {
  if (budget.limit !== undefined) return budget.limit;
  if (budget.limitFrom && typeof results[budget.limitFrom.key] === 'number') {
    return results[budget.limitFrom.key] * (budget.limitFrom.times ?? 1) + (budget.limitFrom.plus ?? 0);
  }
  return undefined;
}

/**
 * Compares one figure with its budget and baseline.
 * @returns {{status: 'within'|'over'|'reported'|'unmeasured', note: string}}
 */
export function judge(budget, results) {
  const value = results[budget.key];
  if (typeof value !== 'number') return { status: 'unmeasured', note: '' };
  const problems = [];
  const limit = limitOf(budget, results);
  if (limit !== undefined && value > limit) {
    problems.push(`over the budget of ${limitText(budget, limit)} by ${format(value - limit, budget.unit)}`);
  }
  const baseline = budget.baseline ? results[budget.baseline] : undefined;
  if (budget.mustBeatBaseline && limit === undefined && typeof baseline !== 'number') {
    // Only a comparison with a baseline that was not measured (a peer that is absent).
    return { status: 'reported', note: `${budget.baseline} not measured in this run` };
  }
  if (budget.mustBeatBaseline && typeof baseline === 'number' && value >= baseline) {
    problems.push(`not below its baseline ${budget.baseline} (${format(baseline, budget.unit)})`);
  }
  if (problems.length > 0) return { status: 'over', note: problems.join('; ') };
  if (limit === undefined && !budget.mustBeatBaseline) return { status: 'reported', note: '' };
  return { status: 'within', note: '' };
}

/** The budget as the report quotes it, e.g. "<= 20.00 MB", or undefined without a limit. */
export function formatLimit(budget, results) {
  const limit = limitOf(budget, results);
  if (limit === undefined) return undefined;
  return `<= ${limitText(budget, limit)}`;
}

/** The limit as quoted: its text, with the figure when the limit follows another figure. */
function limitText(budget, limit) {
  if (budget.limitText && budget.limitFrom) return `${budget.limitText} (${format(limit, budget.unit)})`;
  return budget.limitText ?? format(limit, budget.unit);
}

/** Human-readable figure: bytes as decimal MB, ms with 2 decimals, rates as whole numbers. */
export function format(value, unit) {
  if (typeof value !== 'number') return 'n/a';
  if (unit === 'bytes') return `${(value / MB).toFixed(2)} MB`;
  if (unit === 'ms') return `${value.toFixed(2)} ms`;
  if (unit === 'spans/s') return `${Math.round(value).toLocaleString('en-US')} spans/s`;
  return String(value);
}
