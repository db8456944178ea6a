// Added response latency and post-invoke time, in the Lambda emulator (tools/lambda-emulator): the
// same handler (ten spans of its own, one fetch) as two functions, one traced (preload layer,
// collector layer, the environment OtelTracedFunction sets, read from a synthesized stack) and one
// untraced (no layers), invoked
// alternately, one of each per round. Response latency is what an Invoke API caller waits for:
// from the call until the runtime's response, each invocation starting on a frozen, warm
// environment. A third function, the preload without the collector (its export is refused at
// once on loopback), splits the added latency into span work and the export to the collector.
// Post-invoke time is from the runtime's POST .../response to the collector's next
// /extension/event/next (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#runtimes-lifecycle-invoke).
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { CONFIG_URI_ENV, collectorConfigOverrides, DOWNSTREAM_PATH, LambdaService, RUNTIME_HOOK } from '../../tools/lambda-emulator/index.mjs';
import { EXTENSION_NAME } from './collector-environment.mjs';
import { percentile, round, summarize } from './stats.mjs';

/** Spans each traced invocation exports: the invocation, ten of the handler's, the fetch. */
export const SPANS_PER_INVOCATION = 12;

/**
 * Marks, on the emulator's own API objects of an environment, when the runtime posts its
 * response, when the Telemetry API delivers runtimeDone and when the collector calls event/next.
 */
function instrumentEnvironment(env) {
  if (env.benchMarks) return env.benchMarks;
  const marks = { responses: new Map(), runtimeDone: new Map(), nexts: [] };
  const runtimeHandle = env.runtimeApi.handle.bind(env.runtimeApi);
  env.runtimeApi.handle = (req, res, path) => {
    const match = /invocation\/([^/]+)\/response$/.exec(path);
    if (match) marks.responses.set(decodeURIComponent(match[1]), performance.now());
    return runtimeHandle(req, res, path);
  };
  const collectorId = [...env.extensionsApi.byId.values()].find((e) => e.name === EXTENSION_NAME)?.id;
  const extensionsHandle = env.extensionsApi.handle.bind(env.extensionsApi);
  env.extensionsApi.handle = (req, res, path) => {
    if (path.endsWith('/event/next') && req.headers['lambda-extension-identifier'] === collectorId) marks.nexts.push(performance.now());
    return extensionsHandle(req, res, path);
  };
  const post = env.telemetryApi.post;
  env.telemetryApi.post = (uri, body) => {
    const at = performance.now();
    for (const event of JSON.parse(body.toString('utf8'))) {
      if (event.type === 'platform.runtimeDone') marks.runtimeDone.set(event.record.requestId, at);
    }
    return post(uri, body);
  };
  env.benchMarks = marks;
  return marks;
}

/**
 * @param {{workDir: string, runtimes: object, runtime: string, standIn: import('../../tools/lambda-emulator/index.mjs').XRayStandIn, tracedEnvironment: Record<string,string>, collectorLayerDir: string, preloadLayerDir: string, taskDir: string, invocations: number, warmup: number, log?: (line: string) => void}} options
 *   tracedEnvironment: the environment OtelTracedFunction gives the function on this runtime (traced-environment.mjs)
 * @param {string} [options.compareLayerDir]   a second build of the preload layer, run as a fourth function `compare`
 */
