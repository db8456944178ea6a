// Start-up cost of a preload: the time from spawning Node.js 22 until the Lambda runtime
// interface client has loaded the handler and asks the Runtime API for the first event
// (GET /runtime/invocation/next, the end of Init: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html),
// with the preload, minus the same without it. Variants run interleaved, one of each per round,
// in a rotating order, each pinned to one CPU.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CONTRACT, RUNTIME_HOOK, RuntimeApi } from '../../tools/lambda-emulator/index.mjs';
import { BENCH_DIR, PRELOAD_INIT } from './paths.mjs';
import { onOneCore } from './cpu.mjs';
import { median, pairedDifferences, round, summarize } from './stats.mjs';

const require = createRequire(join(BENCH_DIR, 'package.json'));

/** The OTel settings the official Node.js layer starts the SDK with. */
const PEER_ENV = {
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_EXPORTER_OTLP_ENDPOINT: CONTRACT.collector.otlpHttpEndpoint,
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
};

/**
 * The variants measured: a name, NODE_OPTIONS and extra environment.
 * @param {Record<string,string>} tracedEnvironment   what OtelTracedFunction sets (traced-environment.mjs);
 *   its NODE_OPTIONS imports the preload from the layer path, here the built layer on the host
 * @param {string} [compareInit]   init.mjs of a second build of the preload, measured as `compare`
 */
export function startupVariants(tracedEnvironment, compareInit, fairPeerWrapper, adot) {
  const peerRegister = require.resolve('@opentelemetry/auto-instrumentations-node/register');
  const { NODE_OPTIONS: tracedNodeOptions, ...tracedEnv } = tracedEnvironment;
  if (!tracedNodeOptions?.includes(CONTRACT.preload.importPath)) {
    throw new Error(`the traced function's NODE_OPTIONS ${JSON.stringify(tracedNodeOptions)} does not import ${CONTRACT.preload.importPath}: check the synthesized benchmark app`);
  }
  return {
    bare: { nodeOptions: '', env: {} },
    preload: { nodeOptions: tracedNodeOptions.replace(CONTRACT.preload.importPath, PRELOAD_INIT), env: tracedEnv },
    ...(compareInit ? { compare: { nodeOptions: tracedNodeOptions.replace(CONTRACT.preload.importPath, compareInit), env: tracedEnv } } : {}),
    peer: { nodeOptions: `--require ${peerRegister}`, env: PEER_ENV },
    ...(fairPeerWrapper ? { fairPeer: { nodeOptions: '', env: { AWS_LAMBDA_EXEC_WRAPPER: fairPeerWrapper }, wrapper: fairPeerWrapper } } : {}),
    ...(adot ? {
      adot: adotVariant(adot, {}),
      adotLite: adotVariant(adot, { OTEL_AWS_LAMBDA_FAST_START: 'true' }),
    } : {}),
    peerSameInstrumentations: {
      nodeOptions: `--require ${peerRegister}`,
      env: { ...PEER_ENV, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'aws-lambda,http,undici,aws-sdk' },
    },
  };
}

/**
 * Runs Node.js with the runtime interface client once and returns the milliseconds until it asked
 * for the first event.
 * `executionEnv` is the runtime's AWS_EXECUTION_ENV, which must name the Node.js version that runs
 * (the Lambda instrumentation and the runtime client decide by it whether callbacks are supported).
 * @param {{node: string, runtimeDir: string, taskDir: string, variant: {nodeOptions: string, env: Record<string,string>}, executionEnv?: string}} options
 */
