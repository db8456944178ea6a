// Response streaming, everything real: a handler wrapped with awslambda.streamifyResponse, built
// by OtelTracedFunction, run by aws-lambda-ric 3 (Node.js 22) and 4 (Node.js 24), which post the
// response to the Runtime API with `Lambda-Runtime-Function-Response-Mode: streaming` and chunked
// transfer; the caller uses InvokeWithResponseStream over HTTP (an AWS event stream of
// PayloadChunk events, then InvokeComplete). The body arrives unchanged and in chunks as the
// handler writes them (also behind a function URL's HttpResponseStream prelude), and in X-Ray
// the handler segment lasts as long as the stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventStreamMessage, isLambdaFunctionSegment, parseEventStream, postInvokeWithResponseStream } from '../../tools/lambda-emulator/index.mjs';
import { startPipeline } from './pipeline-fixture.mjs';
import { traceWith } from './support/xray-documents.mjs';

const GAP_MS = 100;
const CHUNKS = ['alpha\n', 'bravo\n', 'charlie\n', 'delta\n', 'echo\n'];
const STREAM_MS = (CHUNKS.length - 1) * GAP_MS;

/** Seconds: spans' clocks are anchored to Date.now(), which has millisecond resolution. */
const CLOCK_SLACK_S = 0.002;

const rootOf = (header) => /Root=([^;]+)/.exec(String(header))[1];

/** Lambda's function segment for a function, and the handler segments under it. */
function handlerSegments(nodes, fnName) {
  const functionSegment = nodes.find((n) => isLambdaFunctionSegment(n) && n.name === fnName);
  if (!functionSegment) return { functionSegment, handlers: [] };
  return { functionSegment, handlers: nodes.filter((n) => n.kind === 'segment' && n.parentId === functionSegment.id && !isLambdaFunctionSegment(n)) };
}

