// Functions this library did not create, traced by the OtelTracing Aspect, run as synthesized:
// a plain lambda.Function (CommonJS, Node.js 22) that fetches a SingletonFunction made by another
// construct (ES module, Node.js 24), and a Python 3.13 function with the official OpenTelemetry
// Python SDK exporting to the collector. Each trace is read back from moto's X-Ray.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLambdaFunctionSegment, startLocalApp } from '../../tools/lambda-emulator/index.mjs';
import { E2E_DIR, json, keptLogs, WORK_ROOT } from './harness.mjs';
import { traceWith } from './support/xray-documents.mjs';

const APP = join(E2E_DIR, 'fixtures', 'aspect-app', 'aspect-app.ts');
const PYTHON_OTEL = join(E2E_DIR, '.cache', 'python-otel');

/** The handler segment: the segment whose parent is the function segment Lambda recorded. */
const handlerSegmentsOf = (nodes, functionSegmentId) =>
  nodes.filter((n) => n.kind === 'segment' && n.parentId === functionSegmentId && !isLambdaFunctionSegment(n));

const explain = (nodes) => `\n${JSON.stringify(nodes.map((n) => ({ id: n.id, parent: n.parentId, name: n.name, kind: n.kind, origin: n.origin, ns: n.namespace })), null, 1)}`;

/** Lambda's own two segments for a function in a trace, and the handler segments under them. */
function lambdaSegments(nodes, fnName) {
  const service = nodes.find((n) => n.origin === 'AWS::Lambda' && n.name === fnName);
  assert.ok(service, `no AWS::Lambda segment for ${fnName}${explain(nodes)}`);
  const fn = nodes.find((n) => isLambdaFunctionSegment(n) && n.parentId === service.id);
  assert.ok(fn, `no AWS::Lambda::Function segment under ${fnName}'s service segment${explain(nodes)}`);
  return { service, fn, handlers: handlerSegmentsOf(nodes, fn.id) };
}

/** For traceWith: Lambda's two segments for a function and a handler segment under them. */
function lambdaDocuments(fnName) {
  const service = (nodes) => nodes.find((n) => n.origin === 'AWS::Lambda' && n.name === fnName);
  const fn = (nodes) => nodes.find((n) => isLambdaFunctionSegment(n) && n.parentId === service(nodes)?.id);
  return {
    [`the AWS::Lambda segment of ${fnName}`]: service,
    [`the function segment of ${fnName}`]: fn,
    [`a handler segment under ${fnName}'s function segment`]: (nodes) => fn(nodes) && handlerSegmentsOf(nodes, fn(nodes).id).length > 0,
  };
}

describe('the OtelTracing Aspect traces functions it did not create', () => {
  let app;
  let byId;
  before(async () => {
    const { logs, onLog } = keptLogs();
    app = await startLocalApp({
      appFile: APP,
      cdkOut: join(WORK_ROOT, 'aspect-cdk.out'),
      workDir: join(WORK_ROOT, 'aspect'),
      service: { onLog },
    });
    app.service.logs = logs;
    byId = (id) => {
      const fn = Object.values(app.functions).find((f) => f.name.startsWith(`E2eAspect-${id}`));
      assert.ok(fn, `no function ${id} in ${Object.keys(app.functions).join(', ')}`);
      return fn;
    };
  });
  after(async () => {
    await app?.stop();
  });

  test('a plain lambda.Function (CommonJS) and a SingletonFunction made by another construct: one trace, the right parents', async () => {
    const plain = byId('Plain');
    const widget = byId('SingletonLambda');
    assert.ok(plain.layerDirs.length === 2 && widget.layerDirs.length === 2, 'both functions got the collector and preload layers');
    const result = await app.service.invoke(plain.name, { name: 'Ada' });
    assert.equal(result.functionError, undefined, result.payload.toString());
    assert.deepEqual(json(result), { plain: true, widget: { widget: true, echo: 'Ada' } });

    // Every document asserted on below, awaited: both functions' Lambda segments and handler
    // segments, and the fetch between them.
    const fetchOf = (nodes) => nodes.find((n) => n.doc.http?.request?.url?.includes(`/functions/${widget.name}/invocations`));
    const trace = await traceWith(app.reader, result.traceId, {
      ...lambdaDocuments(plain.name),
      [`the fetch to ${widget.name}`]: fetchOf,
      ...lambdaDocuments(widget.name),
    }, { explain: () => app.service.logs.slice(-60).join('\n') });
    const nodes = trace.nodes;

    const plainSegments = lambdaSegments(nodes, plain.name);
    assert.equal(plainSegments.fn.id, result.functionSegmentId);
    assert.equal(plainSegments.handlers.length, 1, `exactly one handler segment under ${plain.name}${explain(nodes)}`);
    const fetchCall = nodes.find((n) => n.doc.http?.request?.url?.includes(`/functions/${widget.name}/invocations`));
    assert.ok(fetchCall, `no subsegment for the fetch to ${widget.name}${explain(nodes)}`);
    let ancestor = fetchCall;
    while (ancestor && ancestor.id !== plainSegments.handlers[0].id) ancestor = nodes.find((n) => n.id === ancestor.parentId);
    assert.ok(ancestor, `the fetch is not under the plain function's handler${explain(nodes)}`);

    const widgetSegments = lambdaSegments(nodes, widget.name);
    assert.equal(widgetSegments.service.parentId, fetchCall.id, 'the widget joins the trace under the fetch subsegment');
    assert.equal(widgetSegments.handlers.length, 1, `exactly one handler segment under ${widget.name}${explain(nodes)}`);
    assert.ok(nodes.filter((n) => n.kind === 'segment').every((n) => n.doc.trace_id === result.traceId), 'one trace ID');
  });

  test('a Python 3.13 function with the OpenTelemetry Python SDK: its spans under Lambda\'s function segment', async (t) => {
    if (!existsSync(PYTHON_OTEL)) {
      t.skip(`the OpenTelemetry Python SDK is not installed in ${PYTHON_OTEL} (e2e/setup.sh installs it when Python 3.13 and PyPI are available)`);
      return;
    }
    const python = byId('Python');
    assert.equal(python.layerDirs.length, 1, 'a Python function gets the collector layer alone');
    const result = await app.service.invoke(python.name, { n: 5 });
    assert.equal(result.functionError, undefined, result.payload.toString());
    assert.deepEqual(json(result), { python: true, total: 10 });

    const trace = await traceWith(app.reader, result.traceId, {
      ...lambdaDocuments(python.name),
      'python-work': (nodes) => nodes.some((n) => n.name === 'python-work'),
    }, { explain: () => app.service.logs.slice(-60).join('\n') });
    const nodes = trace.nodes;
    const { fn, handlers } = lambdaSegments(nodes, python.name);
    assert.equal(fn.id, result.functionSegmentId);
    assert.equal(handlers.length, 1, `exactly one handler segment under ${python.name}${explain(nodes)}`);
    // Neither the construct nor the SDK knew a service name: the collector names the spans after
    // the function, as Lambda names it at run time, instead of the SDK's unknown_service:python3.13.
    assert.equal(handlers[0].name, python.name, `the handler segment is named after the function${explain(nodes)}`);
    const work = nodes.find((n) => n.name === 'python-work');
    assert.equal(work.parentId, handlers[0].id, `python-work is a child of the handler segment${explain(nodes)}`);
    assert.ok(nodes.filter((n) => n.kind === 'segment').every((n) => n.doc.trace_id === result.traceId), 'one trace ID');
  });
});
