// Runs every benchmark, writes bench/results.json and bench/RESULTS.md, and prints each figure
// beside its budget, baseline and anchor. Started by bench/run.sh after the builds.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, startXRayStandIn } from '../../tools/lambda-emulator/index.mjs';
import { BENCH_DIR, BUILD_DIR, PRELOAD_INIT, PRELOAD_LAYER_DIR, REPO_DIR, THIRD_PARTY_DIR, WORK_DIR, collectorBinary, collectorLayerDir, preloadInitIn } from './paths.mjs';
import { bundleHandler } from './bundle-handler.mjs';
import { measureSizes, preloadBreakdown } from './measure-sizes.mjs';
import { adotStartupLayer, checkLoads, fairPeerWrapper, measurePreloadStartup } from './preload-startup.mjs';
import { profilePreload } from './profile-preload.mjs';
import { measureCollectorReady } from './collector-ready.mjs';
import { collectorInitTrace } from './collector-init-trace.mjs';
import { measureInvokeOverhead } from './invoke-overhead.mjs';
import { measureBilled } from './billed.mjs';
import { measureXRayCeiling, measureXRayRoundTrip } from './xray-round-trip.mjs';
import { measureThroughput } from './collector-throughput.mjs';
import { CollectorEnvironment } from './collector-environment.mjs';
import { describeMachine } from './machine.mjs';
import { readSettings } from './settings.mjs';
import { nodeDir, snapshotRuntime } from './runtimes.mjs';
import { consoleTable, markdown, updateReadme } from './report.mjs';
import { tracedEnvironments } from './traced-environment.mjs';
import { startOtlpSink } from './otlp-sink.mjs';
import { measureCollectorsInvoke, measureCollectorsReady, peerBinaryBytes, peerCollectorLayer } from './peer-collector.mjs';
import { measureCost } from './cost-run.mjs';
import { budgetVerdicts, cellFigures, costMarkdown, flatFigures, replaceBetween, selectVariants, startupVerdicts } from './cost.mjs';

const log = (line) => console.log(`[bench] ${line}`);
const settings = readSettings();
const BASELINE_LAYER_DIR = join(BUILD_DIR, 'baseline-extension');