describe('response streaming: emulator + collector + preload + X-Ray stand-in', () => {
  let p;
  before(async () => {
    p = await startPipeline('streaming');
  });
  after(async () => {
    await p?.stop();
  });

  /** Invokes with response streaming; waits for the complete trace; returns both. */
  async function streamAndTrace(fnName, event) {
    const response = await postInvokeWithResponseStream(p.service.endpoint, fnName, event);
    await p.service.settle();
    const traceId = rootOf(response.headers['x-amzn-trace-id']);
    const trace = await traceWith(p.reader, traceId, {
      [`Lambda's service segment of ${fnName}`]: (nodes) => nodes.some((n) => n.origin === 'AWS::Lambda' && n.name === fnName),
      [`Lambda's function segment of ${fnName}`]: (nodes) => handlerSegments(nodes, fnName).functionSegment,
      'the handler segment': (nodes) => handlerSegments(nodes, fnName).handlers.length > 0,
      'produce-chunks': (nodes) => nodes.some((n) => n.name === 'produce-chunks'),
    }, { explain: () => p.service.logs.slice(-40).join('\n') });
    const nodes = trace.nodes;
    const explain = `\n${JSON.stringify(nodes.map((n) => ({ id: n.id, parent: n.parentId, name: n.name, kind: n.kind, origin: n.origin, start: n.start, end: n.end, fault: n.fault })), null, 1)}\n${p.service.logs.slice(-40).join('\n')}`;
    return { response, nodes, explain };
  }

  for (const [id, runtimeClient] of [['Streaming22', 'aws-lambda-ric 3, Node.js 22'], ['Streaming24', 'aws-lambda-ric 4, Node.js 24']]) {
    test(`${id} (${runtimeClient}): the body arrives unchanged and in chunks; the handler segment covers the stream`, async () => {
      const fnName = p.functions[id].name;
      const { response, nodes, explain } = await streamAndTrace(fnName, { chunks: CHUNKS, gapMs: GAP_MS });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'text/plain', 'the stream\'s content type');
      assert.equal(response.payload.toString('utf8'), CHUNKS.join(''), 'the bytes arrive unchanged');
      assert.deepEqual(response.complete, {}, 'InvokeComplete without an error');
      assert.ok(response.chunks.length >= CHUNKS.length - 1, `the body arrives in chunks: ${response.chunks.length}`);
      const spreadMs = response.chunks.at(-1).at - response.chunks[0].at;
      console.log(`# ${id}: the chunks arrived over ${spreadMs} ms, written over ${STREAM_MS} ms (informational)`);

      // The trace is like a buffered invocation's: Lambda's segments, one handler segment under
      // the function segment, the handler's own span under it.
      const service = nodes.find((n) => n.origin === 'AWS::Lambda' && n.name === fnName);
      assert.ok(service, `Lambda's service segment${explain}`);
      const { functionSegment, handlers } = handlerSegments(nodes, fnName);
      assert.equal(functionSegment?.parentId, service.id, `the function segment under the service segment${explain}`);
      assert.equal(handlers.length, 1, `one handler segment${explain}`);
      const [handler] = handlers;
      assert.equal(handler.fault, false);
      assert.equal(handler.error, false);
      const produce = nodes.find((n) => n.name === 'produce-chunks');
      assert.equal(produce.parentId, handler.id, `produce-chunks under the handler segment${explain}`);
      // Streamed, not buffered: the first chunk reached the caller before the handler wrote the
      // last one (produce-chunks ends right after that write), an order, not a duration.
      assert.ok(response.chunks[0].at < produce.end * 1000, `the first chunk arrived at ${new Date(response.chunks[0].at).toISOString()}, after the handler wrote the last one at ${new Date(produce.end * 1000).toISOString()}: the response was buffered${explain}`);
      const handlerMs = (handler.end - handler.start) * 1000;
      assert.ok(handlerMs >= STREAM_MS, `the handler segment lasts ${handlerMs} ms, the stream ${STREAM_MS} ms${explain}`);
      assert.ok(handler.end >= produce.end - CLOCK_SLACK_S, `the handler segment ends after the last chunk${explain}`);
      assert.ok(handler.end <= functionSegment.end + 0.001, 'and within Lambda\'s function segment');
      assert.ok(nodes.filter((n) => n.kind === 'segment').every((n) => n.doc.trace_id === rootOf(response.headers['x-amzn-trace-id'])));
    });
  }

  test('a handler that returns before its stream ends: the handler segment still covers the whole stream', async () => {
    const fnName = p.functions.Streaming24.name;
    const { response, nodes, explain } = await streamAndTrace(fnName, { chunks: CHUNKS, gapMs: GAP_MS, returnEarly: true });
    assert.equal(response.payload.toString('utf8'), CHUNKS.join(''));
    const { handlers: [handler] } = handlerSegments(nodes, fnName);
    const produce = nodes.find((n) => n.name === 'produce-chunks');
    const handlerMs = (handler.end - handler.start) * 1000;
    assert.ok(handlerMs >= STREAM_MS, `the handler segment lasts ${handlerMs} ms${explain}`);
    assert.ok(handler.end >= produce.end - CLOCK_SLACK_S, `the handler segment ends after the last chunk${explain}`);
  });

  test('a handler that fails mid-stream: the bytes before the error arrive, InvokeComplete names it, the handler segment is a fault', async () => {
    const fnName = p.functions.Streaming22.name;
    const { response, nodes, explain } = await streamAndTrace(fnName, { chunks: CHUNKS, gapMs: GAP_MS, failAfter: 2 });
    assert.equal(response.payload.toString('utf8'), CHUNKS.slice(0, 2).join(''));
    assert.equal(response.complete?.ErrorCode, 'Error', JSON.stringify(response.complete));
    assert.match(response.complete.ErrorDetails, /the source failed after 2 chunks/);
    const { handlers: [handler] } = handlerSegments(nodes, fnName);
    assert.equal(handler.fault, true, `the handler segment is a fault${explain}`);
    assert.ok((handler.doc.cause?.exceptions ?? []).some((e) => /the source failed after 2 chunks/.test(e.message ?? '')), `its cause names the error${explain}`);
    assert.ok((handler.end - handler.start) * 1000 >= GAP_MS, `it lasts until the error${explain}`);
  });

  test('a function URL\'s HTTP response (HttpResponseStream.from): its prelude, then the chunks, unchanged; the segment covers the stream', async () => {
    const fnName = p.functions.Streaming24.name;
    const prelude = { statusCode: 201, headers: { 'x-answer': 'streamed' } };
    const { response, nodes, explain } = await streamAndTrace(fnName, { chunks: CHUNKS, gapMs: GAP_MS, prelude });
    assert.equal(response.headers['content-type'], 'application/vnd.awslambda.http-integration-response');
    const expected = Buffer.concat([Buffer.from(JSON.stringify(prelude)), Buffer.alloc(8), Buffer.from(CHUNKS.join(''))]);
    assert.deepEqual(response.payload, expected, 'the prelude, 8 zero bytes, then the body');
    const { handlers: [handler] } = handlerSegments(nodes, fnName);
    assert.ok((handler.end - handler.start) * 1000 >= STREAM_MS, `the handler segment covers the stream${explain}`);
  });

  test('InvokeWithResponseStream on an unknown function: 404 with Lambda\'s error document', async () => {
    const response = await postInvokeWithResponseStream(p.service.endpoint, 'E2e-NoSuchFunction', {});
    assert.equal(response.statusCode, 404);
    assert.match(JSON.parse(response.payload.toString('utf8')).message, /Function not found/);
  });

  test('the event stream encoding: messages split across reads come out whole; a flipped bit fails the CRC', () => {
    const bytes = Buffer.concat([
      eventStreamMessage({ ':event-type': 'PayloadChunk', ':message-type': 'event' }, Buffer.from('chunk one')),
      eventStreamMessage({ ':event-type': 'InvokeComplete', ':message-type': 'event' }, Buffer.from('{}')),
    ]);
    const first = parseEventStream(bytes.subarray(0, 100));
    assert.equal(first.messages.length, 1);
    const second = parseEventStream(Buffer.concat([first.rest, bytes.subarray(100)]));
    assert.deepEqual(second.messages.map((m) => [m.headers[':event-type'], m.payload.toString()]), [['InvokeComplete', '{}']]);
    assert.equal(first.messages[0].payload.toString(), 'chunk one');
    const corrupt = Buffer.from(bytes);
    corrupt[20] ^= 1;
    assert.throws(() => parseEventStream(corrupt), /CRC mismatch/);
  });

  test('the Invoke API on a streaming function answers with the whole body, as Lambda buffers it', async () => {
    const result = await p.service.invoke(p.functions.Streaming24.name, { chunks: CHUNKS, gapMs: 10 });
    assert.equal(result.functionError, undefined);
    assert.equal(result.payload.toString('utf8'), CHUNKS.join(''));
  });
});
