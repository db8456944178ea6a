// A transient X-Ray outage loses nothing that fits the collector's buffer: while X-Ray refuses
// connections, answers 5xx or throttles, the spans of every invocation stay retained in the
// collector and leave with the first flush after X-Ray answers again. With a buffer too small for
// the outage, the oldest retained spans go first, and every one of them is counted.
// X-Ray here is the emulator's stand-in in front of moto, switched into an outage and back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTRACT } from '../../tools/lambda-emulator/index.mjs';
import { json } from './harness.mjs';
import { collectorLines, flushRecords, startBehindStandIn, storedOf } from './pipeline-fixture.mjs';
import { XRAY_DEADLINE_MS } from './support/xray-documents.mjs';

/** The outage: three phases of about 10 s each, 30 s in all. */
const PHASES = [
  { mode: 'refuse', ms: 10_000 },
  { mode: '5xx', ms: 10_000 },
  { mode: 'throttle', ms: 10_000 },
];
/** Pause between the end of one invocation and the start of the next. */
const PAUSE_MS = 250;
/** Invocations after X-Ray is back. */
const AFTER_OUTAGE = 5;
/** How long to wait for late deliveries once the outage is over (invoking now and then). */
const DELIVERY_WAIT_MS = XRAY_DEADLINE_MS;
/** Spans the Backend function makes per invocation: the handler and pick-fortune. */
const SPANS_PER_INVOCATION = 2;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** What X-Ray holds of one invocation, for failure messages. */
const countsOf = (stored) => ({ handlers: stored.handlers.length, fortunes: stored.fortunes.length });

/** Invokes Backend and waits until the environment froze; checks that it answered. */
async function invokeBackend(p, name, phase) {
  const result = await p.service.invoke(p.functions.Backend.name, { name });
  assert.equal(result.statusCode, 200);
  assert.equal(result.functionError, undefined, result.payload.toString());
  assert.match(JSON.parse(json(result).body).fortune, /\.$/);
  const record = await result.done;
  assert.equal(record.status, 'success', `invocation ${result.requestId} (${phase}) ended with ${record.status}`);
  return Object.assign(result, { phase, record });
}

