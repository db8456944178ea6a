// An invocation cut short still reaches the collector: a handler still running just before its
// deadline is ended as a timeout fault with its children, and a process that exits during an
// invocation (uncaught exception, process.exit) hands its spans over before it is gone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE, COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE } from '../src/contract.generated.mjs';
import { InvocationEnd, TIMEOUT_ERROR_TYPE } from '../src/invocation-end.mjs';
import { DEFAULT_TRACES_URL, tracesUrl } from '../src/tracer-provider.mjs';
import { createTaskRoot, lambdaEnvironment, runHandler } from './support/run-handler.mjs';
import { useStandIns } from './support/stand-ins.mjs';
import { xrayTraceHeader } from './support/xray.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves once `check()` holds, polled; fails after 10 s (a hang, not a speed check). */
async function until(check) {
  for (const started = Date.now(); !check(); await sleep(5)) {
    if (Date.now() - started > 10_000) assert.fail('the awaited state never came');
  }
}
const millis = (hrTime) => hrTime[0] * 1000 + hrTime[1] / 1e6;

/** A tracer provider as the preload builds it, exporting to memory, with the InvocationEnd under test. */
function setUp({ marginMillis = 50 } = {}) {
  const sent = [];
  const flushes = [];
  const invocationEnd = new InvocationEnd({ tracesUrl: DEFAULT_TRACES_URL, marginMillis, sendSync: (url, body) => sent.push({ url, body: JSON.parse(Buffer.from(body).toString('utf8')) }) });
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [invocationEnd, new BatchSpanProcessor(invocationEnd.wrapExporter(exporter))] });
  invocationEnd.setFlush(() => {
    flushes.push(Date.now());
    return provider.forceFlush();
  });
  const tracer = provider.getTracer('test');
  const hooks = invocationEnd.instrumentationConfig();
  /** Starts an invocation as the AWS Lambda instrumentation does: the handler span, then the request hook. */
  const invoke = (timeoutMs) => {
    const span = tracer.startSpan('handler');
    const deadline = Date.now() + timeoutMs;
    hooks.requestHook(span, { context: { getRemainingTimeInMillis: () => deadline - Date.now() } });
    return { span, deadline };
  };
  return { invocationEnd, exporter, provider, tracer, hooks, invoke, sent, flushes };
}

/** A child of `parent` in its trace. */
function childOf(tracer, parent, name) {
  return tracer.startSpan(name, {}, trace.setSpan(ROOT_CONTEXT, parent));
}

