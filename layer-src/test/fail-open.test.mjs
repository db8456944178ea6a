// The preload never changes what the function answers: not when the collector is unreachable,
// not when its configuration is wrong, not when the handler fails.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startDownstreamStandIn } from './support/downstream-stand-in.mjs';
import { createTaskRoot, lambdaEnvironment, runHandler } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';

const HANDLER = {
  'index.mjs': `export const handler = async (event) => {
  if (event.fail) throw new Error('order ' + event.order + ' not found');
  const response = await fetch(event.url);
  return { order: event.order, downstream: await response.text() };
};
`,
};

/** A loopback port nothing listens on: bound, then released. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('fail open', () => {
  let downstream;
  let env;
  let invocations;
  let untraced;
  before(async () => {
    downstream = await startDownstreamStandIn();
    env = lambdaEnvironment({ taskRoot: createTaskRoot(HANDLER), handler: 'index.handler' });
    invocations = [
      { event: { order: 1, url: `${downstream.url}/orders/1` }, traceHeader: xrayTraceHeader({ sampled: true }).header },
      { event: { order: 2, fail: true }, traceHeader: xrayTraceHeader({ sampled: true }).header },
      { event: { order: 3, url: `${downstream.url}/orders/3` } },
    ];
    untraced = await runHandler({ env, invocations, preload: false });
    assert.deepEqual(untraced.results, [
      { result: { order: 1, downstream: 'echo /orders/1' } },
      { error: 'Error: order 2 not found' },
      { result: { order: 3, downstream: 'echo /orders/3' } },
    ]);
  });
  after(() => downstream.close());

  it('answers as without the preload, and silently, when the collector is unreachable', async () => {
    const traced = await runHandler({
      env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}` },
      invocations,
    });
    assert.deepEqual(traced.results, untraced.results);
    assert.equal(traced.stderr, '', 'nothing is logged unless OTEL_LOG_LEVEL asks for it');
    assert.deepEqual(traced.stdout.trim().split('\n').filter((line) => !line.startsWith('RESULT ')), []);
  });

  it('answers as without the preload when the collector accepts connections but never answers', async () => {
    const sockets = new Set();
    const hung = net.createServer((socket) => { sockets.add(socket); socket.on('error', () => {}); });
    await new Promise((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const traced = await runHandler({
        env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${hung.address().port}` },
        invocations,
      });
      assert.deepEqual(traced.results, untraced.results);
      assert.equal(traced.stderr, '');
      assert.ok(sockets.size > 0, 'the preload did try to export');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  it('reports the failed export when OTEL_LOG_LEVEL asks for it', async () => {
    const traced = await runHandler({
      env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`, OTEL_LOG_LEVEL: 'info' },
      invocations: invocations.slice(0, 1),
    });
    assert.deepEqual(traced.results, untraced.results.slice(0, 1));
    // The diagnostic logger writes through console: info goes to stdout, which Lambda logs too.
    assert.match(traced.stdout + traced.stderr, /Export failed|Export retry/);
  });

  for (const [variable, value, expected] of [
    ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'http,htp', /OTEL_NODE_ENABLED_INSTRUMENTATIONS="http,htp" is not valid: unknown instrumentation "htp"\. Use a comma-separated list of aws-lambda, http, undici, aws-sdk/],
    ['OTEL_PROPAGATORS', 'xray-lambda,b3', /OTEL_PROPAGATORS="xray-lambda,b3" is not valid: unknown propagator "b3"\. Use a comma-separated list of tracecontext, baggage, xray, xray-lambda, none/],
    ['OTEL_LOG_LEVEL', 'loud', /OTEL_LOG_LEVEL="loud" is not valid: unknown log level\. Set it to one of none, error, warn, info, debug, verbose, all/],
  ]) {
    it(`runs the handler untraced and says why in one line when ${variable} is wrong`, async () => {
      const traced = await runHandler({ env: { ...env, [variable]: value }, invocations });
      assert.deepEqual(traced.results, untraced.results);
      const lines = traced.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${traced.stderr}`);
      assert.match(lines[0], /^\[otel-preload\] tracing disabled, the function runs untraced: PreloadConfigError: /);
      assert.match(lines[0], expected);
    });
  }
});
