// What each invocation's export to the collector costs on the response path: one kept-alive
// connection for all invocations, and no instrumentation work for the export's own request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTaskRoot, lambdaEnvironment, runHandler } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

describe('export to the collector', () => {
  const standIns = useStandIns();

  it('exports every invocation over one connection kept open between invocations', async () => {
    const traces = Array.from({ length: 5 }, () => xrayTraceHeader({ sampled: true }));
    const taskRoot = createTaskRoot({ 'index.js': 'exports.handler = async (event) => (await fetch(event.url)).status;\n' });
    const connectionsBefore = standIns.collector.connections;
    const { results } = await runHandler({
      env: { ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
      invocations: traces.map((trace) => ({ event: { url: `${standIns.downstream.url}/` }, traceHeader: trace.header })),
    });
    assert.deepEqual(results, traces.map(() => ({ result: 200 })));
    await standIns.collector.waitFor((all) => traces.every((trace) => all.some((s) => s.traceId === trace.traceId)));
    assert.equal(standIns.collector.connections - connectionsBefore, 1, 'one connection for the five invocations');
  });

  it('leaves the export request itself untraced, with the http instrumentation on', async () => {
    const trace = xrayTraceHeader({ sampled: true });
    // The handler calls the collector's address itself too: that request is not traced either.
    const taskRoot = createTaskRoot({
      'index.js': `const http = require('node:http');
exports.handler = async (event) => new Promise((resolve, reject) => {
  http.get(event.url, (response) => { response.resume(); response.on('end', () => resolve(response.statusCode)); }).on('error', reject);
});
`,
    });
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http',
      },
      invocations: [
        { event: { url: `${standIns.collector.endpoint}/health` }, traceHeader: trace.header },
        { event: { url: `${standIns.downstream.url}/traced` }, traceHeader: trace.header },
      ],
    });
    assert.deepEqual(results, [{ result: 404 }, { result: 200 }]);
    const spans = await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === trace.traceId).length >= 3);
    const clientSpans = spans.filter((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-http');
    assert.equal(clientSpans.length, 1, `one http span, for the downstream call: ${JSON.stringify(clientSpans.map((s) => s.attributes))}`);
    assert.equal(clientSpans[0].attributes['url.full'] ?? clientSpans[0].attributes['http.url'], `${standIns.downstream.url}/traced`);
  });
});
