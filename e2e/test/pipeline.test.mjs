// The whole pipeline with everything real: functions as synthesized by OtelTracedFunction, the
// collector extension and the preload from their layers, aws-lambda-ric on Node.js 24 (frontend,
// ES module) and Node.js 22 (backend, CommonJS), and X-Ray played by moto.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLambdaFunctionSegment } from '../../tools/lambda-emulator/index.mjs';
import { descendants, json } from './harness.mjs';
import { collectorLines, COLLECTOR_EXTENSION, startPipeline } from './pipeline-fixture.mjs';
import { traceWith, tracesWith } from './support/xray-documents.mjs';

/** The handler segment: the segment whose parent is the function segment Lambda recorded. */
const handlerSegmentsOf = (nodes, functionSegmentId) =>
  nodes.filter((n) => n.kind === 'segment' && n.parentId === functionSegmentId && !isLambdaFunctionSegment(n));


describe('pipeline: emulator + collector + preload + X-Ray stand-in', () => {
  let p;
  before(async () => {
    p = await startPipeline('pipeline');
  });
  after(async () => {
    await p?.stop();
  });

  test('a. ESM frontend → fetch → CJS backend, custom span and AWS SDK call: one trace with the right parents', async () => {
    const frontend = p.functions.Frontend.name;
    const backend = p.functions.Backend.name;
    const result = await p.service.invoke(frontend, { name: 'Ada' });
    assert.equal(result.functionError, undefined, result.payload.toString());
    const body = json(result);
    assert.equal(body.greeting, 'Hello, Ada!');
    assert.match(body.fortune, /\.$/);
    assert.equal(body.visits, 1);

    // Every document asserted on below, awaited: both functions' Lambda segments, both handlers,
    // the custom span, the fetch, the AWS SDK call and the backend's span.
    const lambdaSegmentOf = (nodes, fnName) => nodes.find((n) => n.origin === 'AWS::Lambda' && n.name === fnName);
    const functionSegmentUnder = (nodes, parent) => parent && nodes.find((n) => isLambdaFunctionSegment(n) && n.parentId === parent.id);
    const frontendHandlerOf = (nodes) => handlerSegmentsOf(nodes, result.functionSegmentId)[0];
    const underFrontendOf = (nodes) => (frontendHandlerOf(nodes) ? descendants(nodes, frontendHandlerOf(nodes).id) : []);
    const backendHandlerOf = (nodes) => {
      const fn = functionSegmentUnder(nodes, lambdaSegmentOf(nodes, backend));
      return fn && handlerSegmentsOf(nodes, fn.id)[0];
    };
    const trace = await traceWith(p.reader, result.traceId, {
      [`the AWS::Lambda segment of ${frontend}`]: (nodes) => lambdaSegmentOf(nodes, frontend),
      [`the function segment of ${frontend}`]: (nodes) => functionSegmentUnder(nodes, lambdaSegmentOf(nodes, frontend)),
      'the frontend handler segment': (nodes) => frontendHandlerOf(nodes),
      'compose-greeting under the frontend handler': (nodes) => underFrontendOf(nodes).some((n) => n.name === 'compose-greeting'),
      [`the fetch to ${backend} under the frontend handler`]: (nodes) => underFrontendOf(nodes).some((n) => n.doc.http?.request?.url?.includes(`/functions/${backend}/invocations`)),
      'the DynamoDB subsegment under the frontend handler': (nodes) => underFrontendOf(nodes).some((n) => n.namespace === 'aws'),
      [`the AWS::Lambda segment of ${backend}`]: (nodes) => lambdaSegmentOf(nodes, backend),
      [`the function segment of ${backend}`]: (nodes) => functionSegmentUnder(nodes, lambdaSegmentOf(nodes, backend)),
      'the backend handler segment': (nodes) => backendHandlerOf(nodes),
      'pick-fortune under the backend handler': (nodes) => backendHandlerOf(nodes) && descendants(nodes, backendHandlerOf(nodes).id).some((n) => n.name === 'pick-fortune'),
    }, { explain: () => p.service.logs.slice(-60).join('\n') });
    const nodes = trace.nodes;
    const explain = `\n${JSON.stringify(nodes.map((n) => ({ id: n.id, parent: n.parentId, name: n.name, kind: n.kind, origin: n.origin, ns: n.namespace })), null, 1)}`;

    // Lambda's own segments for the frontend, then the handler under them.
    const frontendService = nodes.find((n) => n.origin === 'AWS::Lambda' && n.name === frontend);
    assert.ok(frontendService, `no AWS::Lambda segment for ${frontend}${explain}`);
    const frontendFunction = nodes.find((n) => isLambdaFunctionSegment(n) && n.parentId === frontendService.id);
    assert.ok(frontendFunction, `no AWS::Lambda::Function segment under the frontend's service segment${explain}`);
    assert.equal(frontendFunction.id, result.functionSegmentId);
    const [frontendHandler, ...extraFrontend] = handlerSegmentsOf(nodes, frontendFunction.id);
    assert.ok(frontendHandler, `no handler segment under the frontend's function segment${explain}`);
    assert.equal(extraFrontend.length, 0, 'exactly one handler segment');
    const underFrontend = descendants(nodes, frontendHandler.id);

    // The custom span.
    const custom = underFrontend.find((n) => n.name === 'compose-greeting');
    assert.ok(custom, `no compose-greeting subsegment under the frontend handler${explain}`);
    assert.equal(custom.parentId, frontendHandler.id);

    // The fetch, with its http fields, and the backend's segments under it.
    const fetchCall = underFrontend.find((n) => n.doc.http?.request?.url?.includes(`/functions/${backend}/invocations`));
    assert.ok(fetchCall, `no subsegment for the fetch to ${backend}${explain}`);
    assert.equal(fetchCall.namespace, 'remote');
    assert.equal(fetchCall.doc.http.request.method, 'POST');
    assert.equal(fetchCall.doc.http.response.status, 200);
    const backendService = nodes.find((n) => n.origin === 'AWS::Lambda' && n.name === backend);
    assert.ok(backendService, `no AWS::Lambda segment for ${backend}${explain}`);
    assert.equal(backendService.parentId, fetchCall.id, 'the backend call joins the trace under the fetch subsegment');
    const backendFunction = nodes.find((n) => isLambdaFunctionSegment(n) && n.parentId === backendService.id);
    assert.ok(backendFunction, `no function segment for ${backend}${explain}`);
    const [backendHandler] = handlerSegmentsOf(nodes, backendFunction.id);
    assert.ok(backendHandler, `no handler segment under the backend's function segment${explain}`);
    const fortune = descendants(nodes, backendHandler.id).find((n) => n.name === 'pick-fortune');
    assert.ok(fortune, `no pick-fortune subsegment under the backend handler${explain}`);

    // The AWS SDK call, with its aws and http fields.
    const dynamo = underFrontend.find((n) => n.namespace === 'aws');
    assert.ok(dynamo, `no aws subsegment under the frontend handler${explain}`);
    assert.equal(dynamo.name, 'DynamoDB');
    assert.equal(dynamo.doc.aws.operation, 'UpdateItem');
    assert.equal(dynamo.doc.aws.table_name, p.assembly.tables[0].name);
    assert.equal(dynamo.doc.http.response.status, 200);

    // One trace: every document carries the same trace ID.
    assert.ok(nodes.filter((n) => n.kind === 'segment').every((n) => n.doc.trace_id === result.traceId));
  });

  test('b. after each freeze, that invocation’s segments are already in X-Ray', async () => {
    const backend = p.functions.Backend.name;
    for (let i = 0; i < 5; i++) {
      // At low traffic: at steady traffic the collector defers export into later invocations
      // (billed.test.mjs).
      await new Promise((resolve) => setTimeout(resolve, 150));
      const result = await p.service.invoke(backend, { name: `freeze-${i}` });
      assert.equal(result.functionError, undefined, result.payload.toString());
      const record = await result.done;
      assert.ok(record.frozenAt, `invocation ${i} ended with ${record.status}, not frozen`);
      // One read, no waiting: the environment is stopped, nothing more can be sent.
      const trace = await p.reader.trace(result.traceId);
      const handlers = handlerSegmentsOf(trace?.nodes ?? [], result.functionSegmentId);
      assert.equal(handlers.length, 1, `invocation ${i}: the handler segment was not in X-Ray when the environment froze`);
      assert.ok(descendants(trace.nodes, handlers[0].id).some((n) => n.name === 'pick-fortune'), `invocation ${i}: pick-fortune missing at freeze`);
    }
  });

  test('c. 200 back-to-back invocations give exactly 200 handler segments, none lost, none duplicated', async () => {
    const backend = p.functions.Backend.name;
    const results = [];
    for (let i = 0; i < 200; i++) {
      const result = await p.service.invoke(backend, { name: `burst-${i}` });
      assert.equal(result.functionError, undefined, result.payload.toString());
      results.push(result);
    }
    // At steady traffic the collector defers export into later invocations: the next invocation at
    // low traffic takes what the run left (billed.test.mjs covers the switch, freezes and SHUTDOWN).
    // Low traffic is an INVOKE more than 100 ms after the collector asked for it: once the last
    // environment froze (the collector asked), a pause longer than that, however loaded the machine.
    await results.at(-1).done;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await (await p.service.invoke(backend, { name: 'burst-end' })).done;
    await p.service.settle();
    const wanted = new Set(results.map((r) => r.functionSegmentId));
    const handlersIn = (byId) => [...byId.values()].flatMap((t) => t.nodes).filter((n) => n.kind === 'segment' && wanted.has(n.parentId) && !isLambdaFunctionSegment(n));
    const byId = await tracesWith(p.reader, results.map((r) => r.traceId), (traces) => {
      const found = new Set(handlersIn(traces).map((h) => h.parentId));
      return results.flatMap((r, i) => (found.has(r.functionSegmentId) ? [] : [`the handler segment of burst-${i} (${r.requestId})`]));
    }, { what: 'the 200 burst invocations', explain: () => `collector log (last lines):\n${collectorLines(p.service, backend).slice(-30).join('\n')}` });
    const handlers = handlersIn(byId);
    const perParent = new Map();
    for (const h of handlers) perParent.set(h.parentId, (perParent.get(h.parentId) ?? 0) + 1);
    const lost = [...wanted].filter((id) => !perParent.has(id));
    const duplicated = [...perParent].filter(([, count]) => count > 1);
    assert.deepEqual({ lost: lost.length, duplicated: duplicated.length }, { lost: 0, duplicated: 0 });
    assert.equal(handlers.length, 200);
    assert.equal(new Set(handlers.map((h) => h.id)).size, 200);
    const records = p.service.environments(backend).at(-1).invocations.filter((r) => r.status === 'success');
    assert.ok(records.length >= 200, 'all 200 ran in one warm environment');
    // Informational, never a pass/fail: how long the extension worked after the response.
    const after = records.slice(-200).map((r) => r.extensionsDoneAt - r.respondedAt).sort((x, y) => x - y);
    const pct = (q) => after[Math.min(after.length - 1, Math.floor(q * after.length))];
    console.log(`# extension time after the response over 200 invocations: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${after.at(-1)} ms`);
  });

  test('an upstream trace header with Sampled=0 is respected: nothing reaches X-Ray', async () => {
    const backend = p.functions.Backend.name;
    const root = '1-6b000000-0123456789abcdef01234567';
    const result = await p.service.invoke(backend, { name: 'unsampled' }, { traceHeader: `Root=${root};Parent=53995c3f42cd8ad8;Sampled=0` });
    assert.equal(result.functionError, undefined, result.payload.toString());
    assert.equal(result.traceId, root);
    await result.done;
    await p.service.settle();
    const trace = await p.reader.trace(root);
    assert.equal(trace?.nodes.length ?? 0, 0, `documents recorded for an unsampled trace: ${JSON.stringify(trace?.nodes.map((n) => n.name))}`);
  });

  test('d. SHUTDOWN right after a burst: nothing lost, the collector exits by itself in time (the drain of held spans: rie.test.mjs)', async () => {
    const backend = p.functions.Backend.name;
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await p.service.invoke(backend, { name: `drain-${i}` }));
    const env = p.service.environments(backend).at(-1);
    await p.service.settle();
    await env.shutdown('spindown');
    assert.deepEqual(env.shutdowns.map((s) => s.receivers), [[COLLECTOR_EXTENSION]]);
    const collector = env.processes.get(`extension:${COLLECTOR_EXTENSION}`);
    // The emulator SIGKILLs whatever still runs after Lambda's 2,000 ms: exit code 0 means in time.
    assert.equal(collector.exitCode, 0, 'the collector exits by itself after SHUTDOWN');
    const traces = await p.reader.traces(results.map((r) => r.traceId));
    for (const r of results) {
      const nodes = traces.find((t) => t.traceId === r.traceId)?.nodes ?? [];
      assert.equal(handlerSegmentsOf(nodes, r.functionSegmentId).length, 1, `invocation ${r.requestId} lost after SHUTDOWN`);
    }
  });

  test('e. a handler that times out: the spans that reached the collector are exported', async () => {
    const slow = p.functions.Slow.name;
    const marker = `timeout-${Date.now()}`;
    const result = await p.service.invoke(slow, { sleepMs: 10_000, marker });
    assert.equal(json(result).errorType, 'Sandbox.Timedout');
    const record = await result.done;
    assert.equal(record.status, 'timeout');
    const env = p.service.environments(slow).at(-1);
    assert.equal(env.shutdowns[0].reason, 'timeout');
    await traceWith(p.reader, result.traceId, {
      'before-sleep, the span that reached the collector before the timeout': (nodes) => nodes.some((n) => n.name === 'before-sleep'),
    }, { explain: () => `the extensions said:\n${env.logs.filter((l) => l.source.startsWith('extension')).map((l) => l.line).join('\n')}` });
  });
});
