// Run sizes, from the environment, so a quick run can measure less:
//   BENCH_STARTUP_RUNS=30 BENCH_READY_RUNS=20 BENCH_INVOCATIONS=500 BENCH_WARMUP=20
//   BENCH_BILLED_INVOCATIONS=200 BENCH_RTT_CALLS=200 BENCH_THROUGHPUT_BURSTS=1000,2000,5000,10000,20000 BENCH_RUNTIME=nodejs24.x
// and, to measure a second build of the preload layer in the same rounds (e.g. a copy of an
// earlier one), BENCH_COMPARE_PRELOAD_LAYER=<directory holding the layer's nodejs/>.

const INTEGERS = {
  BENCH_STARTUP_RUNS: { default: 30, min: 1, what: 'start-up rounds (each variant once per round)' },
  BENCH_READY_RUNS: { default: 20, min: 1, what: 'collector start-up rounds' },
  BENCH_INVOCATIONS: { default: 500, min: 1, what: 'invocations of each function' },
  BENCH_WARMUP: { default: 20, min: 1, what: 'warm-up invocations of each function, not counted' },
  BENCH_BILLED_INVOCATIONS: { default: 200, min: 1, what: 'billed-time rounds per mode (low traffic, back-to-back, unsampled)' },
  BENCH_RTT_CALLS: { default: 200, min: 1, what: 'PutTraceSegments calls timed against the X-Ray stand-in' },
};
const RUNTIMES = ['nodejs22.x', 'nodejs24.x'];

/** Reads and checks the settings; throws naming the variable, its value and the fix. */
export function readSettings(env = process.env) {
  const settings = {};
  for (const [name, spec] of Object.entries(INTEGERS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      settings[name] = spec.default;
      continue;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < spec.min) {
      throw new Error(`${name}=${JSON.stringify(raw)} is not valid: set the number of ${spec.what}, a whole number of at least ${spec.min} (default ${spec.default})`);
    }
    settings[name] = value;
  }
  const bursts = (env.BENCH_THROUGHPUT_BURSTS || '1000,2000,5000,10000,20000').split(',').map((s) => s.trim());
  if (bursts.some((b) => !/^[1-9]\d*$/.test(b))) {
    throw new Error(`BENCH_THROUGHPUT_BURSTS=${JSON.stringify(env.BENCH_THROUGHPUT_BURSTS)} is not valid: give span counts per invocation, comma-separated whole numbers, e.g. 1000,2000,5000`);
  }
  settings.BENCH_THROUGHPUT_BURSTS = bursts.map(Number);
  settings.BENCH_RUNTIME = env.BENCH_RUNTIME || 'nodejs24.x';
  if (!RUNTIMES.includes(settings.BENCH_RUNTIME)) {
    throw new Error(`BENCH_RUNTIME=${JSON.stringify(env.BENCH_RUNTIME)} is not valid: use one of ${RUNTIMES.join(', ')}`);
  }
  if (env.BENCH_COMPARE_PRELOAD_LAYER) settings.BENCH_COMPARE_PRELOAD_LAYER = env.BENCH_COMPARE_PRELOAD_LAYER;
  return settings;
}
