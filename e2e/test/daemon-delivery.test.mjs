// XRayDelivery.DAEMON: the collector hands each segment document to the X-Ray daemon Lambda runs
// for the function (here the emulator's stand-in at AWS_XRAY_DAEMON_ADDRESS, which forwards to
// moto's X-Ray the way the daemon does) instead of calling PutTraceSegments. Every span an
// invocation produced is in X-Ray, in its place, at low traffic and back-to-back, and the
// collector never defers an export to a later invocation.
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLambdaFunctionSegment, startLocalApp } from '../../tools/lambda-emulator/index.mjs';
import { E2E_DIR, json, keptLogs, WORK_ROOT } from './harness.mjs';
import { collectorLines, flushRecords } from './pipeline-fixture.mjs';
import { tracesWith } from './support/xray-documents.mjs';

const APP = join(E2E_DIR, 'fixtures', 'daemon-app', 'daemon-app.ts');
/** The handler's own spans (fixtures/daemon-app/functions/spans.ts). */
const WORK_SPANS = 12;

/** What X-Ray holds of one invocation: its handler segment, and under it the work and the fetch. */
function storedOf(trace, result) {
  const nodes = trace?.nodes ?? [];
  const handler = nodes.find((n) => n.kind === 'segment' && n.parentId === result.functionSegmentId && !isLambdaFunctionSegment(n));
  const work = nodes.filter((n) => /^work-\d+$/.test(n.name) && n.parentId === handler?.id);
  const fetch = nodes.find((n) => n.doc.http?.request?.url !== undefined && n.parentId === handler?.id);
  return { handler, work, fetch };
}

describe('segments handed to the X-Ray daemon (XRayDelivery.DAEMON)', () => {
  let app;
  let fn;
  before(async () => {
    const { logs, onLog } = keptLogs();
    app = await startLocalApp({
      appFile: APP,
      cdkOut: join(WORK_ROOT, 'daemon-cdk.out'),
      workDir: join(WORK_ROOT, 'daemon'),
      service: { onLog, xrayDaemon: true },
    });
    app.service.logs = logs;
    [fn] = Object.values(app.functions);
    assert.ok(fn?.name.startsWith('E2eDaemon-Spans'), `the app's function: ${Object.keys(app.functions)}`);
  });
  after(async () => {
    await app?.stop();
  });

  test('every span of every invocation reaches X-Ray, one at a time and back-to-back; nothing is deferred', async () => {
    // moto answers the fetch; the environments reach it at the same port.
    const url = `${app.moto.endpoint}/`;
    const results = [];
    // Invocations back-to-back: past three in a row the API exporter would defer its export to a
    // later invocation.
    for (let round = 0; round < 7; round++) results.push(await app.service.invoke(fn.name, { url, round }));
    for (const result of results) {
      assert.equal(result.functionError, undefined, result.payload.toString());
      assert.equal(json(result).spans, WORK_SPANS);
    }

    const byId = await tracesWith(app.reader, results.map((r) => r.traceId), (traces) => results.flatMap((result, i) => {
      const { handler, work, fetch } = storedOf(traces.get(result.traceId), result);
      const missing = [];
      if (!handler) missing.push(`invocation ${i}: the handler segment`);
      if (work.length !== WORK_SPANS) missing.push(`invocation ${i}: ${WORK_SPANS - work.length} of ${WORK_SPANS} work spans under the handler`);
      if (!fetch) missing.push(`invocation ${i}: the fetch under the handler`);
      return missing;
    }), { what: 'the daemon-delivered invocations', explain: () => app.service.logs.slice(-80).join('\n') });
    assert.equal(byId.size, results.length);

    const flushes = flushRecords(collectorLines(app.service, fn.name)).filter((r) => r.request_id);
    for (const result of results) {
      const own = flushes.filter((r) => r.request_id === result.requestId);
      assert.equal(own.length, 1, `invocation ${result.requestId} exported its own spans before its next event: ${JSON.stringify(flushes)}`);
      // Whichever of the handler span and runtimeDone reaches the collector first ends the wait: a
      // loaded machine can let runtimeDone win (billed.test.mjs).
      assert.ok(['invocation_span', 'runtimeDone'].includes(own[0].trigger), `flush trigger ${own[0].trigger}`);
      assert.equal(own[0].exported_spans, WORK_SPANS + 2, 'the handler span, its work spans and the fetch');
      assert.equal(own[0].dropped_spans, 0);
    }
    assert.ok(flushes.some((r) => r.trigger === 'invocation_span'), `no flush on the handler span: ${flushes.map((r) => r.trigger).join(', ')}`);
    const daemon = app.service.xrayDaemon.stats;
    assert.equal(daemon.malformed, 0, `the daemon stand-in read every datagram: ${JSON.stringify(daemon)}`);
    assert.equal(daemon.oversized, 0);
    // Every document came through the daemon: the function's collector has no other way to X-Ray.
    assert.equal(daemon.segmentDocuments, results.length * (WORK_SPANS + 2), `one datagram per span: ${JSON.stringify(daemon)}`);
    assert.equal(daemon.unprocessed, 0, `X-Ray took every document the daemon forwarded: ${JSON.stringify(daemon)}`);
  });
});
