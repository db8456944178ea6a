// Response streaming handlers (awslambda.streamifyResponse) run as the runtime interface client
// runs them, with the built preload: the handler span lasts as long as the stream, however the
// handler ends it, its spans reach the collector before the response ends, the bytes arrive
// unchanged and in their chunks, and an error marks the span.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createTaskRoot, lambdaEnvironment, preloadInit } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

const harness = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'streaming-harness.mjs');
const GAP_MS = 100;

const HANDLERS = {
  'awaits its writes and ends the stream': `
    export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
      for (const chunk of event.chunks.slice(0, -1)) {
        responseStream.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, ${GAP_MS}));
      }
      responseStream.end(event.chunks.at(-1));
    });`,
  'returns before the stream ends (open-telemetry/opentelemetry-js-contrib#2827)': `
    export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
      const chunks = [...event.chunks];
      const next = () => {
        const chunk = chunks.shift();
        if (chunks.length === 0) return responseStream.end(chunk);
        responseStream.write(chunk);
        setTimeout(next, ${GAP_MS});
      };
      next();
    });`,
  'pipes a readable into the stream with stream/promises pipeline': `
    import { Readable } from 'node:stream';
    import { pipeline } from 'node:stream/promises';
    export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
      async function* chunks() {
        for (const [i, chunk] of event.chunks.entries()) {
          if (i > 0) await new Promise((resolve) => setTimeout(resolve, ${GAP_MS}));
          yield chunk;
        }
      }
      await pipeline(Readable.from(chunks()), responseStream);
    });`,
};

const FAILING_HANDLER = `
  export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
    responseStream.write('partial ');
    await new Promise((resolve) => setTimeout(resolve, ${GAP_MS}));
    throw new Error('the source went away');
  });`;

