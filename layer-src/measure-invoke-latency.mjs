// Measures what the preload adds to each invocation's response time: a warm handler making
// nine fetches to a local server (ten spans with the handler's own), with the preload exporting
// to a local OTLP/HTTP receiver, against the same handler without the preload. The difference
// is the instrumentation plus the end-of-invocation flush. Prints figures only.
// Usage: node layer-src/measure-invoke-latency.mjs [invocations]   (after node layer-src/build.mjs)
import { startDownstreamStandIn } from './test/support/downstream-stand-in.mjs';
import { startOtlpStandIn } from './test/support/otlp-stand-in.mjs';
import { createTaskRoot, lambdaEnvironment, runHandler } from './test/support/run-handler.mjs';
import { xrayTraceHeader } from './test/support/xray.mjs';

const count = Number(process.argv[2] ?? 200);
const collector = await startOtlpStandIn();
const downstream = await startDownstreamStandIn();
const taskRoot = createTaskRoot({
  'index.js': `exports.handler = async (event) => {
  for (let i = 0; i < 9; i += 1) await (await fetch(event.url)).text();
  return 'ok';
};
`,
});
const invocations = Array.from({ length: count }, () => ({ event: { url: `${downstream.url}/` }, traceHeader: xrayTraceHeader({ sampled: true }).header }));
const env = { ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, HARNESS_REPORT_READY: '1' };

const durations = (stdout) => stdout.split('\n').filter((l) => l.startsWith('DURATION ')).map((l) => Number(l.slice(9))).slice(10); // after warm-up
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const bare = durations((await runHandler({ env, invocations, preload: false })).stdout);
const traced = durations((await runHandler({ env, invocations })).stdout);
const f = (ms) => `${ms.toFixed(2)} ms`;
console.log(`${process.version}, ${bare.length} warm invocations of 10 spans each`);
console.log(`  bare    p50 ${f(quantile(bare, 0.5))}  p99 ${f(quantile(bare, 0.99))}`);
console.log(`  preload p50 ${f(quantile(traced, 0.5))}  p99 ${f(quantile(traced, 0.99))}`);
console.log(`  added   p50 ${f(quantile(traced, 0.5) - quantile(bare, 0.5))}  p99 ${f(quantile(traced, 0.99) - quantile(bare, 0.99))}`);
console.log(`  spans received by the OTLP stand-in: ${collector.spans.length}`);
await collector.close();
await downstream.close();