function requireFile(path, fix) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${fix}`);
}
requireFile(join(BASELINE_LAYER_DIR, 'extensions', 'baseline-extension'), 'run bench/run.sh, which builds fixtures/baseline-extension');
const compareLayerDir = settings.BENCH_COMPARE_PRELOAD_LAYER;
const compareInit = compareLayerDir && preloadInitIn(compareLayerDir);
if (compareInit) requireFile(compareInit, 'set BENCH_COMPARE_PRELOAD_LAYER to a preload layer directory, e.g. a copy of bench/.build/preload-layer');

mkdirSync(WORK_DIR, { recursive: true });
const node22 = join(nodeDir(22), 'bin', 'node');
const runtimeDirs = { 22: snapshotRuntime(22), 24: snapshotRuntime(24) };
log('synthesizing fixtures/app/bench-app.ts for the traced function\'s environment...');
const tracedEnvironment = await tracedEnvironments();
log(`traced function environment (nodejs22.x): ${JSON.stringify(tracedEnvironment['nodejs22.x'])}`);
const results = {};
const distributions = {};
const details = {};
const errors = [];

/** Adds a measurement's figures and distributions to the results, each key ending in `suffix`. */
function record(out, suffix = '') {
  const rename = (object) => Object.fromEntries(Object.entries(object ?? {}).map(([key, value]) => [`${key}${suffix}`, value]));
  Object.assign(results, rename(out.figures));
  Object.assign(distributions, rename(out.distributions));
}

/** A Node.js runtime's major version (nodejs24.x: 24) and the emulator's `runtimes` entry for it. */
function emulatorRuntime(runtime) {
  const major = Number(/^nodejs(\d+)/.exec(runtime)[1]);
  return { major, runtimes: { [major]: { runtimeDir: runtimeDirs[major], nodeDir: nodeDir(major) } } };
}

/** Runs one benchmark; a failure is recorded and the others still run. */
async function phase(name, body) {
  const started = Date.now();
  log(`${name}...`);
  try {
    await body();
    log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    errors.push({ phase: name, message: err.message });
    console.error(`[bench] ${name} FAILED: ${err.stack}`);
  }
}

await phase('sizes', async () => {
  Object.assign(results, await measureSizes({ zip: true }));
});

const smallEntry = join(BENCH_DIR, 'fixtures', 'handlers', 'small', 'index.mjs');
// ES module bundle (OutputFormat.ESM): every variant, the peer included, can load it.
const smallTask = await bundleHandler(smallEntry, join(WORK_DIR, 'task-small'), { format: 'esm' });
const smallCjsTask = await bundleHandler(smallEntry, join(WORK_DIR, 'task-small-cjs'), { format: 'cjs' });
/** What the preload sees of Lambda when profiled on its own. */
const PROFILE_ENV = {
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  LAMBDA_TASK_ROOT: smallTask,
  _HANDLER: 'index.handler',
  AWS_LAMBDA_FUNCTION_NAME: 'bench-startup',
  AWS_REGION: 'us-east-1',
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: tracedEnvironment['nodejs22.x'].OTEL_NODE_ENABLED_INSTRUMENTATIONS,
};
const tenSpansTask = await bundleHandler(join(BENCH_DIR, 'fixtures', 'handlers', 'ten-spans', 'index.mjs'), join(WORK_DIR, 'task-ten'));
// The cost comparison runs every variant with one bundle per runtime: NodejsFunction's CommonJS
// default on Node.js 24; the ES module bundle on Node.js 22, where ADOT cannot load the CommonJS one.
const tenSpansEsmTask = await bundleHandler(join(BENCH_DIR, 'fixtures', 'handlers', 'ten-spans', 'index.mjs'), join(WORK_DIR, 'task-ten-esm'), { format: 'esm' });
const COST_BUNDLES = { 'nodejs24.x': { format: 'cjs', taskDir: tenSpansTask }, 'nodejs22.x': { format: 'esm', taskDir: tenSpansEsmTask } };
const ADOT_OPT = join(THIRD_PARTY_DIR, 'adot-nodejs-layer', 'opt');

const fairPeerOpt = join(THIRD_PARTY_DIR, 'opentelemetry-lambda-nodejs-layer', 'opt');
const skipped = {};
/** A peer that is not there is skipped, with a line saying so, and the rest still runs. */
function skip(what, why) {
  skipped[what] = why;
  log(`SKIPPED ${what}: ${why}`);
}
await phase('preload start-up', async () => {
  let wrapper;
  if (existsSync(join(fairPeerOpt, 'otel-handler'))) wrapper = fairPeerWrapper(fairPeerOpt, WORK_DIR);
  else skip('fair_peer_preload_startup_ms', `${fairPeerOpt} is absent (the official Node.js layer built from source)`);
  let adot;
  if (existsSync(join(ADOT_OPT, 'otel-instrument'))) adot = adotStartupLayer(ADOT_OPT, WORK_DIR);
  else skip('adot_startup_ms', `${ADOT_OPT} is absent (AWS's ADOT Node.js layer, built as its SOURCE says)`);
  const out = await measurePreloadStartup({ node: node22, runtimeDir: runtimeDirs[22], taskDir: smallTask, cjsTaskDir: smallCjsTask, tracedEnvironment: tracedEnvironment['nodejs22.x'], compareInit, fairPeerWrapper: wrapper, adot, runs: settings.BENCH_STARTUP_RUNS, log });
  record(out);
  // Node.js 24 as well: the same variants and rounds, its keys ending in _nodejs24x.
  const out24 = await measurePreloadStartup({ node: join(nodeDir(24), 'bin', 'node'), runtimeDir: runtimeDirs[24], taskDir: smallTask, cjsTaskDir: smallCjsTask, tracedEnvironment: tracedEnvironment['nodejs24.x'], fairPeerWrapper: wrapper, adot, runs: settings.BENCH_STARTUP_RUNS, executionEnv: 'AWS_Lambda_nodejs24.x', log });
  record(out24, '_nodejs24x');
  details.loads_cjs_bundle = await checkLoads({ node: node22, runtimeDir: runtimeDirs[22], taskDir: smallCjsTask, tracedEnvironment: tracedEnvironment['nodejs22.x'] });
  log(`CommonJS bundle from esbuild: ${JSON.stringify(details.loads_cjs_bundle)}`);
  details.preload_profile = profilePreload({ node: node22, preloadInit: PRELOAD_INIT, env: PROFILE_ENV });
  log(`preload profile, milliseconds added over bare Node.js: ${JSON.stringify(details.preload_profile.added)}`);
});

