// This collector beside the upstream OpenTelemetry Lambda collector
// (../shared/third_party/opentelemetry-lambda-collector, built by build-artifacts.sh
// peer-collector), both configured the same way (otlphttp-config.mjs: the OTLP receiver on
// localhost:4318, the otlphttp exporter to the benchmark's OTLP sink), both handed that
// configuration through the contract's config URI variable, and the same preload layer in front
// of both: the only difference is the collector.
//   ready      fresh environments holding one extension, ours, the peer and the baseline
//              extension in rotating order: exec to the first /extension/event/next (the end of
//              the extension's Init), then one real OTLP request must be accepted;
//   invocations  the ten-span handler three times, traced with ours, traced with the peer and
//              untraced, one of each per round in rotating order, in three modes: low traffic
//              (one round every 200 ms), back-to-back, and low traffic with a sink that answers
//              after 50 ms. Billed time is from the Invoke call to the last /runtime/invocation/next
//              or /extension/event/next after it (billed.mjs); response latency is until the
//              runtime's response. Figures are traced minus untraced, per collector.
// Upstream waits for the Telemetry API's platform.runtimeDone before its next event/next and,
// without processors, exports while the OTLP request from the function waits (its sending queue
// is turned off); this collector answers the request at once and exports after runtimeDone.
// Both are measured as they ship. The sink counts the spans each invocation delivered before the
// environment was frozen.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DOWNSTREAM_PATH, LambdaService, RUNTIME_HOOK } from '../../tools/lambda-emulator/index.mjs';
import { CollectorEnvironment, collectorConfigEnvironment } from './collector-environment.mjs';
import { OtlpSender, traceRequest } from './otlp-load.mjs';
import { renderOtlpHttpConfig } from './otlphttp-config.mjs';
import { median, percentile, round, summarize } from './stats.mjs';
import { SPANS_PER_INVOCATION } from './invoke-overhead.mjs';
import { markNextEvents } from './billed.mjs';

/** The upstream collector's extension file name: it registers under its file name. */
export const PEER_EXTENSION_NAME = 'collector';
/** The sink's answer delay of the slow-backend mode. */
export const SLOW_BACKEND_MS = 50;

/** The comparison's modes: pacing between rounds and the sink's delay. */
export const MODES = [
  { name: 'low', pacingMs: 200, sinkDelayMs: 0 },
  { name: 'steady', pacingMs: 0, sinkDelayMs: 0 },
  { name: 'backend_50ms', pacingMs: 200, sinkDelayMs: SLOW_BACKEND_MS },
];

/** Every key the comparison puts in results.json when the peer is there (the peer's start with peer_). */
export const PEER_KEYS = [
  'peer_collector_binary_bytes',
  'peer_collector_ready_ms',
  'peer_collector_listening_ms',
  'peer_added_billed_p50_ms',
  'peer_added_billed_p99_ms',
  'peer_added_billed_steady_p50_ms',
  'peer_added_billed_p50_ms_backend_50ms',
  'peer_added_response_p50_ms',
  'peer_added_response_p50_ms_backend_50ms',
  'peer_added_response_p99_ms_backend_50ms',
  'peer_collector_spans_lost',
  'peer_collector_exported_within_invocation',
  'peer_collector_exported_within_invocation_steady',
  'peer_collector_exported_within_invocation_backend_50ms',
];

/** The keys of this collector configured the same way, measured whether the peer is there or not. */
export const OTLPHTTP_KEYS = [
  'collector_ready_otlphttp_ms',
  'collector_listening_otlphttp_ms',
  'collectors_baseline_extension_ready_ms',
  'added_billed_otlphttp_p50_ms',
  'added_billed_otlphttp_p99_ms',
  'added_billed_otlphttp_steady_p50_ms',
  'added_billed_otlphttp_p50_ms_backend_50ms',
  'added_response_otlphttp_p50_ms',
  'added_response_p50_ms_backend_50ms',
  'added_response_otlphttp_p99_ms_backend_50ms',
  'otlphttp_spans_lost',
  'otlphttp_exported_within_invocation',
  'otlphttp_exported_within_invocation_steady',
  'otlphttp_exported_within_invocation_backend_50ms',
  'collectors_billed_untraced_p50_ms',
  'collectors_response_untraced_p50_ms',
  'collectors_response_untraced_p50_ms_backend_50ms',
];