export async function measureInvokeOverhead(options) {
  const { standIn, tracedEnvironment, collectorLayerDir, preloadLayerDir, compareLayerDir, taskDir, invocations, warmup, log = () => {} } = options;
  const logs = [];
  const service = new LambdaService({
    workDir: options.workDir,
    runtimes: options.runtimes,
    runtimeHook: RUNTIME_HOOK,
    xray: { endpoint: standIn.endpoint, region: 'us-east-1', port: standIn.port },
    environmentOverrides: (fn, inside) => ({
      DOWNSTREAM_URL: `${inside.xrayEndpoint}${DOWNSTREAM_PATH}`,
      ...(fn.name === 'traced' || fn.name === 'compare' ? collectorConfigOverrides(fn.environment, collectorLayerDir, inside.xrayEndpoint) : {}),
    }),
    onLog: (e) => logs.push(`[${e.fn}#${e.env} ${e.source}] ${e.line}`),
  });
  const common = { runtime: options.runtime, codeDir: taskDir, memorySize: 1024, timeoutSeconds: 10, activeTracing: true };
  service.register({ ...common, name: 'traced', layerDirs: [collectorLayerDir, preloadLayerDir], environment: tracedEnvironment });
  service.register({ ...common, name: 'untraced' });
  const preloadOnlyEnvironment = Object.fromEntries(Object.entries(tracedEnvironment).filter(([key]) => key !== CONFIG_URI_ENV));
  service.register({ ...common, name: 'preload-only', layerDirs: [preloadLayerDir], environment: preloadOnlyEnvironment });
  if (compareLayerDir) service.register({ ...common, name: 'compare', layerDirs: [collectorLayerDir, compareLayerDir], environment: tracedEnvironment });
  await service.start();
  const names = ['traced', 'untraced', 'preload-only', ...(compareLayerDir ? ['compare'] : [])];
  const latency = Object.fromEntries(names.map((name) => [name, []]));
  const post = { afterResponse: [], afterRuntimeDone: [], beforeRuntimeDone: 0 };
  const measuredTracedRequests = new Set();
  let environmentsCreated = 0;
  standIn.reset();
  try {
    for (let roundIndex = -warmup; roundIndex < invocations; roundIndex++) {
      const shift = ((roundIndex % names.length) + names.length) % names.length;
      const order = names.map((_, i) => names[(i + shift) % names.length]);
      for (const name of order) {
        const started = performance.now();
        const out = await service.invoke(name, { round: roundIndex });
        const responded = performance.now();
        const answer = JSON.parse(out.payload.toString('utf8'));
        if (out.functionError || answer.status !== 200) {
          throw new Error(`${name} invocation ${roundIndex} failed: ${out.payload.toString('utf8')}\n${logs.slice(-30).join('\n')}`);
        }
        await out.done;
        const env = service.current.get(name);
        if (name === 'traced') {
          const marks = env.benchMarks;
          if (roundIndex >= 0 && marks) {
            const next = marks.nexts.at(-1);
            post.afterResponse.push(next - marks.responses.get(out.requestId));
            // The collector may ask for its next event before runtimeDone is delivered (once the
            // handler's span is in): then there is no time after runtimeDone to measure.
            const runtimeDoneAt = marks.runtimeDone.get(out.requestId);
            if (runtimeDoneAt !== undefined && runtimeDoneAt <= next) post.afterRuntimeDone.push(next - runtimeDoneAt);
            else post.beforeRuntimeDone++;
            measuredTracedRequests.add(out.requestId);
          }
          instrumentEnvironment(env);
        }
        if (roundIndex >= 0) latency[name].push(responded - started);
      }
      if (roundIndex > 0 && roundIndex % 100 === 0) log(`invoke: ${roundIndex}/${invocations} rounds`);
    }
    await service.settle();
    environmentsCreated = names.reduce((total, name) => total + service.environments(name).length, 0);
  } finally {
    await service.stop();
  }
  if (environmentsCreated !== names.length) throw new Error(`an environment was reset during the run (${environmentsCreated} created for ${names.length} functions):\n${logs.slice(-30).join('\n')}`);
  // The collector's own timing of each export to X-Ray (its "flush" log record).
  const flushes = collectorFlushes(logs).filter((f) => measuredTracedRequests.has(f.requestId)).map((f) => f.durationMs);
  if (flushes.length === 0) throw new Error(`the collector logged no flush for the measured invocations:\n${logs.slice(-30).join('\n')}`);
  // Every span of every traced invocation, warm-up included, must have reached X-Ray.
  const tracedFunctions = compareLayerDir ? 2 : 1;
  const spans = { expected: (warmup + invocations) * SPANS_PER_INVOCATION * tracedFunctions, received: standIn.documentsFrom.go };
  const p = (series, q) => percentile(series, q);
  return {
    figures: {
      invoke_overhead_p50_ms: round(p(latency.traced, 50) - p(latency.untraced, 50)),
      invoke_overhead_p99_ms: round(p(latency.traced, 99) - p(latency.untraced, 99)),
      invoke_traced_p50_ms: round(p(latency.traced, 50)),
      invoke_traced_p99_ms: round(p(latency.traced, 99)),
      invoke_untraced_p50_ms: round(p(latency.untraced, 50)),
      invoke_untraced_p99_ms: round(p(latency.untraced, 99)),
      invoke_preload_only_p50_ms: round(p(latency['preload-only'], 50)),
      invoke_preload_only_p99_ms: round(p(latency['preload-only'], 99)),
      invoke_invocations_each: invocations,
      ...(compareLayerDir ? {
        invoke_compare_overhead_p50_ms: round(p(latency.compare, 50) - p(latency.untraced, 50)),
        invoke_compare_overhead_p99_ms: round(p(latency.compare, 99) - p(latency.untraced, 99)),
      } : {}),
      post_invoke_p50_ms: round(p(post.afterResponse, 50)),
      post_invoke_p99_ms: round(p(post.afterResponse, 99)),
      ...(post.afterRuntimeDone.length > 0 ? {
        extension_after_runtime_done_p50_ms: round(p(post.afterRuntimeDone, 50)),
        extension_after_runtime_done_p99_ms: round(p(post.afterRuntimeDone, 99)),
      } : {}),
      extension_next_before_runtime_done_share: round(post.beforeRuntimeDone / post.afterResponse.length, 4),
      collector_flush_p50_ms: round(p(flushes, 50)),
      collector_flush_p99_ms: round(p(flushes, 99)),
      invoke_spans_lost: spans.expected - spans.received,
    },
    spans,
    distributions: {
      invoke_traced: summarize(latency.traced),
      invoke_untraced: summarize(latency.untraced),
      invoke_preload_only: summarize(latency['preload-only']),
      post_invoke: summarize(post.afterResponse),
      ...(post.afterRuntimeDone.length > 0 ? { extension_after_runtime_done: summarize(post.afterRuntimeDone) } : {}),
    },
    logs,
  };
}

/** The collector's flush records in the emulator log: request ID and duration. */
function collectorFlushes(logs) {
  const flushes = [];
  for (const line of logs) {
    const at = line.indexOf(`extension:${EXTENSION_NAME}] {`);
    if (at < 0 || !line.includes('"msg":"flush')) continue;
    try {
      const record = JSON.parse(line.slice(line.indexOf('{', at)));
      flushes.push({ requestId: record.request_id, durationMs: record.duration_ms });
    } catch {
      // a line that only looks like a record
    }
  }
  return flushes;
}