/** The cost comparison (cost-run.mjs, cost.mjs): per runtime, its figures, verdicts and delivery counts. */
const cost = {
  variants: [],
  skipped: {},
  byRuntime: {},
  bundles: {},
  settings: { cpuPeriodMicros: 100000, pacingMs: 200, ...Object.fromEntries(Object.entries(settings).filter(([key]) => key.startsWith('BENCH_COST'))) },
};
const moto = await startMoto();
const standIn = await startXRayStandIn({ motoEndpoint: moto.endpoint, socketPath: join(WORK_DIR, 'xray.sock') });
try {
  await phase('collector ready', async () => {
    const out = await measureCollectorReady({
      collectorLayerDir: collectorLayerDir('amd64'),
      baselineLayerDir: BASELINE_LAYER_DIR,
      workDir: WORK_DIR,
      standIn,
      functionEnvironment: tracedEnvironment[settings.BENCH_RUNTIME],
      runs: settings.BENCH_READY_RUNS,
      log,
    });
    record(out);
    const trace = collectorInitTrace(collectorBinary('amd64'));
    Object.assign(results, trace.figures);
    details.collector_slowest_package_inits = trace.slowest;
  });

  // The configured runtime gives the headline figures; the other Node.js runtime is measured
  // after it and reported with its name as suffix (e.g. invoke_overhead_p50_ms_nodejs22x).
  const otherRuntime = settings.BENCH_RUNTIME === 'nodejs24.x' ? 'nodejs22.x' : 'nodejs24.x';
  for (const runtime of [settings.BENCH_RUNTIME, otherRuntime]) {
    const suffix = runtime === settings.BENCH_RUNTIME ? '' : `_${runtime.replace(/\W/g, '')}`;
    await phase(`invoke overhead (${runtime})`, async () => {
      const { major, runtimes } = emulatorRuntime(runtime);
      const out = await measureInvokeOverhead({
        workDir: join(WORK_DIR, `svc${major}`),
        runtimes,
        runtime,
        standIn,
        tracedEnvironment: tracedEnvironment[runtime],
        collectorLayerDir: collectorLayerDir('amd64'),
        preloadLayerDir: PRELOAD_LAYER_DIR,
        compareLayerDir,
        taskDir: tenSpansTask,
        invocations: settings.BENCH_INVOCATIONS,
        warmup: settings.BENCH_WARMUP,
        log,
      });
      record(out, suffix);
      details[`invoke_spans${suffix}`] = out.spans;
      writeFileSync(join(WORK_DIR, `invoke-emulator-${major}.log`), out.logs.join('\n'));
    });
  }

  await phase(`billed time and CPU (${settings.BENCH_RUNTIME})`, async () => {
    const { major, runtimes } = emulatorRuntime(settings.BENCH_RUNTIME);
    const out = await measureBilled({
      workDir: join(WORK_DIR, `billed${major}`),
      runtimes,
      runtime: settings.BENCH_RUNTIME,
      standIn,
      tracedEnvironment: tracedEnvironment[settings.BENCH_RUNTIME],
      collectorLayerDir: collectorLayerDir('amd64'),
      preloadLayerDir: PRELOAD_LAYER_DIR,
      taskDir: tenSpansTask,
      invocations: settings.BENCH_BILLED_INVOCATIONS,
      warmup: settings.BENCH_WARMUP,
      log,
    });
    record(out);
    writeFileSync(join(WORK_DIR, `billed-emulator-${major}.log`), out.logs.join('\n'));
  });

  // The upstream Lambda collector beside ours, both with the same otlphttp configuration
  // (peer-collector.mjs); ours is measured that way even when the peer is absent.
  const peer = peerCollectorLayer({ thirdPartyDir: THIRD_PARTY_DIR, buildDir: BUILD_DIR });
  if (peer.skip) {
    for (const key of ['peer_collector_ready_ms', 'peer_added_billed_p50_ms', 'peer_added_response_p50_ms_backend_50ms']) skip(key, peer.skip);
  } else {
    results.peer_collector_binary_bytes = peerBinaryBytes(peer.binary);
  }
  const sink = await startOtlpSink({ socketPath: join(WORK_DIR, 'otlp-sink.sock') });
  try {
    await phase('collectors compared: ready (otlphttp)', async () => {
      const out = await measureCollectorsReady({
        oursLayerDir: collectorLayerDir('amd64'),
        peerLayerDir: peer.layerDir,
        baselineLayerDir: BASELINE_LAYER_DIR,
        workDir: WORK_DIR,
        standIn,
        sink,
        functionEnvironment: tracedEnvironment[settings.BENCH_RUNTIME],
        runs: settings.BENCH_READY_RUNS,
        log,
      });
      record(out);
    });
    await phase(`collectors compared: billed and response (otlphttp, ${settings.BENCH_RUNTIME})`, async () => {
      const { major, runtimes } = emulatorRuntime(settings.BENCH_RUNTIME);
      const out = await measureCollectorsInvoke({
        workDir: join(WORK_DIR, `cmp${major}`),
        runtimes,
        runtime: settings.BENCH_RUNTIME,
        standIn,
        sink,
        tracedEnvironment: tracedEnvironment[settings.BENCH_RUNTIME],
        oursLayerDir: collectorLayerDir('amd64'),
        peerLayerDir: peer.layerDir,
        preloadLayerDir: PRELOAD_LAYER_DIR,
        taskDir: tenSpansTask,
        invocations: settings.BENCH_BILLED_INVOCATIONS,
        warmup: settings.BENCH_WARMUP,
        log,
      });
      record(out);
      details.collectors_spans_delivered_per_invocation = out.delivery;
      writeFileSync(join(WORK_DIR, `collectors-emulator-${major}.log`), out.logs.join('\n'));
    });
  } finally {
    await sink.stop();
  }

  // What tracing costs per invocation: every variant at every memory size, with the CPU share.
  const officialOpt = fairPeerOpt;
  const missing = {
    adot: existsSync(join(ADOT_OPT, 'otel-instrument')) ? undefined : `${ADOT_OPT} is absent (AWS's ADOT Node.js layer, built as its SOURCE says)`,
    officialLayer: existsSync(join(officialOpt, 'otel-handler')) ? undefined : `${officialOpt} is absent (the official OpenTelemetry Node.js layer built from source)`,
    peerCollector: peer.skip,
  };
  const { run: costVariants, skipped: costSkipped } = selectVariants(settings.BENCH_COST_VARIANTS, missing);
  for (const [name, why] of Object.entries(costSkipped)) skip(`cost_${name}`, why);
  cost.variants = costVariants.map((v) => v.name);
  cost.skipped = costSkipped;
  const costSink = await startOtlpSink({ socketPath: join(WORK_DIR, 'cost-sink.sock') });
  try {
    for (const runtime of settings.BENCH_COST_RUNTIMES) {
      await phase(`cost per invocation (${runtime}, CPU share)`, async () => {
        const { major, runtimes } = emulatorRuntime(runtime);
        const environments = tracedEnvironment.byExporter[runtime];
        const out = await measureCost({
          workDir: join(WORK_DIR, `cost${major}`),
          runtime,
          runtimes,
          standIn,
          sink: costSink,
          variants: costVariants,
          pieces: {
            environments,
            collectorLayerDir: collectorLayerDir('amd64'),
            preloadLayerDir: PRELOAD_LAYER_DIR,
            adotOptDir: ADOT_OPT,
            officialOptDir: officialOpt,
            peerCollectorLayerDir: peer.layerDir,
          },
          taskDir: COST_BUNDLES[runtime].taskDir,
          memorySizes: runtime === settings.BENCH_RUNTIME ? settings.BENCH_COST_MEMORY : settings.BENCH_COST_MEMORY_OTHER,
          rounds: settings.BENCH_COST_ROUNDS,
          bursts: settings.BENCH_COST_BURSTS,
          burstLength: settings.BENCH_COST_BURST_LENGTH,
          warmup: settings.BENCH_COST_WARMUP,
          log,
        });
        writeFileSync(join(WORK_DIR, `cost-emulator-${major}.log`), out.logs.join('\n'));
        const cells = cellFigures(out.samples);
        // Which of our variants the construct's default is: the one whose environment it gives.
        const defaultEnv = JSON.stringify(tracedEnvironment[runtime]);
        cost.defaultVariant = ['api', 'daemon'].find((v) => JSON.stringify(environments[v]) === defaultEnv) ?? 'api';
        const suffix = runtime === settings.BENCH_RUNTIME ? '' : `_${runtime.replace(/\W/g, '')}`;
        Object.assign(results, flatFigures(cells, suffix));
        cost.bundles[runtime] = COST_BUNDLES[runtime].format;
        cost.byRuntime[runtime] = {
          cells,
          verdicts: budgetVerdicts(cells, cost.defaultVariant),
          delivery: out.delivery,
          invocations: out.invocations,
          environments_reset: out.resets,
          cpu_throttling: out.throttled,
          load_average: out.loadAverage,
        };
        for (const [counter, d] of Object.entries(out.delivery)) {
          log(`cost (${runtime}): ${counter} (${d.variants.join(', ')}): ${d.received} of ${d.expected} spans`);
        }
        if (out.resets.length > 0) log(`cost (${runtime}): environments reset during the run: ${out.resets.join(', ')}`);
      });
    }
  } finally {
    await costSink.stop();
  }

  await phase('X-Ray stand-in round trip', async () => {
    Object.assign(results, await measureXRayRoundTrip({ endpoint: standIn.endpoint, calls: settings.BENCH_RTT_CALLS, segmentsPerCall: 12 }));
    Object.assign(results, await measureXRayCeiling({ endpoint: standIn.endpoint, calls: 100 }));
  });

  await phase('collector throughput', async () => {
    const environment = new CollectorEnvironment({
      layerDir: collectorLayerDir('amd64'),
      workDir: join(WORK_DIR, 'tput'),
      xray: { port: standIn.port, socketPath: standIn.socketPath },
      functionEnvironment: tracedEnvironment[settings.BENCH_RUNTIME],
      // One vCPU: the collector's span buffer holds 20,000 spans from 1,667 MB up (1,536 at
      // 128 MB, where a larger burst is refused and counted, by design).
      memorySize: 1769,
      // Each burst is exported before its invocation's /event/next, whatever the traffic: the
      // figure is the export rate, not the deferral (bursts follow each other at once).
      extraEnv: { OTEL_XRAY_COLLECTOR_EXPORT_MODE: 'every-invocation' },
    });
    try {
      await environment.start();
      // One small burst first: moto creates its X-Ray backend on the first call.
      await measureThroughput({ environment, standIn, bursts: [200] });
      const out = await measureThroughput({ environment, standIn, bursts: settings.BENCH_THROUGHPUT_BURSTS, log });
      Object.assign(results, out.figures);
      details.throughput_bursts = out.bursts;
    } finally {
      await environment.stop();
    }
  });
} finally {
  await standIn.stop();
  await moto.stop();
}