export async function timeOneStart({ node, runtimeDir, taskDir, variant, executionEnv = 'AWS_Lambda_nodejs22.x' }) {
  const runtimeApi = new RuntimeApi();
  const server = createServer((req, res) => runtimeApi.handle(req, res, new URL(req.url, 'http://runtime').pathname));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const env = {
    PATH: process.env.PATH,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: 'index.handler',
    LAMBDA_TASK_ROOT: taskDir,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}`,
    AWS_LAMBDA_FUNCTION_NAME: 'bench-startup',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/bench-startup',
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]00000000000000000000000000000000',
    AWS_EXECUTION_ENV: executionEnv,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABENCH0000000000',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
    AWS_SESSION_TOKEN: 'bench-session',
    NODE_PATH: `${variant.nodePathPrefix ? `${variant.nodePathPrefix}:` : ''}${join(runtimeDir, 'node_modules')}:${runtimeDir}:${taskDir}`,
    OTEL_SERVICE_NAME: 'bench-startup',
    ...variant.env,
    NODE_OPTIONS: variant.nodeOptions,
  };
  let stderr = '';
  // Lambda starts the runtime through AWS_LAMBDA_EXEC_WRAPPER when it is set: `<wrapper> <runtime command>`.
  const argv = [...onOneCore(), ...(variant.wrapper ? [variant.wrapper] : []), node, '--import', RUNTIME_HOOK, join(runtimeDir, 'index.mjs')];
  const started = performance.now();
  const child = spawn(argv[0], argv.slice(1), { env, cwd: taskDir, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const outcome = await Promise.race([
      runtimeApi.whenWaitingForNext().then(() => ({ ready: performance.now() })),
      runtimeApi.whenInitError().then((body) => ({ initError: body.toString('utf8') })),
      exited.then((exit) => ({ exit })),
      new Promise((resolve) => setTimeout(() => resolve({ timeout: true }), 30_000)),
    ]);
    if (!outcome.ready) {
      throw new Error(`the runtime did not reach /invocation/next (${JSON.stringify(outcome)}); NODE_OPTIONS=${variant.nodeOptions}\n${stderr}`);
    }
    if (/tracing disabled|Error:/.test(stderr)) {
      throw new Error(`the preload reported a problem (NODE_OPTIONS=${variant.nodeOptions}):\n${stderr}`);
    }
    return { ms: outcome.ready - started, cpuMs: cpuMillisOf(child.pid) };
  } finally {
    child.kill('SIGKILL');
    await exited;
    runtimeApi.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Measures every variant `runs` times, interleaved, after one warm-up round.
 * @returns {Promise<Record<string, number>>} figures for results.json
 */
export async function measurePreloadStartup({ node, runtimeDir, taskDir, cjsTaskDir, tracedEnvironment, compareInit, fairPeerWrapper, adot, runs, executionEnv, log = () => {} }) {
  const variants = startupVariants(tracedEnvironment, compareInit, fairPeerWrapper, adot);
  // Each start: a variant and the handler bundle it loads. The ES module bundle serves the
  // comparison with the peer; the CommonJS bundle, NodejsFunction's default, only bare and preload.
  const starts = {
    ...Object.fromEntries(Object.entries(variants).map(([name, variant]) => [name, { variant, taskDir }])),
    bareCjs: { variant: variants.bare, taskDir: cjsTaskDir },
    preloadCjs: { variant: variants.preload, taskDir: cjsTaskDir },
    ...(variants.compare ? { compareCjs: { variant: variants.compare, taskDir: cjsTaskDir } } : {}),
  };
  const names = Object.keys(starts);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  for (let roundIndex = -1; roundIndex < runs; roundIndex++) {
    const order = names.map((_, i) => names[(i + Math.max(roundIndex, 0)) % names.length]);
    for (const name of order) {
      const { ms, cpuMs } = await timeOneStart({ node, runtimeDir, executionEnv, ...starts[name] });
      if (roundIndex >= 0) {
        samples[name].push(ms);
        cpu[name].push(cpuMs);
      }
    }
    if (roundIndex >= 0 && (roundIndex + 1) % 10 === 0) log(`start-up: ${roundIndex + 1}/${runs} rounds`);
  }
  return {
    figures: {
      ...figuresOf(samples),
      preload_startup_cpu_ms: round(median(pairedDifferences(cpu.preload, cpu.bare))),
      ...(cpu.fairPeer ? { fair_peer_preload_startup_cpu_ms: round(median(pairedDifferences(cpu.fairPeer, cpu.bare))) } : {}),
      ...(cpu.adot ? { adot_startup_cpu_ms: round(median(pairedDifferences(cpu.adot, cpu.bare))), adot_lite_startup_cpu_ms: round(median(pairedDifferences(cpu.adotLite, cpu.bare))) } : {}),
      preload_startup_runs: runs,
    },
    distributions: Object.fromEntries(names.map((n) => [`startup_${n}`, summarize(samples[n])])),
  };
}

function figuresOf(samples) {
  const costOf = (name, base = 'bare') => round(median(pairedDifferences(samples[name], samples[base])));
  return {
    preload_startup_ms: costOf('preload'),
    peer_preload_startup_ms: costOf('peer'),
    peer_same_instrumentations_startup_ms: costOf('peerSameInstrumentations'),
    ...(samples.fairPeer ? { fair_peer_preload_startup_ms: costOf('fairPeer') } : {}),
    ...(samples.adot ? { adot_startup_ms: costOf('adot'), adot_lite_startup_ms: costOf('adotLite') } : {}),
    preload_startup_cjs_bundle_ms: costOf('preloadCjs', 'bareCjs'),
    bare_node_startup_ms: round(median(samples.bare)),
    ...(samples.compare ? { compare_preload_startup_ms: costOf('compare'), compare_preload_startup_cjs_bundle_ms: costOf('compareCjs', 'bareCjs') } : {}),
  };
}

/**
 * Whether each variant can load a handler at all (one start each): the unbundled peer cannot wrap
 * the exports of a CommonJS bundle from esbuild, whose properties are not configurable.
 * @returns {Promise<Record<string, string>>} variant -> 'loads' or the init error
 */
export async function checkLoads({ node, runtimeDir, taskDir, tracedEnvironment }) {
  const outcome = {};
  for (const [name, variant] of Object.entries(startupVariants(tracedEnvironment))) {
    try {
      await timeOneStart({ node, runtimeDir, taskDir, variant });
      outcome[name] = 'loads';
    } catch (err) {
      const initError = /errorMessage[\\"]*:[\\"]*([^"\\]+)/.exec(err.message)?.[1];
      outcome[name] = `fails: ${initError ?? err.message.split('\n')[0].slice(0, 200)}`;
    }
  }
  return outcome;
}

/**
 * CPU time a process has used so far, all its threads, in milliseconds: the first field of each
 * thread's /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU), finer than /proc/<pid>/stat's
 * clock ticks. NaN when the process is gone.
 * @param {number} pid
 */
export function cpuMillisOf(pid) {
  try {
    let nanos = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that just ended
      }
    }
    return nanos / 1e6;
  } catch {
    return Number.NaN;
  }
}

/**
 * The official OpenTelemetry Node.js layer's exec wrapper (`opt/otel-handler` of the layer built
 * from source, see its SOURCE file) with its /opt paths pointed at that folder, written to
 * `workDir`: started as Lambda starts it, AWS_LAMBDA_EXEC_WRAPPER in front of the runtime's command.
 * @param {string} layerOptDir  the layer's /opt tree
 * @returns {string} the wrapper's path
 */
export function fairPeerWrapper(layerOptDir, workDir) {
  const script = readFileSync(join(layerOptDir, 'otel-handler'), 'utf8').replaceAll('/opt/', `${layerOptDir}/`);
  const path = join(workDir, 'fair-peer-otel-handler');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

/**
 * AWS's ADOT Node.js layer (collector-less, `opt/` of the build in ../shared/third_party, see its
 * SOURCE) made runnable from the host: a copy of its /opt tree whose wrapper (`otel-instrument`)
 * and ES module entry points (`wrapper.mjs`, `lite-wrapper.mjs`) name the copy instead of /opt, and
 * whose handler check reads LAMBDA_TASK_ROOT instead of /var/task. Started as Lambda starts it:
 * `otel-instrument` as AWS_LAMBDA_EXEC_WRAPPER, /opt/nodejs/node_modules first on NODE_PATH.
 * @param {string} adotOptDir
 * @param {string} workDir
 * @returns {{optDir: string, wrapper: string}}
 */
export function adotStartupLayer(adotOptDir, workDir) {
  const optDir = join(workDir, 'adot-opt');
  rmSync(optDir, { recursive: true, force: true });
  cpSync(adotOptDir, optDir, { recursive: true, verbatimSymlinks: true });
  const rewrite = (file, edit) => {
    const path = join(optDir, file);
    const text = edit(readFileSync(path, 'utf8'));
    chmodSync(path, 0o755);
    writeFileSync(path, text);
  };
  // Nothing above /opt on Lambda says how to read its .js files; here bench/package.json would.
  writeFileSync(join(optDir, 'package.json'), '{ "type": "commonjs" }\n');
  for (const file of ['wrapper.mjs', 'lite-wrapper.mjs']) rewrite(file, (text) => text.replaceAll("'/opt/", `'${optDir}/`));
  rewrite('otel-instrument', (text) => {
    if (!text.includes('TASK_DIR="/var/task"')) throw new Error(`${join(adotOptDir, 'otel-instrument')} no longer sets TASK_DIR="/var/task": check how it finds the handler before measuring it`);
    return text.replace('TASK_DIR="/var/task"', 'TASK_DIR="${LAMBDA_TASK_ROOT}"').replaceAll(' /opt/', ` ${optDir}/`);
  });
  return { optDir, wrapper: join(optDir, 'otel-instrument') };
}

/** A start-up variant of the ADOT layer: the NODE_PATH hook first, as Lambda's runtime resolves a layer's imports. */
function adotVariant(adot, env) {
  return { nodeOptions: `--import ${RUNTIME_HOOK}`, env: { AWS_LAMBDA_EXEC_WRAPPER: adot.wrapper, ...env }, wrapper: adot.wrapper, nodePathPrefix: join(adot.optDir, 'nodejs', 'node_modules') };
}
