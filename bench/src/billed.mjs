// Billed time and CPU per invocation, in the Lambda emulator (tools/lambda-emulator). Lambda bills
// an invocation from its start until the runtime and every extension have asked for the next
// event (/runtime/invocation/next, /extension/event/next): "You are charged for the execution time
// that the extension consumes" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html).
// The same handler runs traced (both layers, OtelTracedFunction's environment) and untraced (no
// layers), one of each per round, in three modes:
//   low traffic   one invocation of each function every BENCH_BILLED_PACING_MS (200 ms);
//   back-to-back  the next round starts as soon as the last one is done;
//   unsampled     low traffic with a trace header that says Sampled=0 (no span is recorded).
// Billed time is from the Invoke call until the last of those calls after the invocation; the
// figures are traced minus untraced at p50 (and p99 at low traffic).
// CPU: every thread's on-CPU nanoseconds (/proc/<pid>/task/*/schedstat) of the handler process
// (node) and of the collector, read before and after each invocation; Lambda gives a function
// CPU in proportion to its memory, one vCPU at 1,769 MB
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so a millisecond of
// CPU here is 1769 / memory milliseconds of wall time at that memory size, when CPU-bound.
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { collectorConfigOverrides, DOWNSTREAM_PATH, LambdaService, RUNTIME_HOOK } from '../../tools/lambda-emulator/index.mjs';
import { cpuMillisOf } from './preload-startup.mjs';
import { percentile, round, summarize } from './stats.mjs';

/** Memory sizes CPU time is scaled to: CDK's default, a common size, one full vCPU. */
export const MEMORY_SIZES_MB = [128, 512, 1769];
const FULL_VCPU_MB = 1769;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An X-Ray trace header for an upstream caller that decided not to sample. */
export function unsampledHeader(now = Date.now()) {
  return `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')};Sampled=0`;
}

/** Milliseconds of CPU time at `memoryMb`, from milliseconds on one full CPU. */
export function cpuAtMemory(cpuMs, memoryMb) {
  return cpuMs * (FULL_VCPU_MB / memoryMb);
}

/**
 * Marks when the runtime and each extension of an environment ask for their next event: the
 * returned marks' lastNext is the latest of those moments (performance.now()).
 */
export function markNextEvents(env) {
  if (env.billedMarks) return env.billedMarks;
  const marks = { lastNext: 0 };
  const runtimeHandle = env.runtimeApi.handle.bind(env.runtimeApi);
  env.runtimeApi.handle = (req, res, path) => {
    if (path.endsWith('/invocation/next')) marks.lastNext = performance.now();
    return runtimeHandle(req, res, path);
  };
  const extensionsHandle = env.extensionsApi.handle.bind(env.extensionsApi);
  env.extensionsApi.handle = (req, res, path) => {
    if (path.endsWith('/event/next')) marks.lastNext = performance.now();
    return extensionsHandle(req, res, path);
  };
  env.billedMarks = marks;
  return marks;
}

/** CPU milliseconds so far of the environment's handler process and of its extensions. */
export function cpuOf(env) {
  const out = { handler: 0, collector: 0 };
  for (const pid of env.sandbox?.pids() ?? []) {
    let comm;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const exe = (() => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]; } catch { return ''; } })();
    if (exe.includes('/opt/extensions/')) out.collector += cpuMillisOf(pid);
    else if (comm.startsWith('node') || /(^|\/)node$/.test(exe)) out.handler += cpuMillisOf(pid);
  }
  return out;
}

/**
 * @param {object} options
 * @param {string} options.workDir
 * @param {object} options.runtimes
 * @param {string} options.runtime
 * @param {import('../../tools/lambda-emulator/index.mjs').XRayStandIn} options.standIn
 * @param {Record<string,string>} options.tracedEnvironment
 * @param {string} options.collectorLayerDir
 * @param {string} options.preloadLayerDir
 * @param {string} options.taskDir
 * @param {number} options.invocations   measured rounds per mode
 * @param {number} options.warmup
 * @param {number} [options.pacingMs]
 * @param {(line: string) => void} [options.log]
 */
