// Log correlation, everything real: functions built by OtelTracedFunction with Lambda's JSON log
// format (LoggingFormat.JSON, aws-lambda-ric 4 on Node.js 24) and the text format (aws-lambda-ric 3
// on Node.js 22) log a line in the handler and one inside a span of their own. The lines the
// runtime writes carry the trace ID X-Ray has for the invocation and the ID of a segment or
// subsegment of that trace; the line of Init carries none. The handler segment names the
// function's log group (aws.cloudwatch_logs, from the preload's aws.log.group.names). Each runs
// twice: the runtime writing to stdout, and writing frames to _LAMBDA_TELEMETRY_LOG_FD as in
// Lambda's managed runtimes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isLambdaFunctionSegment } from '../../tools/lambda-emulator/index.mjs';
import { startPipeline } from './pipeline-fixture.mjs';
import { traceWith } from './support/xray-documents.mjs';

for (const framed of [false, true]) describe(`log correlation, the runtime writing ${framed ? 'frames to its telemetry log descriptor' : 'to stdout'}: emulator + collector + preload + X-Ray stand-in`, () => {
  let p;
  before(async () => {
    p = await startPipeline(framed ? 'log-correlation-framed' : 'log-correlation', { adjust: (fn) => ({ ...fn, telemetryLogFd: framed }) });
  });
  after(async () => {
    await p?.stop();
  });

  /** Invokes; returns the invocation, its trace's handler segment and span, and the runtime's lines. */
  async function invokeAndRead(id) {
    const fnName = p.functions[id].name;
    const marker = randomUUID();
    const result = await p.service.invoke(fnName, { marker });
    assert.equal(result.functionError, undefined, result.payload.toString());
    await p.service.settle();
    const handlerOf = (nodes) => nodes.find((n) => n.kind === 'segment' && n.parentId === result.functionSegmentId && !isLambdaFunctionSegment(n));
    const trace = await traceWith(p.reader, result.traceId, {
      'the handler segment': handlerOf,
      'log-inside-span': (nodes) => nodes.some((n) => n.name === 'log-inside-span'),
    }, { explain: () => p.service.logs.slice(-40).join('\n') });
    const nodes = trace.nodes;
    const explain = `\n${JSON.stringify(nodes.map((n) => ({ id: n.id, parent: n.parentId, name: n.name, kind: n.kind })), null, 1)}`;
    const handler = handlerOf(nodes);
    const span = nodes.find((n) => n.name === 'log-inside-span');
    assert.equal(span.parentId, handler.id, `log-inside-span under the handler segment${explain}`);
    const entries = p.service.environments(fnName).flatMap((env) => env.logs).filter((l) => l.source === 'runtime');
    const lines = entries.map((l) => l.line);
    const find = (text) => {
      const entry = entries.find((l) => l.line.includes(text));
      assert.ok(entry, `the runtime wrote a line with "${text}":\n${lines.join('\n')}`);
      assert.equal(Boolean(entry.framed), framed, `written ${framed ? 'as a frame' : 'to stdout'}`);
      return entry.line;
    };
    return { fnName, result, nodes, handler, span, lines, find, marker, explain };
  }

  /** The handler segment carries the function's log group, which links the trace to its logs. */
  function assertLogGroup(handler, fnName, explain) {
    const groups = handler.doc.aws?.cloudwatch_logs ?? [];
    assert.ok(groups.some((g) => g.log_group === `/aws/lambda/${fnName}`), `aws.cloudwatch_logs names /aws/lambda/${fnName}: ${JSON.stringify(handler.doc.aws)}${explain}`);
  }

  test('JSON log format: "traceId" is the trace in X-Ray, "spanId" a segment of it', async () => {
    const { fnName, result, nodes, handler, span, find, marker, explain } = await invokeAndRead('LogsJson');
    const handlerLine = JSON.parse(find(`handler line ${marker}`));
    assert.equal(handlerLine.requestId, result.requestId, 'the runtime\'s own fields stay');
    assert.equal(handlerLine.level, 'INFO');
    assert.equal(handlerLine.traceId, result.traceId, 'the trace ID, in X-Ray\'s form');
    assert.ok(nodes.some((n) => n.id === handlerLine.spanId), `spanId ${handlerLine.spanId} is a segment of the trace${explain}`);
    assert.equal(handlerLine.spanId, handler.id, 'the handler segment');
    const spanLine = JSON.parse(find(`span line ${marker}`));
    assert.equal(spanLine.level, 'WARN');
    assert.equal(spanLine.traceId, result.traceId);
    assert.equal(spanLine.spanId, span.id, 'the subsegment of the span that was active');
    const init = JSON.parse(find('logs: loaded'));
    assert.equal(init.traceId, undefined, 'Init is outside any span');
    assert.equal(init.spanId, undefined);
    assertLogGroup(handler, fnName, explain);
  });

  test('text log format: the line ends with trace_id=<X-Ray trace ID> span_id=<segment ID>', async () => {
    const { fnName, result, handler, span, find, marker, explain } = await invokeAndRead('LogsText');
    const handlerLine = find(`handler line ${marker}`);
    assert.ok(handlerLine.endsWith(`\tINFO\thandler line ${marker}\ttrace_id=${result.traceId} span_id=${handler.id}`), handlerLine);
    assert.equal(handlerLine.split('\t')[1], result.requestId, 'the runtime\'s own fields stay');
    const spanLine = find(`span line ${marker}`);
    assert.ok(spanLine.endsWith(`\tWARN\tspan line ${marker}\ttrace_id=${result.traceId} span_id=${span.id}`), spanLine);
    assert.match(find('logs: loaded'), /\tlogs: loaded$/, 'Init is outside any span: the line is as the runtime wrote it');
    assertLogGroup(handler, fnName, explain);
  });
});