describe('X-Ray down for 30 s under steady invocations, then back', () => {
  let p;
  let standIn;
  before(async () => {
    ({ p, standIn } = await startBehindStandIn('xray-outage'));
  });
  after(async () => {
    await p?.stop();
    await standIn?.stop();
  });

  test('every span of every invocation reaches X-Ray; the collector retained them during the outage and dropped none', async () => {
    const backend = p.functions.Backend.name;
    const results = [];
    let n = 0;
    // One invocation with X-Ray up: the environment is warm and the collector has exported once.
    results.push(await invokeBackend(p, `outage-${n++}`, 'before'));

    const outageStarted = Date.now();
    for (const { mode, ms } of PHASES) {
      standIn.setOutage(mode);
      const until = Date.now() + ms;
      let inPhase = 0;
      while (Date.now() < until || inPhase < 2) {
        results.push(await invokeBackend(p, `outage-${n++}`, mode));
        inPhase++;
        await sleep(PAUSE_MS);
      }
    }
    standIn.setOutage(undefined);
    const outageMs = Date.now() - outageStarted;
    for (let i = 0; i < AFTER_OUTAGE; i++) {
      results.push(await invokeBackend(p, `outage-${n++}`, 'after'));
      await sleep(PAUSE_MS);
    }

    // Spans leave only during an invocation (the environment is frozen in between): if some are
    // still missing, invoke now and then until they arrive or the time runs out.
    const ids = () => [...new Set(results.map((r) => r.traceId))];
    const missing = async () => {
      await p.service.settle();
      const traces = new Map((await p.reader.traces(ids())).map((t) => [t.traceId, t]));
      return results.filter((r) => !storedOf(traces.get(r.traceId), r).attached);
    };
    const deliveryUntil = Date.now() + DELIVERY_WAIT_MS;
    let absent = await missing();
    while (absent.length > 0 && Date.now() < deliveryUntil) {
      await sleep(1_000);
      results.push(await invokeBackend(p, `outage-${n++}`, 'after'));
      absent = await missing();
    }

    const byPhase = {};
    for (const r of results) byPhase[r.phase] = (byPhase[r.phase] ?? 0) + 1;
    console.log(`# outage of ${outageMs} ms; invocations by phase ${JSON.stringify(byPhase)}; turned away by the stand-in ${JSON.stringify(standIn.turnedAway)}`);

    // The outage was real: the collector met each kind of failure.
    for (const { mode } of PHASES) assert.ok(standIn.turnedAway[mode] > 0, `the stand-in turned nothing away while in ${mode} mode`);
    assert.equal(p.service.environments(backend).length, 1, 'every invocation ran in one environment: nothing was lost to a reset');

    // X-Ray: every invocation's handler segment with pick-fortune under it, exactly once.
    const traces = new Map((await p.reader.traces(ids())).map((t) => [t.traceId, t]));
    const report = results.map((r) => ({ r, stored: storedOf(traces.get(r.traceId), r) }));
    const lost = report.filter(({ stored }) => !stored.attached);
    assert.equal(lost.length, 0, `${lost.length} of ${results.length} invocations are incomplete in X-Ray: ${JSON.stringify(lost.map(({ r, stored }) => ({ phase: r.phase, requestId: r.requestId, handlers: stored.handlers.length, fortunes: stored.fortunes.length })))}`);
    const handlerIds = report.map(({ stored }) => stored.handlers[0].id);
    assert.equal(new Set(handlerIds).size, results.length, 'one handler segment per invocation');
    const notThroughStandIn = handlerIds.filter((id) => !standIn.segmentIds.has(id));
    assert.equal(notThroughStandIn.length, 0, 'every handler segment was stored through the stand-in');

    // The collector's log: spans retained during the outage, every span exported, none dropped.
    const lines = collectorLines(p.service, backend);
    const flushes = flushRecords(lines);
    const explain = `\ncollector log:\n${lines.join('\n')}`;
    const phaseOf = new Map(results.map((r) => [r.requestId, r.phase]));
    for (const { mode } of PHASES) {
      const during = flushes.filter((f) => phaseOf.get(f.request_id) === mode);
      assert.ok(during.length > 0, `no flush logged for the ${mode} phase${explain}`);
      assert.ok(during.every((f) => f.retained_spans > 0 && f.exported_spans === 0), `a flush in the ${mode} phase exported or retained nothing${explain}`);
    }
    const dropped = flushes.reduce((sum, f) => sum + f.dropped_spans, 0);
    assert.equal(dropped, 0, `dropped_spans logged${explain}`);
    assert.ok(!lines.some((l) => /"rejected_spans"|"dropped_reasons"|spans lost at shutdown/.test(l)), `spans refused, dropped or lost${explain}`);
    const received = flushes.reduce((sum, f) => sum + f.spans, 0);
    const exported = flushes.reduce((sum, f) => sum + f.exported_spans, 0);
    const peakRetained = Math.max(...flushes.map((f) => f.retained_spans));
    assert.equal(received, results.length * SPANS_PER_INVOCATION, `spans received by the collector${explain}`);
    assert.equal(exported, received, `every span received was exported${explain}`);
    assert.equal(flushes.at(-1).retained_spans, 0, `spans still retained after the last flush${explain}`);
    const firstBack = flushes.find((f) => phaseOf.get(f.request_id) === 'after');
    console.log(`# ${results.length} invocations, ${received} spans received, ${exported} exported, 0 dropped; ${handlerIds.length} handler segments in X-Ray; retained at most ${peakRetained} spans; first flush after the outage exported ${firstBack?.exported_spans} spans in ${firstBack?.duration_ms} ms`);
  });
});