export async function measureBilled(options) {
  const { standIn, tracedEnvironment, collectorLayerDir, preloadLayerDir, taskDir, invocations, warmup, pacingMs = 200, log = () => {} } = options;
  const logs = [];
  const service = new LambdaService({
    workDir: options.workDir,
    runtimes: options.runtimes,
    runtimeHook: RUNTIME_HOOK,
    xray: { endpoint: standIn.endpoint, region: 'us-east-1', port: standIn.port },
    environmentOverrides: (fn, inside) => ({
      DOWNSTREAM_URL: `${inside.xrayEndpoint}${DOWNSTREAM_PATH}`,
      ...(fn.name === 'traced' ? collectorConfigOverrides(fn.environment, collectorLayerDir, inside.xrayEndpoint) : {}),
    }),
    onLog: (e) => logs.push(`[${e.fn}#${e.env} ${e.source}] ${e.line}`),
  });
  const common = { runtime: options.runtime, codeDir: taskDir, memorySize: 1024, timeoutSeconds: 10, activeTracing: true };
  service.register({ ...common, name: 'traced', layerDirs: [collectorLayerDir, preloadLayerDir], environment: tracedEnvironment });
  service.register({ ...common, name: 'untraced' });
  await service.start();
  const names = ['traced', 'untraced'];
  const billed = {};
  const cpu = {};
  try {
    for (const mode of ['low', 'steady', 'unsampled']) {
      billed[mode] = { traced: [], untraced: [] };
      cpu[mode] = { handler: [], collector: [], untracedHandler: [] };
      for (let roundIndex = -warmup; roundIndex < invocations; roundIndex++) {
        const roundStarted = performance.now();
        const order = roundIndex % 2 === 0 ? names : [...names].reverse();
        for (const name of order) {
          const env = service.current.get(name);
          const marks = env ? markNextEvents(env) : undefined;
          const before = env ? cpuOf(env) : undefined;
          const started = performance.now();
          const out = await service.invoke(name, { round: roundIndex }, mode === 'unsampled' ? { traceHeader: unsampledHeader() } : {});
          const answer = JSON.parse(out.payload.toString('utf8'));
          if (out.functionError || answer.status !== 200) {
            throw new Error(`${name} invocation failed: ${out.payload.toString('utf8')}\n${logs.slice(-30).join('\n')}`);
          }
          await out.done;
          if (roundIndex < 0 || !marks) continue;
          billed[mode][name].push(marks.lastNext - started);
          const after = cpuOf(env);
          if (name === 'traced') {
            cpu[mode].handler.push(after.handler - before.handler);
            cpu[mode].collector.push(after.collector - before.collector);
          } else {
            cpu[mode].untracedHandler.push(after.handler - before.handler);
          }
        }
        if (mode !== 'steady') await sleep(Math.max(0, pacingMs - (performance.now() - roundStarted)));
      }
      log(`billed (${mode}): ${invocations} rounds`);
    }
    await service.settle();
  } finally {
    await service.stop();
  }
  const p = (series, q) => percentile(series, q);
  const added = (mode, q) => round(p(billed[mode].traced, q) - p(billed[mode].untraced, q));
  const mean = (series) => series.reduce((a, b) => a + b, 0) / series.length;
  // CPU added per invocation at low traffic: the traced handler process minus the untraced one, and the collector.
  const handlerCpu = mean(cpu.low.handler) - mean(cpu.low.untracedHandler);
  const collectorCpu = mean(cpu.low.collector);
  const figures = {
    added_billed_p50_ms: added('low', 50),
    added_billed_p99_ms: added('low', 99),
    added_billed_steady_p50_ms: added('steady', 50),
    added_billed_unsampled_p50_ms: added('unsampled', 50),
    billed_traced_p50_ms: round(p(billed.low.traced, 50)),
    billed_untraced_p50_ms: round(p(billed.low.untraced, 50)),
    billed_invocations_each: invocations,
    cpu_handler_traced_ms: round(mean(cpu.low.handler)),
    cpu_handler_untraced_ms: round(mean(cpu.low.untracedHandler)),
    cpu_handler_added_ms: round(handlerCpu),
    cpu_collector_ms: round(collectorCpu),
    cpu_collector_steady_ms: round(mean(cpu.steady.collector)),
    cpu_collector_unsampled_ms: round(mean(cpu.unsampled.collector)),
  };
  for (const memory of MEMORY_SIZES_MB) {
    figures[`cpu_added_at_${memory}mb_ms`] = round(cpuAtMemory(handlerCpu + collectorCpu, memory));
  }
  return {
    figures,
    distributions: Object.fromEntries(Object.entries(billed).flatMap(([mode, series]) => [
      [`billed_${mode}_traced`, summarize(series.traced)],
      [`billed_${mode}_untraced`, summarize(series.untraced)],
    ])),
    logs,
  };
}
