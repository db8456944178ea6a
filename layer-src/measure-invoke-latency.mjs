// Measures what the preload adds to each invocation's response time, with the handler of the
// project's benchmark: ten spans of its own, one of them around a fetch to a local server
// (traced, the invocation and the fetch add two more: 12 spans exported per invocation). The
// preload exports to a local OTLP/HTTP receiver when each invocation ends, against the same
// handler without the preload. The difference is the instrumentation plus the end-of-invocation
// flush. The first invocation of each process, which also pays for what is loaded on first use,
// is reported apart. A third variant exports to a port where nothing listens (the export is refused at once):
// its difference to bare Node.js is the span work alone. Each handler process runs on one core (the receiver and the downstream server on
// another), variants alternate process by process, and warm-up invocations are not counted.
// Prints figures only; it passes or fails nothing.
//
// Usage: node layer-src/measure-invoke-latency.mjs [invocations] [other-init.mjs]   (after node layer-src/build.mjs)
// With a second init.mjs (e.g. a copy of an earlier build), both preloads run in the same rounds.
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDownstreamStandIn } from './test/support/downstream-stand-in.mjs';
import { startOtlpStandIn } from './test/support/otlp-stand-in.mjs';
import { createTaskRoot, lambdaEnvironment, preloadInit } from './test/support/run-handler.mjs';
import { xrayTraceHeader } from './test/support/xray.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const count = Number(process.argv[2] ?? 400);
const preloads = { preload: preloadInit, ...(process.argv[3] ? { other: path.resolve(process.argv[3]) } : {}) };
const ROUNDS = 8;
const WARM_UP = 20;
const harness = path.join(here, 'test', 'support', 'lambda-harness.mjs');
const onCore = (core) => (spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', String(core)] : []);

const collector = await startOtlpStandIn();
const downstream = await startDownstreamStandIn();
const api = JSON.stringify(path.join(here, 'node_modules', '@opentelemetry', 'api'));
const taskRoot = createTaskRoot({
  'index.js': `const { trace } = require(${api});
const tracer = trace.getTracer('measure-handler');
exports.handler = async (event) => {
  let checksum = 0;
  for (let i = 0; i < 9; i += 1) {
    tracer.startActiveSpan('step-' + i, (span) => { span.setAttribute('measure.step', i); checksum += i; span.end(); });
  }
  const status = await tracer.startActiveSpan('call-downstream', async (span) => {
    try {
      const response = await fetch(event.url);
      await response.arrayBuffer();
      span.setAttribute('measure.status', response.status);
      return response.status;
    } finally {
      span.end();
    }
  });
  return { status, checksum };
};
`,
});
const perProcess = Math.ceil(count / ROUNDS) + WARM_UP;
const invocations = Array.from({ length: perProcess }, () => ({ event: { url: `${downstream.url}/` }, traceHeader: xrayTraceHeader({ sampled: true }).header }));
const env = { PATH: process.env.PATH, ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, HARNESS_REPORT_READY: '1', HARNESS_INVOCATIONS: JSON.stringify(invocations) };

// A port nothing listens on: bound, then released.
const refusedEndpoint = await new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(`http://127.0.0.1:${port}`));
  });
});

/** [wall, cpu] of the first and of the warm invocations of one handler process. */
function durationsOf({ nodeOptions, endpoint = collector.endpoint }) {
  const [command, ...args] = [...onCore(1), process.execPath, harness];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...env, NODE_OPTIONS: nodeOptions, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('close', (code) => {
      if (code !== 0 || stderr.includes('tracing disabled')) reject(new Error(`handler process failed (${code}):\n${stderr}`));
      else {
        const durations = stdout.split('\n').filter((l) => l.startsWith('DURATION ')).map((l) => l.slice(9).split(' ').map(Number));
        resolve({ first: durations[0], warm: durations.slice(WARM_UP) });
      }
    });
  });
}

const variants = {
  bare: { nodeOptions: '' },
  ...Object.fromEntries(Object.entries(preloads).map(([name, init]) => [name, { nodeOptions: `--import ${init}` }])),
  'no collector': { nodeOptions: `--import ${preloads.preload}`, endpoint: refusedEndpoint },
};
const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
const firsts = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
const names = Object.keys(variants);
for (let round = 0; round < ROUNDS; round += 1) {
  for (let i = 0; i < names.length; i += 1) {
    const name = names[(i + round) % names.length];
    const { first, warm } = await durationsOf(variants[name]);
    samples[name].push(...warm);
    firsts[name].push(first);
  }
}
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const f = (ms) => `${ms.toFixed(2)} ms`.padStart(8);
console.log(`${process.version}, ${samples.bare.length} warm invocations per variant, 10 spans of the handler's own + fetch (12 exported)`);
console.log('  response time (wall), and CPU time of the handler process during the invocation (less sensitive to other load)');
for (const name of names) {
  const of = (variant, measure) => samples[variant].map((run) => run[measure === 'wall' ? 0 : 1]);
  const line = (measure) => {
    const [p50, p99] = [0.5, 0.99].map((q) => quantile(of(name, measure), q));
    if (name === 'bare') return `${measure} p50 ${f(p50)} p99 ${f(p99)}`;
    return `${measure} p50 ${f(p50)} p99 ${f(p99)} (added p50 ${f(p50 - quantile(of('bare', measure), 0.5))}, p99 ${f(p99 - quantile(of('bare', measure), 0.99))})`;
  };
  console.log(`  ${name.padEnd(12)} ${line('wall')}\n  ${''.padEnd(12)} ${line('cpu')}`);
}
console.log(`  first invocation of each process (${ROUNDS} processes), median:`);
for (const name of names) {
  const median = (measure) => quantile(firsts[name].map((run) => run[measure]), 0.5);
  const added = name === 'bare' ? '' : ` (added ${f(median(0) - quantile(firsts.bare.map((run) => run[0]), 0.5))})`;
  console.log(`  ${name.padEnd(12)} wall ${f(median(0))}${added}  cpu ${f(median(1))}`);
}
console.log(`  spans received by the OTLP stand-in: ${collector.spans.length}`);
await collector.close();
await downstream.close();
