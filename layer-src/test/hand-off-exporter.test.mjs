// The end-of-invocation flush does not wait for the collector's answer when the collector is on
// loopback: the export is done once the request is with the socket. A collector that is absent
// still fails the export at once, and one that refuses the spans after the hand-off gets them
// once more.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HandOffExporter, isLoopbackUrl } from '../src/hand-off-exporter.mjs';
import { COLLECTOR_OTLP_TRACES_URL } from '../src/contract.generated.mjs';
import { createExporter, exportTimeoutMillis, DEFAULT_EXPORT_TIMEOUT_MILLIS } from '../src/tracer-provider.mjs';
import { startOtlpStandIn } from './support/otlp-stand-in.mjs';
import { createTaskRoot, lambdaEnvironment, runHandler } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';

/** Ended spans to export, from an in-memory provider. */
function someSpans(names) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('test');
  for (const name of names) tracer.startSpan(name).end();
  return memory.getFinishedSpans();
}

/** Exports and resolves with the result and how long it took. */
function exportTimed(exporter, spans) {
  const started = performance.now();
  return new Promise((resolve) => exporter.export(spans, (result) => resolve({ result, millis: performance.now() - started })));
}

async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('hand-off exporter', () => {
  it('is done once the request is handed to the socket, before the collector answers', async () => {
    // The collector answers after 3 s; a hand-off takes milliseconds. The check sits far from both.
    const collector = await startOtlpStandIn({ answerDelayMillis: 3000 });
    const exporter = new HandOffExporter({ url: `${collector.endpoint}/v1/traces`, timeoutMillis: 6000 });
    try {
      const { result, millis } = await exportTimed(exporter, someSpans(['a', 'b']));
      assert.equal(result.code, ExportResultCode.SUCCESS);
      assert.ok(millis < 1500, `done after ${millis.toFixed(1)} ms, the collector answers after 3000 ms`);
      await collector.waitFor((spans) => spans.length === 2);
      await exporter.shutdown();
    } finally {
      await collector.close();
    }
  });

  it('fails at once when nothing listens, as the OTLP exporter does', async () => {
    // A refused connection fails in milliseconds; waiting for the 5 s timeout would not.
    const exporter = new HandOffExporter({ url: `http://127.0.0.1:${await closedPort()}/v1/traces`, timeoutMillis: 5000 });
    const { result, millis } = await exportTimed(exporter, someSpans(['a']));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(result.error instanceof Error);
    assert.ok(millis < 2000, `failed after ${millis.toFixed(1)} ms`);
  });

  it('sends the spans once more when the collector refuses them after the hand-off (503)', async () => {
    const collector = await startOtlpStandIn({ statuses: [503] });
    const exporter = new HandOffExporter({ url: `${collector.endpoint}/v1/traces`, timeoutMillis: 1000 });
    try {
      const { result } = await exportTimed(exporter, someSpans(['kept']));
      assert.equal(result.code, ExportResultCode.SUCCESS);
      await collector.waitFor((spans) => spans.length === 1);
      await exporter.forceFlush();
      assert.equal(collector.requests.length, 2, 'the refused request and the resend');
    } finally {
      await exporter.shutdown();
      await collector.close();
    }
  });

  it('sends the spans once more when the connection breaks before any answer', async () => {
    let accepted = 0;
    const received = [];
    // The first connection reads the request and closes without answering; later ones answer 200.
    const server = net.createServer((socket) => {
      accepted += 1;
      const first = accepted === 1;
      let data = '';
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        data += chunk;
        if (!data.includes('\r\n\r\n')) return;
        const length = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? 0);
        if (Buffer.byteLength(data.slice(data.indexOf('\r\n\r\n') + 4)) < length) return;
        if (first) { socket.destroy(); return; }
        received.push(data);
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const exporter = new HandOffExporter({ url: `http://127.0.0.1:${server.address().port}/v1/traces`, timeoutMillis: 1000 });
    try {
      const { result } = await exportTimed(exporter, someSpans(['kept']));
      assert.equal(result.code, ExportResultCode.SUCCESS);
      await exporter.forceFlush();
      assert.equal(received.length, 1, 'the spans arrived on the second connection');
      assert.match(received[0], /"kept"/);
    } finally {
      await exporter.shutdown();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('is used for a collector on loopback only, and not with OTLP headers or compression', () => {
    assert.ok(isLoopbackUrl(COLLECTOR_OTLP_TRACES_URL));
    assert.ok(isLoopbackUrl('http://localhost:4318/v1/traces'));
    assert.ok(isLoopbackUrl('http://[::1]:4318/v1/traces'));
    assert.ok(!isLoopbackUrl(COLLECTOR_OTLP_TRACES_URL.replace('http:', 'https:')));
    assert.ok(!isLoopbackUrl('http://collector.example.com:4318/v1/traces'));
    assert.ok(!isLoopbackUrl('not a url'));
    assert.ok(createExporter({}) instanceof HandOffExporter);
    assert.ok(createExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4999' }) instanceof HandOffExporter);
    assert.ok(createExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' }) instanceof OTLPTraceExporter);
    assert.ok(createExporter({ OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=1' }) instanceof OTLPTraceExporter);
    assert.ok(createExporter({ OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip' }) instanceof OTLPTraceExporter);
    assert.equal(exportTimeoutMillis({}), DEFAULT_EXPORT_TIMEOUT_MILLIS);
    assert.equal(exportTimeoutMillis({ OTEL_EXPORTER_OTLP_TIMEOUT: '250' }), 250);
    assert.equal(exportTimeoutMillis({ OTEL_EXPORTER_OTLP_TIMEOUT: '250', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '300' }), 300);
    assert.equal(exportTimeoutMillis({ OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }), DEFAULT_EXPORT_TIMEOUT_MILLIS);
  });

  it('does not hold a traced invocation\'s response for the collector\'s answer', async () => {
    const collector = await startOtlpStandIn({ answerDelayMillis: 3000 });
    try {
      const traces = Array.from({ length: 3 }, () => xrayTraceHeader({ sampled: true }));
      const taskRoot = createTaskRoot({ 'index.mjs': 'export const handler = async () => Date.now();\n' });
      const { results } = await runHandler({
        env: { ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }), OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: '6000' },
        invocations: traces.map((trace) => ({ event: {}, traceHeader: trace.header })),
      });
      const times = results.map((r) => r.result);
      // Invocations run back to back: the gap includes the end-of-invocation flush of the one
      // before, milliseconds; waiting for the collector's answer would make it 3 s.
      for (let i = 1; i < times.length; i++) {
        assert.ok(times[i] - times[i - 1] < 1500, `invocation ${i + 1} started ${times[i] - times[i - 1]} ms after the one before; the collector answers after 3000 ms`);
      }
      await collector.waitFor((all) => traces.every((trace) => all.some((s) => s.traceId === trace.traceId)));
    } finally {
      await collector.close();
    }
  });
});