// Start-up beside the cost tables: ours and each layer, from the start-up rounds (Node.js 22 without suffix).
for (const [runtime, part] of Object.entries(cost.byRuntime)) {
  const suffix = runtime === 'nodejs22.x' ? '' : `_${runtime.replace(/\W/g, '')}`;
  const ours = results[`preload_startup_ms${suffix}`];
  part.startup = {
    untraced: results[`bare_node_startup_ms${suffix}`],
    api: ours,
    daemon: ours,
    otlphttp: ours,
    adot: results[`adot_startup_ms${suffix}`],
    adot_lite: results[`adot_lite_startup_ms${suffix}`],
    peer: results[`fair_peer_preload_startup_ms${suffix}`],
  };
  part.startupVerdicts = startupVerdicts(results, suffix);
}
const machine = describeMachine({ nodes: { 'start-up': node22, nodejs22x: join(nodeDir(22), 'bin', 'node'), nodejs24x: join(nodeDir(24), 'bin', 'node') }, repoDir: REPO_DIR });
cost.machine = machine;
const costSection = Object.keys(cost.byRuntime).length > 0 ? costMarkdown(cost) : 'Not measured in this run.\n';
const document = { ...results, cost: { ...cost, machine: undefined }, machine, settings, distributions, details, skipped, errors };
writeFileSync(join(BENCH_DIR, 'results.json'), `${JSON.stringify(document, null, 2)}\n`);
const table = markdown(results, { machine, settings, breakdown: preloadBreakdown() });
writeFileSync(join(BENCH_DIR, 'RESULTS.md'), `${table}\n## What tracing costs per invocation\n\n${costSection}`);
const compactCostSection = Object.keys(cost.byRuntime).length > 0 ? costMarkdown(cost, { compact: true }) : costSection;
for (const [readme, section] of [[join(BENCH_DIR, 'README.md'), costSection], [join(REPO_DIR, 'README.md'), compactCostSection]]) {
  updateReadme(readme, table);
  if (existsSync(readme)) writeFileSync(readme, replaceBetween(readFileSync(readme, 'utf8'), 'cost', section));
}
console.log('');
console.log(consoleTable(results));
console.log('');
log(`wrote ${join(BENCH_DIR, 'results.json')} and ${join(BENCH_DIR, 'RESULTS.md')}`);
if (errors.length > 0) {
  console.error(`[bench] ${errors.length} benchmark(s) failed: ${errors.map((e) => e.phase).join(', ')}`);
  process.exit(1);
}
