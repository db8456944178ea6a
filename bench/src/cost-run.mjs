// What tracing costs per invocation, measured: the same handler (12 spans and one fetch when
// traced) untraced, with this project's layers in each export mode (X-Ray API, X-Ray daemon,
// otlphttp to a local sink), with AWS's collector-less ADOT layer (default and lite mode, its
// wrapper as AWS_LAMBDA_EXEC_WRAPPER, sending to the X-Ray daemon) and with the official
// OpenTelemetry layer in front of the upstream Lambda collector; each at every memory size, with
// Lambda's CPU share for that size (the emulator's cpuShare: a cgroup cpu quota of
// period × memory / 1,769 over the runtime and every extension), all in one Lambda service.
//   low traffic   rounds in which every function is invoked once, in rotating order, no function
//                 more often than once per BENCH_COST pacing (200 ms);
//   back-to-back  rounds in which every function, in rotating order, gets a burst of invocations
//                 one right after the other; the first BURST_UNMEASURED are not measured (the
//                 collector sees steady traffic from the fourth on).
// Billed: from the Invoke call until the runtime and every extension asked for their next event
// (billed.mjs). CPU: every thread of the handler process and of the extensions
// (/proc/<pid>/task/*/schedstat), per invocation at low traffic, and per invocation over whole
// bursts back-to-back (an export deferred into a later invocation is counted where it runs).
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { collectorConfigOverrides, DOWNSTREAM_PATH, LambdaService, RUNTIME_HOOK } from '../../tools/lambda-emulator/index.mjs';
import { cpuOf, markNextEvents } from './billed.mjs';
import { collectorConfigEnvironment } from './collector-environment.mjs';
import { renderOtlpHttpConfig } from './otlphttp-config.mjs';
import { rotation } from './peer-collector.mjs';
import { BURST_UNMEASURED, functionName } from './cost.mjs';
import { round } from './stats.mjs';
import { SPANS_PER_INVOCATION } from './invoke-overhead.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How each variant runs: its layers, environment and the overrides a local run needs.
 * @param {object} pieces
 * @param {{api: Record<string,string>, daemon: Record<string,string>}} pieces.environments   OtelTracedFunction's, per X-Ray delivery
 * @param {string} pieces.collectorLayerDir
 * @param {string} pieces.preloadLayerDir
 * @param {string} [pieces.adotOptDir]        AWS's ADOT Node.js layer, its /opt tree
 * @param {string} [pieces.officialOptDir]    the official OpenTelemetry Node.js layer, its /opt tree
 * @param {string} [pieces.peerCollectorLayerDir]
 * @param {string} pieces.sinkEndpoint        the OTLP sink, as seen inside the environments
 */
export function variantSetup(variant, pieces) {
  const { environments, collectorLayerDir, preloadLayerDir } = pieces;
  // The same instrumentations everywhere: ADOT's wrapper adds aws-lambda and http to the list.
  const enabled = environments.api.OTEL_NODE_ENABLED_INSTRUMENTATIONS;
  const otlpHttp = () => collectorConfigEnvironment(renderOtlpHttpConfig({ sinkEndpoint: pieces.sinkEndpoint }));
  switch (variant.name) {
    case 'untraced':
      return { layerDirs: [], environment: {}, overrides: () => ({}) };
    case 'api':
    case 'daemon':
      return {
        layerDirs: [collectorLayerDir, preloadLayerDir],
        environment: environments[variant.name],
        overrides: (fn, inside) => collectorConfigOverrides(fn.environment, collectorLayerDir, inside.xrayEndpoint),
      };
    case 'otlphttp':
      return { layerDirs: [collectorLayerDir, preloadLayerDir], environment: environments.api, overrides: otlpHttp };
    case 'adot':
    case 'adot_lite':
      return {
        layerDirs: [pieces.adotOptDir],
        environment: {
          AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument',
          OTEL_SERVICE_NAME: 'bench-traced',
          ...(enabled ? { OTEL_NODE_ENABLED_INSTRUMENTATIONS: enabled } : {}),
          ...(variant.name === 'adot_lite' ? { OTEL_AWS_LAMBDA_FAST_START: 'true' } : {}),
        },
        overrides: () => ({}),
      };
    case 'peer':
      return {
        layerDirs: [pieces.peerCollectorLayerDir, pieces.officialOptDir],
        environment: {
          AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-handler',
          OTEL_SERVICE_NAME: 'bench-traced',
          ...(enabled ? { OTEL_NODE_ENABLED_INSTRUMENTATIONS: enabled } : {}),
        },
        overrides: otlpHttp,
      };
    default:
      throw new Error(`no set-up for the cost variant ${variant.name}`);
  }
}