describe('InvocationEnd', () => {
  it('counts the spans a handler left running, and flushes each as soon as it ends', async () => {
    const { tracer, invoke, hooks, provider, exporter, flushes } = setUp();
    const { span } = invoke(5000);
    childOf(tracer, span, 'done').end();
    const fetchBody = childOf(tracer, span, 'fetch-still-reading');
    hooks.responseHook(span, {});
    span.end();
    await provider.forceFlush();
    const handler = exporter.getFinishedSpans().find((s) => s.name === 'handler');
    assert.equal(handler.attributes[COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE], 2);
    assert.equal(handler.attributes[COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE], 1, 'the span still open is announced');
    assert.equal(flushes.length, 0);

    fetchBody.end();
    await sleep(0);
    assert.equal(flushes.length, 1, 'the span that outlived the handler is flushed when it ends');
    await provider.forceFlush();
    assert.ok(exporter.getFinishedSpans().some((s) => s.name === 'fetch-still-reading'));

    // A handler that leaves nothing running announces nothing.
    const next = invoke(5000).span;
    hooks.responseHook(next, {});
    next.end();
    await provider.forceFlush();
    const last = exporter.getFinishedSpans().filter((s) => s.name === 'handler').at(-1);
    assert.equal(last.attributes[COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE], undefined);
  });

  it('puts on the handler span how many spans of its trace ended during the invocation, itself included', async () => {
    const { tracer, invoke, hooks, provider, exporter } = setUp();
    // A span of the previous invocation's trace, ending late, is not counted.
    const previous = invoke(5000).span;
    hooks.responseHook(previous, {});
    previous.end();
    const straggler = childOf(tracer, previous, 'previous-straggler');

    const { span } = invoke(5000);
    childOf(tracer, span, 'first').end();
    childOf(tracer, span, 'second').end();
    straggler.end();
    tracer.startSpan('other-trace').end();
    const outliving = childOf(tracer, span, 'ends-after-the-handler');
    hooks.responseHook(span, {});
    span.end();
    outliving.end();
    await provider.forceFlush();

    const handlers = exporter.getFinishedSpans().filter((s) => s.name === 'handler');
    assert.equal(handlers[0].attributes[COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE], 1, 'the previous invocation had its handler span alone');
    assert.equal(handlers[1].attributes[COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE], 3, 'two children and the handler span');
    for (const other of exporter.getFinishedSpans().filter((s) => s.name !== 'handler')) {
      assert.equal(other.attributes[COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE], undefined, `${other.name} carries no count`);
    }
  });

  it('ends a handler still running just before its deadline as a timeout, with its open children, and flushes', async () => {
    // The timer fires 1 s before the 3 s deadline: a loaded machine may delay it, not by 500 ms.
    const { tracer, invoke, exporter, flushes } = setUp({ marginMillis: 1000 });
    const { span, deadline } = invoke(3000);
    const done = childOf(tracer, span, 'done-before');
    done.end();
    const open = childOf(tracer, span, 'still-open');
    const elsewhere = tracer.startSpan('other-trace');
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'handler'));
    assert.equal(flushes.length, 1, 'the tracer provider was flushed once');
    assert.ok(flushes[0] <= deadline - 500, `flushed ${deadline - flushes[0]} ms before the deadline`);
    const spans = exporter.getFinishedSpans();
    const handler = spans.find((s) => s.name === 'handler');
    assert.ok(handler, 'the handler span was exported before the deadline');
    assert.equal(handler.status.code, SpanStatusCode.ERROR);
    assert.equal(handler.events[0].name, 'exception');
    assert.equal(handler.events[0].attributes['exception.type'], TIMEOUT_ERROR_TYPE);
    assert.ok(Math.abs(millis(handler.endTime) - deadline) < 2, 'the handler span ends at the deadline');
    const child = spans.find((s) => s.name === 'still-open');
    assert.ok(child, 'the open child was ended and exported');
    assert.equal(child.parentSpanContext.spanId, span.spanContext().spanId);
    assert.equal(child.status.code, SpanStatusCode.ERROR);
    assert.ok(Math.abs(millis(child.endTime) - deadline) < 2, 'the open child ends at the deadline');
    assert.ok(spans.some((s) => s.name === 'done-before'));
    assert.ok(!spans.some((s) => s.name === 'other-trace'), 'a span of another trace is left alone');
    assert.ok(open.isRecording() === false && elsewhere.isRecording() === true);
    elsewhere.end();
  });

  it('leaves an invocation alone that answers before the deadline', async () => {
    // It answers within milliseconds; the timer would fire 2 s after the start.
    const { invoke, hooks, exporter, flushes } = setUp({ marginMillis: 1000 });
    const { span } = invoke(3000);
    await sleep(20);
    hooks.responseHook(span, {});
    span.end();
    await sleep(2500);
    assert.equal(flushes.length, 0);
    assert.ok(exporter.getFinishedSpans().every((s) => s.status.code !== SpanStatusCode.ERROR));
  });

  it('does not arm a timer when too little time is left to tell a timeout from a late answer', async () => {
    const { invoke, flushes } = setUp({ marginMillis: 50 });
    const { span } = invoke(90);
    await sleep(120);
    assert.equal(flushes.length, 0);
    assert.ok(span.isRecording(), 'the handler span is still open');
  });

  it('on exit during an invocation, sends the handler span with the error and every span not yet exported, once', async () => {
    const { tracer, invoke, invocationEnd, sent, provider } = setUp();
    // An earlier invocation, flushed: never sent again.
    const first = invoke(10_000);
    first.span.end();
    invocationEnd.onResponse();
    await provider.forceFlush();
    const { span } = invoke(10_000);
    childOf(tracer, span, 'ended-child').end();
    childOf(tracer, span, 'open-child');
    invocationEnd.lastError = new Error('boom');
    invocationEnd.onExit(1);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].url, DEFAULT_TRACES_URL);
    const spans = sent[0].body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    assert.deepEqual(spans.map((s) => s.name).sort(), ['ended-child', 'handler', 'open-child']);
    const handler = spans.find((s) => s.name === 'handler');
    assert.equal(handler.status.code, SpanStatusCode.ERROR);
    assert.equal(handler.status.message, 'boom');
    assert.ok(handler.events.some((e) => e.name === 'exception'));
    invocationEnd.onExit(1);
    assert.equal(sent.length, 1, 'nothing left to send the second time');
  });

  it('on exit between invocations with everything exported, sends nothing', async () => {
    const { invoke, invocationEnd, sent, provider } = setUp();
    const { span } = invoke(10_000);
    invocationEnd.onResponse();
    span.end();
    await provider.forceFlush();
    invocationEnd.onExit(0);
    assert.equal(sent.length, 0);
  });

  it('sends where the exporter sends', () => {
    assert.equal(tracesUrl({}), DEFAULT_TRACES_URL);
    assert.equal(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4999' }), 'http://127.0.0.1:4999/v1/traces');
    assert.equal(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4999/' }), 'http://127.0.0.1:4999/v1/traces');
    assert.equal(tracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4999/t', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), 'http://127.0.0.1:4999/t');
  });
});

const CUT_SHORT_HANDLER = `
const { trace } = require('@opentelemetry/api');
const tracer = trace.getTracer('cut-short');
exports.handler = async (event) => {
  tracer.startActiveSpan('before', (span) => span.end());
  if (event.crash === 'throw') setTimeout(() => { throw new Error('boom in a timer'); }, 20);
  if (event.crash === 'exit') setTimeout(() => process.exit(3), 20);
  return tracer.startActiveSpan('waiting', async (span) => {
    await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
    span.end();
    return { slept: event.sleepMs };
  });
};
`;

describe('an invocation cut short, with the built preload', () => {
  const standIns = useStandIns();
  const spansOf = (traceId) => standIns.collector.spans.filter((s) => s.traceId === traceId);
  /** A task root with the handler, which takes @opentelemetry/api from layer-src's node_modules. */
  function handlerEnv() {
    const root = createTaskRoot({ 'index.js': CUT_SHORT_HANDLER });
    return {
      ...lambdaEnvironment({ taskRoot: root, handler: 'index.handler' }),
      NODE_PATH: new URL('../node_modules', import.meta.url).pathname,
      OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
    };
  }

  it('a timeout: the handler span, a timeout fault ending at the deadline, and its open child reach the collector before the deadline', async () => {
    const xray = xrayTraceHeader({ sampled: true });
    let finished = false;
    const run = runHandler({ env: handlerEnv(), invocations: [{ event: { sleepMs: 1500 }, traceHeader: xray.header, timeoutMs: 600 }] })
      .finally(() => { finished = true; });
    const spans = await standIns.collector.waitFor(() => spansOf(xray.traceId).length >= 3, 5000);
    assert.equal(finished, false, 'the spans arrived while the handler was still running');
    const handler = spans.find((s) => s.traceId === xray.traceId && s.name === 'orders-api');
    assert.ok(handler, 'the handler span arrived');
    assert.equal(handler.parentSpanId, xray.parentSpanId);
    assert.equal(handler.status.code, SpanStatusCode.ERROR);
    const exception = handler.events.find((e) => e.name === 'exception');
    assert.ok(exception?.attributes.some((a) => a.key === 'exception.type' && a.value.stringValue === TIMEOUT_ERROR_TYPE), JSON.stringify(handler.events));
    const durationMs = (Number(BigInt(handler.endTimeUnixNano) - BigInt(handler.startTimeUnixNano))) / 1e6;
    // It ends at the deadline, 600 ms after the invocation started (less the time before the span
    // started, which load stretches), never at the handler's own end 1,500 ms in.
    assert.ok(durationMs > 0 && durationMs <= 610, `the handler span lasts until the deadline (600 ms), not ${durationMs} ms`);
    const waiting = spans.find((s) => s.traceId === xray.traceId && s.name === 'waiting');
    assert.ok(waiting, 'the open child arrived');
    assert.equal(waiting.parentSpanId, handler.spanId);
    assert.equal(waiting.status.code, SpanStatusCode.ERROR);
    assert.ok(spans.some((s) => s.traceId === xray.traceId && s.name === 'before' && s.parentSpanId === handler.spanId));
    await run;
    assert.equal(spansOf(xray.traceId).filter((s) => s.name === 'orders-api').length, 1, 'the handler span is not sent twice');
  });

  for (const [crash, exitCode, message] of [['throw', 1, 'boom in a timer'], ['exit', 3, 'the process exited with code 3 during the invocation']]) {
    it(`${crash === 'throw' ? 'an uncaught exception' : 'process.exit'}: the handler span with the error and its children reach the collector before the process is gone`, async () => {
      const xray = xrayTraceHeader({ sampled: true });
      const { code } = await runHandler({ env: handlerEnv(), invocations: [{ event: { sleepMs: 5000, crash }, traceHeader: xray.header }], exitCodes: [exitCode] });
      assert.equal(code, exitCode);
      // Sent synchronously before the exit: already here.
      const spans = spansOf(xray.traceId);
      const handler = spans.find((s) => s.name === 'orders-api');
      assert.ok(handler, `the handler span arrived: ${JSON.stringify(spans.map((s) => s.name))}`);
      assert.equal(handler.status.code, SpanStatusCode.ERROR);
      assert.equal(handler.status.message, message);
      assert.deepEqual(spans.filter((s) => s !== handler).map((s) => [s.name, s.parentSpanId === handler.spanId]).sort(), [['before', true], ['waiting', true]]);
    });
  }
});