describe('response streaming handlers', () => {
  const standIns = useStandIns();
  /** @type {Awaited<ReturnType<typeof startRuntimeApiStandIn>>} */
  let runtimeApi;
  before(async () => { runtimeApi = await startRuntimeApiStandIn(); });
  after(() => runtimeApi.close());

  for (const [kind, source] of Object.entries(HANDLERS)) {
    it(`a handler that ${kind}: one span over the whole stream, flushed before the response ends, bytes unchanged`, async () => {
      const trace = xrayTraceHeader({ sampled: true });
      const chunks = ['first chunk\n', 'second chunk\n', 'third chunk\n', 'the end\n'];
      const { results } = await runStreaming({ source, standIns, runtimeApi, invocations: [{ event: { chunks }, traceHeader: trace.header }] });
      assert.deepEqual(results, [{ result: null }]);

      const response = runtimeApi.responses.at(-1);
      assert.equal(response.headers['lambda-runtime-function-response-mode'], 'streaming');
      assert.equal(response.headers['transfer-encoding'], 'chunked');
      assert.equal(response.body, chunks.join(''), 'the bytes arrive unchanged');
      // Streamed, not buffered: the body arrives in more than one piece, spread over time (the
      // handler writes a chunk every 100 ms; a loaded machine may merge some, not all of them).
      assert.ok(response.chunks.length >= 2, `the body arrives in chunks: ${JSON.stringify(response.chunks)}`);
      const streamedMs = response.endedAt - response.chunks[0].at;
      console.log(`# the stream lasted ${streamedMs} ms in ${response.chunks.length} chunks (written over ${(chunks.length - 1) * GAP_MS} ms)`);
      assert.ok(streamedMs > 0, `the stream lasted ${streamedMs} ms`);
      assert.deepEqual(response.trailers, {});

      // The end-of-invocation flush hands the spans to the loopback collector before the end of
      // the stream is passed on; the collector reads them on its own connection, so they may be
      // counted just after the response's end arrives.
      const handlerSpans = await handlerSpansOf(standIns, trace);
      assert.equal(handlerSpans.length, 1, 'one handler span');
      const [span] = handlerSpans;
      assert.ok(Number(BigInt(span.endTimeUnixNano) / 1_000_000n) <= response.endedAt, 'the handler span ended before the response ended');
      assert.equal(span.parentSpanId, trace.parentSpanId, 'the handler span is a child of the Lambda segment');
      assert.equal(span.kind, 2, 'SERVER');
      assert.equal(span.status?.code ?? 0, 0, 'no error');
      const durationMs = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
      assert.ok(durationMs >= (chunks.length - 1) * GAP_MS - 5, `the handler span covers the stream: ${durationMs} ms`);
    });
  }

  it('a handler that fails mid-stream: the span is an error with the exception, the runtime reports the error', async () => {
    const trace = xrayTraceHeader({ sampled: true });
    const { results } = await runStreaming({ source: FAILING_HANDLER, standIns, runtimeApi, invocations: [{ event: {}, traceHeader: trace.header }] });
    assert.deepEqual(results, [{ error: 'the source went away' }]);
    const response = runtimeApi.responses.at(-1);
    assert.equal(response.body, 'partial ');
    assert.equal(response.trailers['lambda-runtime-function-error-type'], 'Error');

    const [span] = await handlerSpansOf(standIns, trace);
    assert.ok(span, 'the handler span was exported');
    assert.equal(span.status.code, 2, 'ERROR');
    assert.equal(span.status.message, 'the source went away');
    assert.ok(span.events.some((e) => e.name === 'exception'), 'the exception is recorded');
    const durationMs = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
    assert.ok(durationMs >= GAP_MS - 5, `the span lasts until the error: ${durationMs} ms`);
  });

  it('successive streamed invocations: each its own span, each flushed', async () => {
    const traces = [xrayTraceHeader({ sampled: true }), xrayTraceHeader({ sampled: true })];
    const chunks = ['a', 'b'];
    const { results } = await runStreaming({
      source: HANDLERS['returns before the stream ends (open-telemetry/opentelemetry-js-contrib#2827)'],
      standIns, runtimeApi,
      invocations: traces.map((t) => ({ event: { chunks }, traceHeader: t.header })),
    });
    assert.deepEqual(results, [{ result: null }, { result: null }]);
    for (const trace of traces) {
      assert.equal((await handlerSpansOf(standIns, trace)).length, 1);
    }
    assert.deepEqual(runtimeApi.responses.slice(-2).map((r) => r.body), ['ab', 'ab']);
  });
});

/** The handler spans of one trace, once the collector stand-in has at least one (at most 5 s). */
async function handlerSpansOf(standIns, trace) {
  const ofTrace = (spans) => spans.filter((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-aws-lambda');
  await standIns.collector.waitFor((spans) => ofTrace(spans).length > 0, 5_000).catch(() => undefined);
  return ofTrace(standIns.collector.spans);
}

/** Runs the streaming harness with the preload in a child process; resolves with its results. */
function runStreaming({ source, standIns, runtimeApi, invocations }) {
  const taskRoot = createTaskRoot({ 'index.mjs': source });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harness], {
      env: {
        PATH: process.env.PATH,
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
        NODE_OPTIONS: `--import ${preloadInit}`,
        HARNESS_RUNTIME_API: runtimeApi.address,
        HARNESS_INVOCATIONS: JSON.stringify(invocations),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`streaming harness exited with ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      resolve({ results: stdout.split('\n').filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7))), stdout, stderr });
    });
  });
}

/**
 * The Runtime API's response route for streamed responses: records each chunk as it arrives,
 * the trailers and when the body ended.
 */
async function startRuntimeApiStandIn() {
  const responses = [];
  const server = http.createServer((req, res) => {
    const response = { headers: req.headers, chunks: [], body: '', trailers: {}, endedAt: undefined };
    responses.push(response);
    req.on('data', (chunk) => {
      response.chunks.push({ at: Date.now(), text: chunk.toString('utf8') });
      response.body += chunk.toString('utf8');
    });
    req.on('end', () => {
      response.endedAt = Date.now();
      response.trailers = { ...req.trailers };
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"OK"}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    responses,
    close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }),
  };
}
