// Run sizes, from the environment, so a quick run can measure less:
//   BENCH_STARTUP_RUNS=20 BENCH_READY_RUNS=20 BENCH_INVOCATIONS=500 BENCH_WARMUP=20
//   BENCH_BILLED_INVOCATIONS=100 BENCH_RTT_CALLS=200 BENCH_THROUGHPUT_BURSTS=1000,2000,5000,10000,20000 BENCH_RUNTIME=nodejs24.x
//   BENCH_COST_ROUNDS=30 BENCH_COST_BURSTS=6 BENCH_COST_BURST_LENGTH=8 BENCH_COST_WARMUP=10
//   BENCH_COST_MEMORY=128,512,1769 BENCH_COST_MEMORY_OTHER=128,1769 BENCH_COST_RUNTIMES=nodejs24.x,nodejs22.x BENCH_COST_VARIANTS=untraced,api,daemon,otlphttp,adot,adot_lite,peer
// and, to measure a second build of the preload layer in the same rounds (e.g. a copy of an
// earlier one), BENCH_COMPARE_PRELOAD_LAYER=<directory holding the layer's nodejs/>.
import { BURST_UNMEASURED, VARIANT_NAMES } from './cost.mjs';

const RUNTIMES = ['nodejs22.x', 'nodejs24.x'];
const INTEGERS = {
  BENCH_STARTUP_RUNS: { default: 20, min: 1, what: 'start-up rounds (each variant once per round)' },
  BENCH_READY_RUNS: { default: 20, min: 1, what: 'collector start-up rounds' },
  BENCH_INVOCATIONS: { default: 500, min: 1, what: 'invocations of each function' },
  BENCH_WARMUP: { default: 20, min: 1, what: 'warm-up invocations of each function, not counted' },
  BENCH_BILLED_INVOCATIONS: { default: 100, min: 1, what: 'billed-time rounds per mode (low traffic, back-to-back, unsampled)' },
  BENCH_RTT_CALLS: { default: 200, min: 1, what: 'PutTraceSegments calls timed against the X-Ray stand-in' },
  BENCH_COST_ROUNDS: { default: 30, min: 1, what: 'cost rounds at low traffic (every variant at every memory size once per round)' },
  BENCH_COST_BURSTS: { default: 6, min: 1, what: 'cost rounds back-to-back (one burst per variant and memory size per round)' },
  BENCH_COST_BURST_LENGTH: { default: 8, min: BURST_UNMEASURED + 1, what: `invocations per back-to-back burst, the first ${BURST_UNMEASURED} not measured` },
  BENCH_COST_WARMUP: { default: 10, min: 1, what: 'cost warm-up invocations of each function, back-to-back, not counted (the first starts its environment)' },
};
/** Comma-separated lists: the default and what each item may be. */
const LISTS = {
  BENCH_COST_MEMORY: { default: [128, 512, 1769], parse: Number, valid: (m) => Number.isInteger(m) && m >= 128 && m <= 10240, what: 'memory sizes in MB of BENCH_RUNTIME, whole numbers from 128 to 10240, e.g. 128,512,1769' },
  BENCH_COST_MEMORY_OTHER: { default: [128, 1769], parse: Number, valid: (m) => Number.isInteger(m) && m >= 128 && m <= 10240, what: 'memory sizes in MB of the other runtime, whole numbers from 128 to 10240, e.g. 128,1769' },
  BENCH_COST_RUNTIMES: { default: ['nodejs24.x', 'nodejs22.x'], parse: String, valid: (r) => RUNTIMES.includes(r), what: 'runtimes, nodejs22.x and/or nodejs24.x' },
  BENCH_COST_VARIANTS: { default: VARIANT_NAMES, parse: String, valid: (v) => VARIANT_NAMES.includes(v), what: `variants, some of ${VARIANT_NAMES.join(', ')} (untraced always runs)` },
};

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
  for (const [name, spec] of Object.entries(LISTS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      settings[name] = [...spec.default];
      continue;
    }
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean).map(spec.parse);
    const bad = items.find((item) => !spec.valid(item));
    if (items.length === 0 || bad !== undefined) {
      throw new Error(`${name}=${JSON.stringify(raw)} is not valid${bad !== undefined ? ` (${JSON.stringify(bad)})` : ''}: give ${spec.what}`);
    }
    settings[name] = [...new Set(items)];
  }
  if (!settings.BENCH_COST_VARIANTS.includes('untraced')) settings.BENCH_COST_VARIANTS.unshift('untraced');
  if (env.BENCH_COMPARE_PRELOAD_LAYER) settings.BENCH_COMPARE_PRELOAD_LAYER = env.BENCH_COMPARE_PRELOAD_LAYER;
  return settings;
}