/**
 * Where the upstream collector's build is, or why it is skipped.
 * @param {{thirdPartyDir: string, buildDir: string}} dirs
 * @returns {{layerDir: string, binary: string} | {skip: string}}
 */
export function peerCollectorLayer({ thirdPartyDir, buildDir }) {
  const source = join(thirdPartyDir, 'opentelemetry-lambda-collector');
  if (!existsSync(join(source, 'SOURCE')) || !existsSync(join(source, 'src'))) {
    return { skip: `${source} is absent (the upstream OpenTelemetry Lambda collector's source)` };
  }
  const layerDir = join(buildDir, 'peer-collector');
  const binary = join(layerDir, 'extensions', PEER_EXTENSION_NAME);
  if (!existsSync(binary) || !existsSync(join(layerDir, 'collector-config', 'config.yaml'))) {
    return { skip: `${binary} is not built: run bench/build-artifacts.sh peer-collector (bench/run.sh does)` };
  }
  return { layerDir, binary };
}

/** The order of `names` in round `roundIndex`: rotated by one each round, so each goes first in turn. */
export function rotation(names, roundIndex) {
  const shift = ((roundIndex % names.length) + names.length) % names.length;
  return names.map((_, i) => names[(i + shift) % names.length]);
}

/**
 * Collector start-up, ours and the peer with the same otlphttp configuration, and the baseline
 * extension, in the same rounds.
 * @param {{oursLayerDir: string, peerLayerDir?: string, baselineLayerDir: string, workDir: string, standIn: {port: number, socketPath: string}, sink: import('./otlp-sink.mjs').OtlpSink, functionEnvironment: Record<string,string>, runs: number, log?: (line: string) => void}} options
 */
export async function measureCollectorsReady({ oursLayerDir, peerLayerDir, baselineLayerDir, workDir, standIn, sink, functionEnvironment, runs, log = () => {} }) {
  const collectorConfig = renderOtlpHttpConfig({ sinkEndpoint: sink.endpoint });
  const kinds = {
    ours: { layerDir: oursLayerDir, collectorConfig },
    ...(peerLayerDir ? { peer: { layerDir: peerLayerDir, extensionName: PEER_EXTENSION_NAME, collectorConfig } } : {}),
    baseline: { layerDir: baselineLayerDir, extensionName: 'baseline-extension' },
  };
  const names = Object.keys(kinds);
  const samples = Object.fromEntries(names.map((name) => [name, { firstNext: [], listening: [] }]));
  for (let roundIndex = -1; roundIndex < runs; roundIndex++) {
    for (const kind of rotation(names, roundIndex)) {
      const environment = new CollectorEnvironment({
        ...kinds[kind],
        workDir: join(workDir, `c-${kind.slice(0, 4)}`),
        xray: { port: standIn.port, socketPath: standIn.socketPath },
        forwards: [{ port: sink.port, socketPath: sink.socketPath }],
        functionEnvironment,
      });
      try {
        const times = await environment.start();
        // Ready means accepting spans: one real OTLP request must be taken.
        const sender = new OtlpSender(await environment.receiverSocket(), 1);
        const status = await sender.post(traceRequest(1).body).finally(() => sender.close());
        if (status !== 200) throw new Error(`${kind}: the receiver answered HTTP ${status} to an OTLP request after start-up:\n${environment.logs.slice(-20).join('\n')}`);
        if (roundIndex < 0) continue;
        samples[kind].firstNext.push(times.initDoneMs);
        samples[kind].listening.push(times.listeningMs);
      } finally {
        await environment.stop();
      }
    }
    if (roundIndex >= 0 && (roundIndex + 1) % 10 === 0) log(`collectors ready: ${roundIndex + 1}/${runs} rounds`);
  }
  return readyFigures(samples, runs);
}