describe('X-Ray down for longer than the buffer holds', () => {
  const MAX_SPANS = 6;
  const MAX_SPANS_ENV = CONTRACT.collector.env.maxBufferedSpans;
  const DURING = 8;
  let p;
  let standIn;
  before(async () => {
    ({ p, standIn } = await startBehindStandIn('xray-outage-full', {
      adjust: (fn) => (fn.name === 'E2e-Backend'
        ? { ...fn, environment: { ...fn.environment, [MAX_SPANS_ENV]: String(MAX_SPANS) } }
        : fn),
    }));
  });
  after(async () => {
    await p?.stop();
    await standIn?.stop();
  });

  test('the oldest retained spans are dropped first, and each one is counted', async () => {
    const backend = p.functions.Backend.name;
    const buffer = p.functions.Backend.environment[MAX_SPANS_ENV];
    assert.equal(buffer, String(MAX_SPANS), 'Backend runs with a small span buffer');
    let n = 0;
    await invokeBackend(p, `full-${n++}`, 'before');
    standIn.setOutage('refuse');
    const during = [];
    for (let i = 0; i < DURING; i++) {
      during.push(await invokeBackend(p, `full-${n++}`, 'refuse'));
      await sleep(PAUSE_MS);
    }
    standIn.setOutage(undefined);
    const later = [];
    for (let i = 0; i < 3; i++) {
      later.push(await invokeBackend(p, `full-${n++}`, 'after'));
      await sleep(PAUSE_MS);
    }
    await p.service.settle();

    // Wait for the last invocations after the outage: everything retained left before them.
    const check = async () => {
      const traces = new Map((await p.reader.traces([...during, ...later].map((r) => r.traceId))).map((t) => [t.traceId, t]));
      return { traces, done: later.every((r) => storedOf(traces.get(r.traceId), r).attached) };
    };
    let state = await check();
    const until = Date.now() + XRAY_DEADLINE_MS;
    while (!state.done && Date.now() < until) {
      await sleep(1_000);
      later.push(await invokeBackend(p, `full-${n++}`, 'after'));
      await p.service.settle();
      state = await check();
    }
    const notThere = later.filter((r) => !storedOf(state.traces.get(r.traceId), r).attached);
    assert.ok(state.done, `after ${XRAY_DEADLINE_MS / 1000} s, ${notThere.length} of the ${later.length} invocations after the outage are incomplete in X-Ray: ${JSON.stringify(notThere.map((r) => ({ requestId: r.requestId, ...countsOf(storedOf(state.traces.get(r.traceId), r)) })))}\n${collectorLines(p.service, p.functions.Backend.name).slice(-20).join('\n')}`);

    const lines = collectorLines(p.service, backend);
    const flushes = flushRecords(lines);
    const explain = `\ncollector log:\n${lines.join('\n')}`;
    const evicted = flushes.reduce((sum, f) => sum + (f.dropped_reasons?.evicted ?? 0), 0);
    const dropped = flushes.reduce((sum, f) => sum + f.dropped_spans, 0);
    assert.ok(evicted > 0, `nothing evicted with a buffer of ${MAX_SPANS} spans during ${DURING} invocations${explain}`);
    assert.equal(dropped, evicted, `spans dropped for another reason than eviction${explain}`);
    assert.ok(flushes.every((f) => f.retained_spans <= MAX_SPANS), `more retained than the buffer holds${explain}`);

    // In X-Ray: the spans of the outage present per invocation (0, 1 or 2), oldest first missing.
    const present = during.map((r) => {
      const stored = storedOf(state.traces.get(r.traceId), r);
      return Math.min(stored.handlers.length, 1) + Math.min(stored.fortunes.length, 1);
    });
    const missingSpans = present.reduce((sum, k) => sum + (SPANS_PER_INVOCATION - k), 0);
    console.log(`# buffer of ${MAX_SPANS} spans, ${DURING} invocations during the outage: spans in X-Ray per invocation ${JSON.stringify(present)}; ${evicted} evicted and counted, ${missingSpans} missing`);
    assert.equal(missingSpans, evicted, `every span missing from X-Ray is counted as evicted, and only those${explain}`);
    assert.ok(present.every((k, i) => i === 0 || present[i - 1] <= k) && present.filter((k) => k === 1).length <= 1, `the oldest spans went first: ${JSON.stringify(present)}`);
    assert.equal(present.at(-1), SPANS_PER_INVOCATION, 'the newest invocation of the outage is whole in X-Ray');
    assert.equal(p.service.environments(backend).length, 1, 'one environment throughout');
  });
});
