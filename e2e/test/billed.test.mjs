// What the collector costs in billed time, and that its adaptive export loses nothing. Lambda bills
// an invocation until every extension has called /extension/event/next; the emulator records that
// moment (extensionsDoneAt) for each invocation.
//
// - Low traffic: the collector learns that an invocation's spans are in from its handler span,
//   without waiting for the Telemetry API's platform.runtimeDone (buffered for at least 25 ms; on
//   a loaded machine it may still come first, and then ends the wait), and exports them before
//   asking for the next event, so they are in X-Ray when the environment freezes.
// - Sampled=0: the invocation makes no span and the collector waits for nothing.
// - Steady traffic: export is deferred into later invocations; across the switch from steady to
//   low traffic and back, freezes in between, and SHUTDOWN, every span produced is in X-Ray.
// - X-Ray refusing connections or throttling in deferred mode: no invocation overruns its
//   deadline, and nothing is lost.
// The billed-time figures are printed (lines starting with "#"), never pass/fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLambdaFunctionSegment } from '../../tools/lambda-emulator/index.mjs';
import { json } from './harness.mjs';
import { collectorLines, COLLECTOR_EXTENSION, flushRecords, startBehindStandIn, storedOf } from './pipeline-fixture.mjs';

/** Pause between invocations at low traffic (the collector's steady threshold is 100 ms). */
const LOW_TRAFFIC_PAUSE_MS = 200;
/** Spans the Backend function makes per sampled invocation: the handler and pick-fortune. */
const SPANS_PER_INVOCATION = 2;
const UNSAMPLED = (i) => `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${(0xabc000 + i).toString(16).padStart(24, '0')};Parent=53995c3f42cd8ad8;Sampled=0`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const percentile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const summary = (values) => `p50 ${percentile(values, 0.5)} ms, p99 ${percentile(values, 0.99)} ms (n=${values.length})`;
/** Invoke start to the last /event/next: what Lambda bills. */
const billedMs = (record) => record.extensionsDoneAt - record.startedAt;

