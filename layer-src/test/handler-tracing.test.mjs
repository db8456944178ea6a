// A handler run as Lambda runs it, with the built preload: its span continues the X-Ray trace
// Lambda passes in _X_AMZN_TRACE_ID, its fetch is a child span, and the request carries the trace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE } from '../src/contract.generated.mjs';
import { createTaskRoot, lambdaEnvironment, runHandler } from './support/run-handler.mjs';
import { parseXrayHeader, xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

const FETCHING_HANDLER_BODY = `async (event) => {
  const response = await fetch(event.url);
  return { status: response.status, body: await response.text() };
}`;

const HANDLERS = {
  'CommonJS (.js, loaded with require)': {
    files: { 'index.js': `exports.handler = ${FETCHING_HANDLER_BODY};\n` },
    loader: 'auto',
  },
  'CommonJS (.js, loaded with import() as the Node.js 24 runtime does)': {
    files: { 'index.js': `exports.handler = ${FETCHING_HANDLER_BODY};\n` },
    loader: 'import',
  },
  'ES module (.mjs)': {
    files: { 'index.mjs': `export const handler = ${FETCHING_HANDLER_BODY};\n` },
    loader: 'auto',
  },
  'ES module (.js under "type": "module")': {
    files: {
      'package.json': '{ "type": "module" }\n',
      'index.js': `export const handler = ${FETCHING_HANDLER_BODY};\n`,
    },
    loader: 'auto',
  },
};

describe('handler tracing', () => {
  const standIns = useStandIns();

  for (const [kind, { files, loader }] of Object.entries(HANDLERS)) {
    describe(kind, () => {
      it('makes the handler span a child of the Lambda segment and the fetch span its child', async () => {
        const trace = xrayTraceHeader({ sampled: true });
        const taskRoot = createTaskRoot(files);
        const path = `/${kind.replace(/\W+/g, '-')}`;
        const { results } = await runHandler({
          env: { ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
          invocations: [{ event: { url: standIns.downstream.url + path }, traceHeader: trace.header }],
          loader,
        });
        assert.deepEqual(results, [{ result: { status: 200, body: `echo ${path}` } }]);

        const spans = await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === trace.traceId).length >= 2);
        const handlerSpan = spans.find((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-aws-lambda');
        assert.ok(handlerSpan, 'the handler span was exported');
        assert.equal(handlerSpan.name, 'orders-api');
        assert.equal(handlerSpan.parentSpanId, trace.parentSpanId, 'the handler span is a child of the Lambda segment');
        assert.equal(handlerSpan.kind, 2, 'SERVER');
        assert.equal(handlerSpan.attributes['faas.invocation_id'], '00000000-0000-4000-8000-000000000001');

        const fetchSpan = spans.find((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-undici');
        assert.ok(fetchSpan, 'the fetch span was exported');
        assert.equal(fetchSpan.parentSpanId, handlerSpan.spanId, 'the fetch span is a child of the handler span');
        assert.equal(fetchSpan.kind, 3, 'CLIENT');
        const ofTrace = spans.filter((s) => s.traceId === trace.traceId);
        assert.equal(handlerSpan.attributes[COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE], ofTrace.length,
          'the handler span counts the spans of its invocation, itself included, for the collector');

        const request = standIns.downstream.requests.find((r) => r.url === path);
        const xray = parseXrayHeader(request.headers['x-amzn-trace-id']);
        assert.equal(xray.Root, `1-${trace.traceId.slice(0, 8)}-${trace.traceId.slice(8)}`);
        assert.equal(xray.Parent, fetchSpan.spanId);
        assert.equal(xray.Sampled, '1');
        assert.equal(request.headers.traceparent, `00-${trace.traceId}-${fetchSpan.spanId}-01`);

        assert.equal(handlerSpan.resource['service.name'], 'orders-api');
        assert.equal(handlerSpan.resource['cloud.provider'], 'aws');
        assert.equal(handlerSpan.resource['cloud.platform'], 'aws_lambda');
        assert.equal(handlerSpan.resource['cloud.region'], 'eu-west-1');
        assert.equal(handlerSpan.resource['faas.name'], 'orders-api');
        assert.deepEqual(handlerSpan.resource['aws.log.group.names'], ['/aws/lambda/orders-api']);
      });
    });
  }

  it('traces an ES module handler calling node:http through a named import', async () => {
    const trace = xrayTraceHeader({ sampled: true });
    const taskRoot = createTaskRoot({
      'index.mjs': `import { request } from 'node:http';
export const handler = (event) => new Promise((resolve, reject) => {
  const outgoing = request(event.url, (response) => { response.resume(); response.on('end', () => resolve(response.statusCode)); });
  outgoing.on('error', reject);
  outgoing.end();
});
`,
    });
    const { results } = await runHandler({
      env: { ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
      invocations: [{ event: { url: `${standIns.downstream.url}/node-http` }, traceHeader: trace.header }],
    });
    assert.deepEqual(results, [{ result: 200 }]);
    const spans = await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === trace.traceId).length >= 2);
    const handlerSpan = spans.find((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-aws-lambda');
    const httpSpan = spans.find((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-http');
    assert.ok(httpSpan, 'the node:http request was traced');
    assert.equal(httpSpan.parentSpanId, handlerSpan.spanId);
    const request = standIns.downstream.requests.find((r) => r.url === '/node-http');
    assert.equal(parseXrayHeader(request.headers['x-amzn-trace-id']).Parent, httpSpan.spanId);
  });

  it('does not trace requests to the Lambda Runtime API', async () => {
    const trace = xrayTraceHeader({ sampled: true });
    const taskRoot = createTaskRoot({
      'index.js': `const http = require('node:http');
exports.handler = async (event) => {
  const viaFetch = await fetch(event.runtimeApiUrl + '/fetch');
  const viaHttp = await new Promise((resolve, reject) => {
    http.get(event.runtimeApiUrl + '/http', (response) => { response.resume(); response.on('end', () => resolve(response.statusCode)); }).on('error', reject);
  });
  const elsewhere = await fetch(event.otherUrl);
  return [viaFetch.status, viaHttp, elsewhere.status];
};
`,
    });
    const runtimeApi = new URL(standIns.downstream.url).host;
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
        AWS_LAMBDA_RUNTIME_API: runtimeApi,
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
      },
      invocations: [{ event: { runtimeApiUrl: `http://${runtimeApi}/runtime-api`, otherUrl: `http://localhost:${new URL(standIns.downstream.url).port}/elsewhere` }, traceHeader: trace.header }],
    });
    assert.deepEqual(results, [{ result: [200, 200, 200] }]);
    const spans = await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === trace.traceId).length >= 2);
    const ofTrace = spans.filter((s) => s.traceId === trace.traceId);
    assert.deepEqual(ofTrace.map((s) => s.scope).sort(), ['@opentelemetry/instrumentation-aws-lambda', '@opentelemetry/instrumentation-undici']);
    assert.match(ofTrace.find((s) => s.scope === '@opentelemetry/instrumentation-undici').attributes['url.full'], /\/elsewhere$/);
  });

  it('continues W3C trace context from the event headers when Lambda passes no trace header, and prefers Lambda\'s segment when it does', async () => {
    const w3c = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const headers = { traceparent: `00-${w3c.traceId}-${w3c.spanId}-01` };
    const lambda = xrayTraceHeader({ sampled: true });
    const taskRoot = createTaskRoot({ 'index.mjs': 'export const handler = async (event) => event.rawPath;\n' });
    const { results } = await runHandler({
      env: { ...lambdaEnvironment({ taskRoot, handler: 'index.handler', functionName: 'w3c' }), OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
      invocations: [
        { event: { rawPath: '/without-lambda-header', headers } },
        { event: { rawPath: '/with-lambda-header', headers }, traceHeader: lambda.header },
      ],
    });
    assert.deepEqual(results, [{ result: '/without-lambda-header' }, { result: '/with-lambda-header' }]);
    await standIns.collector.waitFor((all) => all.some((s) => s.traceId === w3c.traceId) && all.some((s) => s.traceId === lambda.traceId));
    const fromHeaders = standIns.collector.spans.find((s) => s.traceId === w3c.traceId);
    assert.equal(fromHeaders.parentSpanId, w3c.spanId);
    const fromLambda = standIns.collector.spans.find((s) => s.traceId === lambda.traceId);
    assert.equal(fromLambda.parentSpanId, lambda.parentSpanId);
    assert.equal(standIns.collector.spans.filter((s) => s.name === 'w3c').length, 2);
  });

  it('exports nothing for an invocation whose trace header says Sampled=0', async () => {
    const unsampled = xrayTraceHeader({ sampled: false });
    const sampled = xrayTraceHeader({ sampled: true });
    const taskRoot = createTaskRoot(HANDLERS['ES module (.mjs)'].files);
    const { results } = await runHandler({
      env: { ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
      // The sampled invocation after it proves the process exported what it had by then.
      invocations: [
        { event: { url: `${standIns.downstream.url}/unsampled` }, traceHeader: unsampled.header },
        { event: { url: `${standIns.downstream.url}/sampled` }, traceHeader: sampled.header },
      ],
    });
    assert.equal(results.length, 2);
    assert.equal(results[0].result.body, 'echo /unsampled');
    await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === sampled.traceId).length >= 2);
    assert.deepEqual(standIns.collector.spans.filter((s) => s.traceId === unsampled.traceId), []);
    const request = standIns.downstream.requests.find((r) => r.url === '/unsampled');
    assert.equal(parseXrayHeader(request.headers['x-amzn-trace-id']).Sampled, '0', 'the sampling decision travels downstream');
  });

  it('starts a new trace with an X-Ray trace ID when Lambda passes no trace header', async () => {
    const taskRoot = createTaskRoot(HANDLERS['CommonJS (.js, loaded with require)'].files);
    const startSeconds = Math.floor(Date.now() / 1000);
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler', functionName: 'no-header' }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
      },
      invocations: [{ event: { url: `${standIns.downstream.url}/no-header` } }],
    });
    const endSeconds = Math.ceil(Date.now() / 1000);
    assert.equal(results[0].result.body, 'echo /no-header');
    const spans = await standIns.collector.waitFor((all) => all.some((s) => s.name === 'no-header'));
    const handlerSpan = spans.find((s) => s.name === 'no-header');
    assert.match(handlerSpan.traceId, /^[0-9a-f]{32}$/);
    assert.ok(!handlerSpan.parentSpanId, 'the handler span is a root span');
    // X-Ray accepts a trace only if its ID starts with the epoch seconds of its start.
    const epochSeconds = parseInt(handlerSpan.traceId.slice(0, 8), 16);
    assert.ok(epochSeconds >= startSeconds && epochSeconds <= endSeconds,
      `trace ID ${handlerSpan.traceId} starts with ${epochSeconds}, not a time within [${startSeconds}, ${endSeconds}]`);
  });
});