/** Where each variant's spans end up, to count them: the X-Ray stand-in, the daemon stand-in or the OTLP sink. */
const COUNTER = { api: 'xrayApi', daemon: 'daemonSegments', otlphttp: 'sink', adot: 'daemonOtlp', adot_lite: 'daemonOtlp', peer: 'sink' };

/**
 * @param {object} options
 * @param {string} options.workDir
 * @param {string} options.runtime
 * @param {object} options.runtimes
 * @param {{endpoint: string, port: number, documentsFrom: {go: number}}} options.standIn   X-Ray stand-in, also the fetch target
 * @param {{port: number, endpoint: string, spans: number}} options.sink
 * @param {typeof import('./cost.mjs').COST_VARIANTS} options.variants
 * @param {Parameters<typeof variantSetup>[1]} options.pieces
 * @param {string} options.taskDir
 * @param {number[]} options.memorySizes
 * @param {number} options.rounds        measured low-traffic rounds
 * @param {number} options.bursts        measured back-to-back rounds
 * @param {number} options.burstLength   invocations per burst
 * @param {number} options.warmup        invocations of each function first, back-to-back, not measured (the first starts its environment)
 * @param {number} [options.pacingMs]
 * @param {(line: string) => void} [options.log]
 */
export async function measureCost(options) {
  const { standIn, sink, variants, pieces, memorySizes, rounds, bursts, burstLength, warmup, pacingMs = 200, log = () => {} } = options;
  if (!(warmup >= 1)) throw new Error(`warmup ${warmup}: at least one invocation per function must come first (it starts the environment)`);
  const logs = [];
  const byName = new Map();
  const service = new LambdaService({
    workDir: options.workDir,
    runtimes: options.runtimes,
    runtimeHook: RUNTIME_HOOK,
    xray: { endpoint: standIn.endpoint, region: 'us-east-1', port: standIn.port },
    hostPorts: [sink.port],
    xrayDaemon: true,
    cpuShare: true,
    environmentOverrides: (fn, inside) => ({
      DOWNSTREAM_URL: `${inside.xrayEndpoint}${DOWNSTREAM_PATH}`,
      ...byName.get(fn.name).setup.overrides(fn, inside),
    }),
    onLog: (e) => logs.push(`[${e.fn}#${e.env} ${e.source}] ${e.line}`),
  });
  for (const memory of memorySizes) {
    for (const variant of variants) {
      const setup = variantSetup(variant, { ...pieces, sinkEndpoint: sink.endpoint });
      const name = functionName(variant.name, memory);
      byName.set(name, { variant: variant.name, memory, setup });
      service.register({ name, runtime: options.runtime, codeDir: options.taskDir, memorySize: memory, timeoutSeconds: 30, activeTracing: true, layerDirs: setup.layerDirs, environment: setup.environment });
    }
  }
  await service.start();
  const loadAtStart = loadavg()[0];
  const names = [...byName.keys()];
  const samples = {};
  for (const memory of memorySizes) {
    samples[memory] = {};
    for (const mode of ['low', 'steady']) samples[memory][mode] = Object.fromEntries(variants.map((v) => [v.name, { billed: [], cpu: [] }]));
  }
  const invocations = Object.fromEntries(variants.map((v) => [v.name, 0]));
  const counters = () => ({
    xrayApi: standIn.documentsFrom.go,
    daemonSegments: service.xrayDaemon.stats.segmentDocuments,
    daemonOtlp: service.xrayDaemon.stats.otlpSpans,
    sink: sink.spans,
  });
  let before;
  let throttled;

  /** One invocation: billed milliseconds and CPU milliseconds, or undefined for a cold start. */
  const invokeOnce = async (name, round) => {
    const env = service.current.get(name);
    const marks = env ? markNextEvents(env) : undefined;
    const cpuBefore = env ? cpuOf(env) : undefined;
    const started = performance.now();
    const out = await service.invoke(name, { round });
    const answer = JSON.parse(out.payload.toString('utf8'));
    if (out.functionError || answer.status !== 200) {
      throw new Error(`${name} invocation failed: ${out.payload.toString('utf8')}\n${logs.slice(-40).join('\n')}`);
    }
    await out.done;
    invocations[byName.get(name).variant]++;
    if (!marks) return undefined;
    const cpuAfter = cpuOf(env);
    return { billed: marks.lastNext - started, cpu: cpuAfter.handler + cpuAfter.collector - cpuBefore.handler - cpuBefore.collector };
  };

  try {
    before = counters();
    // Warm-up: each function's first invocations back-to-back (the first starts its environment;
    // Init is not measured here), until V8 has compiled the hot paths of the handler and the layers.
    for (const name of names) {
      for (let i = 0; i < warmup; i++) await invokeOnce(name, -1);
    }
    log(`cost (${options.runtime}): ${names.length} functions started and warmed up (${warmup} invocations each)`);
    // Low traffic.
    const lastStart = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const name of rotation(names, round)) {
        const wait = (lastStart.get(name) ?? -Infinity) + pacingMs - performance.now();
        if (wait > 0) await sleep(wait);
        lastStart.set(name, performance.now());
        const sample = await invokeOnce(name, round);
        if (!sample) continue;
        const { variant, memory } = byName.get(name);
        samples[memory].low[variant].billed.push(sample.billed);
        samples[memory].low[variant].cpu.push(sample.cpu);
      }
      if (round >= 0 && (round + 1) % 10 === 0) log(`cost (${options.runtime}, low traffic): ${round + 1}/${rounds} rounds`);
    }
    // Back-to-back: one burst per function per round.
    for (let round = 0; round < bursts; round++) {
      for (const name of rotation(names, round)) {
        const env = service.current.get(name);
        const cpuBefore = cpuOf(env);
        const billed = [];
        for (let i = 0; i < burstLength; i++) {
          const sample = await invokeOnce(name, round);
          if (i >= BURST_UNMEASURED && sample) billed.push(sample.billed);
        }
        const envAfter = service.current.get(name);
        if (envAfter !== env) continue;
        const cpuAfter = cpuOf(env);
        const { variant, memory } = byName.get(name);
        samples[memory].steady[variant].billed.push(...billed);
        samples[memory].steady[variant].cpu.push((cpuAfter.handler + cpuAfter.collector - cpuBefore.handler - cpuBefore.collector) / burstLength);
      }
      if (round >= 0 && (round + 1) % 5 === 0) log(`cost (${options.runtime}, back-to-back): ${round + 1}/${bursts} rounds`);
    }
    throttled = Object.fromEntries(names.map((name) => {
      const stat = service.current.get(name)?.cgroup?.cpuStat?.();
      return [name, stat ? { nr_periods: stat.nr_periods, nr_throttled: stat.nr_throttled, throttled_ms: Math.round(Number(stat.throttled_time) / 1e6) } : undefined];
    }));
    await service.settle();
  } finally {
    await service.stop().catch((err) => logs.push(`[cost] stopping the service: ${err.message}`));
  }
  // Every span delivered? Counted where each variant's spans go, after SHUTDOWN drained the rest.
  const after = counters();
  const delivery = {};
  for (const [variant, count] of Object.entries(invocations)) {
    const counter = COUNTER[variant];
    if (!counter) continue;
    delivery[counter] ??= { variants: [], expected: 0, received: after[counter] - before[counter] };
    delivery[counter].variants.push(variant);
    delivery[counter].expected += count * SPANS_PER_INVOCATION;
  }
  const resets = names.filter((name) => service.environments(name).length > 1);
  return { samples, delivery, invocations, resets, throttled, loadAverage: [round(loadAtStart), round(loadavg()[0])], daemonStats: { ...service.xrayDaemon?.stats }, logs };
}