describe('billed time and adaptive export', () => {
  let p;
  let standIn;
  /** Every invocation of Backend in the current environment, sampled ones with spans. */
  let sampled = [];
  before(async () => {
    ({ p, standIn } = await startBehindStandIn('billed'));
  });
  after(async () => {
    await p?.stop();
    await standIn?.stop();
  });

  /** Invokes Backend and waits until the environment froze again; checks that it answered. */
  async function invokeBackend(name, { traceHeader } = {}) {
    const result = await p.service.invoke(p.functions.Backend.name, { name }, traceHeader ? { traceHeader } : undefined);
    assert.equal(result.functionError, undefined, result.payload.toString());
    assert.match(JSON.parse(json(result).body).fortune, /\.$/);
    const record = await result.done;
    assert.equal(record.status, 'success', `invocation ${result.requestId} ended with ${record.status}`);
    assert.ok(record.frozenAt, `invocation ${result.requestId} did not end frozen`);
    if (!traceHeader) sampled.push(result);
    return Object.assign(result, { record });
  }

  const flushesOf = (results) => {
    const ids = new Set(results.map((r) => r.requestId));
    return flushRecords(collectorLines(p.service, p.functions.Backend.name)).filter((f) => ids.has(f.request_id));
  };

  test('low traffic: the spans are in X-Ray when the environment freezes, without waiting for runtimeDone', async () => {
    await invokeBackend('warm-up');
    const results = [];
    for (let i = 0; i < 20; i++) {
      await sleep(LOW_TRAFFIC_PAUSE_MS);
      const r = await invokeBackend(`low-${i}`);
      // One read, no waiting: the environment is frozen, nothing more can be sent.
      const stored = storedOf(await p.reader.trace(r.traceId), r);
      assert.ok(stored.attached, `invocation ${i}: handler ${stored.handlers.length}, pick-fortune ${stored.fortunes.length} in X-Ray when the environment froze`);
      results.push(r);
    }
    const flushes = flushesOf(results);
    console.log(`# billed, low traffic (1 invoke / ${LOW_TRAFFIC_PAUSE_MS} ms pause), traced: ${summary(results.map((r) => billedMs(r.record)))}`);
    console.log(`#   of which after the response: ${summary(results.map((r) => r.record.extensionsDoneAt - r.record.respondedAt))}; the export to X-Ray (stand-in and moto): ${summary(flushes.map((f) => f.duration_ms))}`);
    const triggers = flushes.map((f) => f.trigger);
    assert.equal(triggers.length, results.length, 'one flush per invocation');
    // Which of the handler span and runtimeDone reaches the collector first is a race the machine's
    // load can turn (runtimeDone is buffered 25 ms, the span's read can be held up longer): the
    // counts are reported. What must hold: the collector flushes on whichever comes first, never
    // after a wait for what is missing, and the handler span ends the wait (a collector that
    // waited for runtimeDone whatever came first would never show invocation_span).
    const byTrigger = {};
    for (const t of triggers) byTrigger[t] = (byTrigger[t] ?? 0) + 1;
    console.log(`#   flush triggers: ${JSON.stringify(byTrigger)}`);
    assert.ok(triggers.every((t) => t === 'invocation_span' || t === 'runtimeDone'), `flush triggers: ${triggers.join(', ')}`);
    assert.ok(byTrigger.invocation_span > 0, `no flush on the handler span: ${triggers.join(', ')}`);
  });

  test('Sampled=0: the collector holds the environment for nothing and exports nothing', async () => {
    const results = [];
    for (let i = 0; i < 20; i++) {
      await sleep(LOW_TRAFFIC_PAUSE_MS);
      results.push(await invokeBackend(`unsampled-${i}`, { traceHeader: UNSAMPLED(i) }));
    }
    console.log(`# billed, low traffic, Sampled=0 (no span): ${summary(results.map((r) => billedMs(r.record)))}`);
    console.log(`#   of which after the response: ${summary(results.map((r) => r.record.extensionsDoneAt - r.record.respondedAt))}`);
    assert.equal(flushesOf(results).length, 0, 'no flush for an unsampled invocation');
    const traces = await p.reader.traces(results.map((r) => r.traceId));
    assert.equal(traces.flatMap((t) => t.nodes).filter((n) => n.origin !== 'AWS::Lambda' && !isLambdaFunctionSegment(n)).length, 0, 'no span of an unsampled invocation in X-Ray');
  });

  test('steady traffic defers export; across a switch to low traffic and back, freezes and SHUTDOWN, spans produced = spans in X-Ray', async () => {
    const backend = p.functions.Backend.name;
    const env = p.service.environments(backend).at(-1);
    // Longer than the collector's deferral interval (2 s), so that deferred exports happen.
    const steady = [];
    const runUntil = Date.now() + 3_000;
    while (steady.length < 150 || Date.now() < runUntil) steady.push(await invokeBackend(`steady-${steady.length}`));
    // Deferred: the environment froze with spans of the last invocations still in the collector.
    const afterRun = new Map((await p.reader.traces(steady.map((r) => r.traceId))).map((t) => [t.traceId, t]));
    const notYet = steady.filter((r) => !storedOf(afterRun.get(r.traceId), r).attached);
    const unsampledSteady = [];
    for (let i = 0; i < 150; i++) unsampledSteady.push(await invokeBackend(`steady-unsampled-${i}`, { traceHeader: UNSAMPLED(1000 + i) }));
    const skip = 5; // the first invocations of a run are still at low traffic
    const afterResponse = (r) => r.record.extensionsDoneAt - r.record.respondedAt;
    console.log(`# billed, back-to-back, traced: ${summary(steady.slice(skip).map((r) => billedMs(r.record)))}; after the response ${summary(steady.slice(skip).map(afterResponse))}`);
    console.log(`# billed, back-to-back, Sampled=0 (no span): ${summary(unsampledSteady.slice(skip).map((r) => billedMs(r.record)))}; after the response ${summary(unsampledSteady.slice(skip).map(afterResponse))}`);
    const deferredFlushes = flushRecords(collectorLines(p.service, backend)).filter((f) => f.trigger === 'deferred');
    console.log(`# ${notYet.length} of ${steady.length} steady invocations not yet in X-Ray when the run ended; ${deferredFlushes.length} deferred exports, ${deferredFlushes.reduce((s, f) => s + f.exported_spans, 0)} spans`);
    assert.ok(notYet.length > 0, 'at steady traffic every invocation still exported before its /event/next: nothing was deferred');
    assert.ok(deferredFlushes.length > 0, 'no deferred export at steady traffic');

    // Low traffic again: the first invocation takes what the steady run left with it.
    await sleep(LOW_TRAFFIC_PAUSE_MS);
    const low = [];
    low.push(await invokeBackend('switch-0'));
    const steadyTraces = new Map((await p.reader.traces(steady.map((r) => r.traceId))).map((t) => [t.traceId, t]));
    const stillMissing = steady.filter((r) => !storedOf(steadyTraces.get(r.traceId), r).attached);
    assert.equal(stillMissing.length, 0, `${stillMissing.length} steady invocations not in X-Ray once the first low-traffic invocation froze`);
    for (let i = 1; i < 5; i++) {
      await sleep(LOW_TRAFFIC_PAUSE_MS);
      low.push(await invokeBackend(`switch-${i}`));
    }
    // Steady again, then SHUTDOWN right after: the deferred spans leave in the drain.
    for (let i = 0; i < 60; i++) await invokeBackend(`steady-again-${i}`);
    await p.service.settle();
    await env.shutdown('spindown');
    const collector = env.processes.get(`extension:${COLLECTOR_EXTENSION}`);
    assert.equal(collector.exitCode, 0, 'the collector exits by itself after SHUTDOWN');

    // Every sampled invocation of this environment: its spans, exactly once, in X-Ray.
    const traces = new Map((await p.reader.traces(sampled.map((r) => r.traceId))).map((t) => [t.traceId, t]));
    const report = sampled.map((r) => ({ r, stored: storedOf(traces.get(r.traceId), r) }));
    const lost = report.filter(({ stored }) => !stored.attached);
    assert.equal(lost.length, 0, `${lost.length} of ${sampled.length} invocations incomplete in X-Ray: ${lost.slice(0, 10).map(({ r }) => r.requestId).join(', ')}`);
    const inXRay = report.reduce((sum, { stored }) => sum + stored.spans.length, 0);
    const produced = sampled.length * SPANS_PER_INVOCATION;
    const lines = collectorLines(p.service, backend);
    const flushes = flushRecords(lines);
    const received = flushes.reduce((sum, f) => sum + f.spans, 0);
    const exported = flushes.reduce((sum, f) => sum + f.exported_spans, 0);
    const dropped = flushes.reduce((sum, f) => sum + f.dropped_spans, 0);
    const explain = `\ncollector log (last lines):\n${lines.slice(-20).join('\n')}`;
    assert.equal(received, produced, `spans received by the collector${explain}`);
    assert.equal(exported, produced, `spans exported${explain}`);
    assert.equal(dropped, 0, `spans dropped${explain}`);
    assert.equal(inXRay, produced, 'spans produced = spans in X-Ray');
    const byTrigger = {};
    for (const f of flushes) byTrigger[f.trigger] = (byTrigger[f.trigger] ?? 0) + f.exported_spans;
    console.log(`# ${sampled.length} sampled invocations: ${produced} spans produced, ${received} received, ${exported} exported, ${inXRay} in X-Ray; exported by trigger ${JSON.stringify(byTrigger)}`);
  });

  test('X-Ray refusing connections, then throttling, in deferred mode: no invocation overruns its deadline, nothing is lost', async () => {
    const backend = p.functions.Backend.name;
    sampled = [];
    await invokeBackend('outage-warm-up');
    const env = p.service.environments(backend).at(-1);
    const results = [];
    // Each phase lasts its time, longer than the 2 s between deferred exports, so that every
    // mode meets at least one export. After `fast` invocations back to back the rest are paced
    // (still steady traffic: each arrives within 100 ms of the collector asking), so that the
    // spans held during the outage (2 per invocation) stay well inside the buffer of a 128 MB
    // function (1,536 spans), which would otherwise evict the oldest (xray-outage.test.mjs
    // covers that).
    const STEADY_PACE_MS = 40;
    const phases = [
      { mode: undefined, ms: 1_000, fast: 100 },
      { mode: 'refuse', ms: 4_000, fast: 100 },
      { mode: 'throttle', ms: 6_000, fast: 100 },
      { mode: undefined, ms: 1_000, fast: 100 },
    ];
    for (const { mode, ms, fast } of phases) {
      standIn.setOutage(mode);
      const until = Date.now() + ms;
      for (let i = 0; Date.now() < until; i++) {
        if (i >= fast) await sleep(STEADY_PACE_MS);
        results.push(Object.assign(await invokeBackend(`outage-${results.length}`), { mode }));
      }
    }
    const timeoutMs = p.functions.Backend.timeoutSeconds * 1000;
    const overran = results.filter((r) => r.record.extensionsDoneAt > r.record.startedAt + timeoutMs);
    assert.equal(overran.length, 0, 'an invocation overran its deadline');
    for (const mode of ['refuse', 'throttle']) assert.ok(standIn.turnedAway[mode] > 0, `the stand-in turned nothing away in ${mode} mode`);
    await p.service.settle();
    await env.shutdown('spindown');
    assert.equal(env.processes.get(`extension:${COLLECTOR_EXTENSION}`).exitCode, 0, 'the collector exits by itself after SHUTDOWN');
    assert.equal(p.service.environments(backend).length, 2, 'no reset during the outage');
    const traces = new Map((await p.reader.traces(sampled.map((r) => r.traceId))).map((t) => [t.traceId, t]));
    const lost = sampled.filter((r) => !storedOf(traces.get(r.traceId), r).attached);
    const lines = collectorLines(p.service, backend);
    assert.equal(lost.length, 0, `${lost.length} of ${sampled.length} invocations incomplete in X-Ray\n${lines.slice(-20).join('\n')}`);
    const flushes = flushRecords(lines);
    assert.equal(flushes.reduce((sum, f) => sum + f.dropped_spans, 0), 0, `spans dropped\n${lines.slice(-20).join('\n')}`);
    const during = results.filter((r) => r.mode !== undefined);
    console.log(`# outage in deferred mode: ${results.length} invocations (${during.length} during the outage), billed during the outage ${summary(during.map((r) => billedMs(r.record)))}, max ${Math.max(...during.map((r) => billedMs(r.record)))} ms of a ${timeoutMs} ms timeout`);
  });
});