/** results.json keys of the start-up comparison, from the samples of each extension. */
export function readyFigures(samples, runs) {
  const figures = {
    collector_ready_otlphttp_ms: round(median(samples.ours.firstNext)),
    collector_listening_otlphttp_ms: round(median(samples.ours.listening)),
    collectors_baseline_extension_ready_ms: round(median(samples.baseline.firstNext)),
    collectors_ready_runs: runs,
  };
  const distributions = { collector_ready_otlphttp: summarize(samples.ours.firstNext) };
  if (samples.peer) {
    figures.peer_collector_ready_ms = round(median(samples.peer.firstNext));
    figures.peer_collector_listening_ms = round(median(samples.peer.listening));
    distributions.peer_collector_ready = summarize(samples.peer.firstNext);
  }
  return { figures, distributions };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Billed time and response latency of the handler traced with ours, traced with the peer and
 * untraced, in the same rounds.
 * @param {object} options
 * @param {string} options.workDir
 * @param {object} options.runtimes
 * @param {string} options.runtime
 * @param {import('../../tools/lambda-emulator/index.mjs').XRayStandIn} options.standIn   serves the handler's fetch
 * @param {import('./otlp-sink.mjs').OtlpSink} options.sink
 * @param {Record<string,string>} options.tracedEnvironment
 * @param {string} options.oursLayerDir
 * @param {string} [options.peerLayerDir]
 * @param {string} options.preloadLayerDir
 * @param {string} options.taskDir
 * @param {number} options.invocations   measured rounds per mode
 * @param {number} options.warmup
 * @param {(line: string) => void} [options.log]
 */
export async function measureCollectorsInvoke(options) {
  const { standIn, sink, tracedEnvironment, oursLayerDir, peerLayerDir, preloadLayerDir, taskDir, invocations, warmup, log = () => {} } = options;
  const logs = [];
  const collectorConfig = renderOtlpHttpConfig({ sinkEndpoint: sink.endpoint });
  const service = new LambdaService({
    workDir: options.workDir,
    runtimes: options.runtimes,
    runtimeHook: RUNTIME_HOOK,
    xray: { endpoint: standIn.endpoint, region: 'us-east-1', port: standIn.port },
    hostPorts: [sink.port],
    environmentOverrides: (fn, inside) => ({
      DOWNSTREAM_URL: `${inside.xrayEndpoint}${DOWNSTREAM_PATH}`,
      ...(fn.name === 'untraced' ? {} : collectorConfigEnvironment(collectorConfig)),
    }),
    onLog: (e) => logs.push(`[${e.fn}#${e.env} ${e.source}] ${e.line}`),
  });
  const common = { runtime: options.runtime, codeDir: taskDir, memorySize: 1024, timeoutSeconds: 10, activeTracing: true };
  service.register({ ...common, name: 'ours', layerDirs: [oursLayerDir, preloadLayerDir], environment: tracedEnvironment });
  if (peerLayerDir) service.register({ ...common, name: 'peer', layerDirs: [peerLayerDir, preloadLayerDir], environment: tracedEnvironment });
  service.register({ ...common, name: 'untraced' });
  await service.start();
  const names = ['ours', ...(peerLayerDir ? ['peer'] : []), 'untraced'];
  const samples = {};
  const delivery = {};
  try {
    for (const mode of MODES) {
      sink.setDelay(mode.sinkDelayMs);
      samples[mode.name] = Object.fromEntries(names.map((name) => [name, { billed: [], response: [] }]));
      delivery[mode.name] = Object.fromEntries(names.filter((n) => n !== 'untraced').map((n) => [n, { invocations: 0, spans: 0, measured: 0, within: 0, perInvocation: {} }]));
      for (let roundIndex = -warmup; roundIndex < invocations; roundIndex++) {
        const roundStarted = performance.now();
        for (const name of rotation(names, roundIndex)) {
          const env = service.current.get(name);
          const marks = env ? markNextEvents(env) : undefined;
          const spansBefore = sink.spans;
          const started = performance.now();
          const out = await service.invoke(name, { round: roundIndex });
          const responded = performance.now();
          const answer = JSON.parse(out.payload.toString('utf8'));
          if (out.functionError || answer.status !== 200) {
            throw new Error(`${name} invocation failed: ${out.payload.toString('utf8')}\n${logs.slice(-30).join('\n')}`);
          }
          await out.done;
          // Frozen from here on: what the sink has now is what the invocation delivered.
          const delivered = sink.spans - spansBefore;
          if (name !== 'untraced') {
            const d = delivery[mode.name][name];
            d.invocations++;
            d.spans += delivered;
            if (roundIndex >= 0) {
              // Measured rounds only: a warm-up round may still carry spans the previous mode deferred.
              d.measured++;
              d.perInvocation[delivered] = (d.perInvocation[delivered] ?? 0) + 1;
              if (delivered >= SPANS_PER_INVOCATION) d.within++;
            }
          }
          if (roundIndex < 0 || !marks) continue;
          samples[mode.name][name].billed.push(marks.lastNext - started);
          samples[mode.name][name].response.push(responded - started);
        }
        if (mode.pacingMs > 0) await sleep(Math.max(0, mode.pacingMs - (performance.now() - roundStarted)));
      }
      log(`collectors (${mode.name}, sink delay ${mode.sinkDelayMs} ms): ${invocations} rounds`);
    }
    await service.settle();
  } finally {
    sink.setDelay(0);
    await service.stop();
  }
  return { ...invokeFigures(samples, delivery), delivery, logs };
}

/**
 * results.json keys of the invocation comparison.
 * @param {Record<string, Record<string, {billed: number[], response: number[]}>>} samples   per mode, per function
 * @param {Record<string, Record<string, {invocations: number, spans: number, measured: number, within: number}>>} delivery
 *   per mode, per traced function: invocations (warm-up included) and the spans the sink received
 *   while they ran; measured invocations and how many of them delivered all their spans before
 *   the environment was frozen
 */
export function invokeFigures(samples, delivery) {
  const p = (series, q) => percentile(series, q);
  const added = (mode, name, what, q) => round(p(samples[mode][name][what], q) - p(samples[mode].untraced[what], q));
  const sides = { ours: { billed: 'added_billed_otlphttp', response: 'added_response_otlphttp' }, peer: { billed: 'peer_added_billed', response: 'peer_added_response' } };
  const figures = {
    collectors_billed_untraced_p50_ms: round(p(samples.low.untraced.billed, 50)),
    collectors_response_untraced_p50_ms: round(p(samples.low.untraced.response, 50)),
    collectors_response_untraced_p50_ms_backend_50ms: round(p(samples.backend_50ms.untraced.response, 50)),
    collectors_invocations_each: samples.low.untraced.billed.length,
  };
  for (const name of ['ours', 'peer']) {
    if (!samples.low[name]) continue;
    const { billed, response } = sides[name];
    figures[`${billed}_p50_ms`] = added('low', name, 'billed', 50);
    figures[`${billed}_p99_ms`] = added('low', name, 'billed', 99);
    figures[`${billed}_steady_p50_ms`] = added('steady', name, 'billed', 50);
    figures[`${billed}_p50_ms_backend_50ms`] = added('backend_50ms', name, 'billed', 50);
    figures[`${response}_p50_ms`] = added('low', name, 'response', 50);
    figures[`${response}_p50_ms_backend_50ms`] = added('backend_50ms', name, 'response', 50);
    figures[`${response}_p99_ms_backend_50ms`] = added('backend_50ms', name, 'response', 99);
    const prefix = name === 'ours' ? 'otlphttp' : 'peer_collector';
    let expected = 0;
    let received = 0;
    for (const [mode, byName] of Object.entries(delivery)) {
      const d = byName[name];
      expected += d.invocations * SPANS_PER_INVOCATION;
      received += d.spans;
      figures[`${prefix}_exported_within_invocation${mode === 'low' ? '' : `_${mode}`}`] = round(d.within / d.measured, 4);
    }
    figures[`${prefix}_spans_lost`] = expected - received;
  }
  // The headline name for ours at 50 ms: the same figure as added_response_otlphttp_p50_ms_backend_50ms.
  figures.added_response_p50_ms_backend_50ms = figures.added_response_otlphttp_p50_ms_backend_50ms;
  delete figures.added_response_otlphttp_p50_ms_backend_50ms;
  const distributions = {};
  for (const [mode, byName] of Object.entries(samples)) {
    for (const [name, series] of Object.entries(byName)) {
      if (series.billed.length === 0) continue;
      distributions[`collectors_${mode}_${name}_billed`] = summarize(series.billed);
      distributions[`collectors_${mode}_${name}_response`] = summarize(series.response);
    }
  }
  return { figures, distributions };
}

/** The upstream collector binary's size in bytes. */
export function peerBinaryBytes(binary) {
  return statSync(binary).size;
}
