// i. A timed-out invocation and j. an uncaught exception, under this project's emulator, on
// Node.js 22 (aws-lambda-ric 3: the runtime reports the error, then exits) and 24 (aws-lambda-ric
// 4: the process dies of the exception): the handler segment is in X-Ray as a fault with its
// cause, and the handler's spans are attached to it. The handler does not flush its spans itself
// (`flush: false`): only the preload's deadline or exit path can deliver them. The same scenarios
// under the official runtime interface emulator are in rie.test.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { json } from './harness.mjs';
import { assertCutShortTrace, cutShortDocuments } from './cut-short.mjs';
import { collectorLines, startPipeline } from './pipeline-fixture.mjs';
import { traceWith } from './support/xray-documents.mjs';

/**
 * Milliseconds: the clocks' resolution and the moment between the preload's two reads of them
 * (a garbage collection may fall in between); nothing that grows with the machine's load.
 */
const DEADLINE_SLACK_MS = 20;

for (const runtime of ['nodejs22.x', 'nodejs24.x']) {
  describe(`cut-short invocations, ${runtime}`, () => {
    let p;
    let slow;
    before(async () => {
      p = await startPipeline(`cut-short-${runtime.replace(/\W/g, '')}`, {
        adjust: (fn) => (/Slow/.test(fn.name) ? { ...fn, runtime } : fn),
      });
      slow = p.functions.Slow.name;
      // Warm: the timeout below counts from a ready environment.
      await (await p.service.invoke(slow, {})).done;
    });
    after(async () => {
      await p?.stop();
    });

    const explain = () => `\n${p.service.logs.slice(-60).join('\n')}`;

    test('i. a timed-out invocation: its handler segment is a Sandbox.Timedout fault with its spans attached', async () => {
      const marker = `timeout-${runtime}-${Date.now()}`;
      const result = await p.service.invoke(slow, { sleepMs: 10_000, marker, flush: false });
      assert.equal(json(result).errorType, 'Sandbox.Timedout');
      const record = await result.done;
      assert.equal(record.status, 'timeout');
      const trace = await traceWith(p.reader, result.traceId, cutShortDocuments(result.functionSegmentId), { explain });
      const handler = assertCutShortTrace(trace.nodes, { parentId: result.functionSegmentId, exceptionType: 'Sandbox.Timedout', explain: explain() });
      // The preload ends the handler span at the invocation's deadline as the runtime got it
      // (Lambda-Runtime-Deadline-Ms: the emulator's start of the invocation plus the timeout), not
      // when its timer happened to run: the end is that instant, however loaded the machine. The
      // slack covers the millisecond clocks and the moment between reading the clock and the
      // remaining time.
      const deadlineMs = record.startedAt + p.functions.Slow.timeoutSeconds * 1000;
      const endMs = handler.end * 1000;
      assert.ok(endMs >= deadlineMs - DEADLINE_SLACK_MS && endMs <= deadlineMs + DEADLINE_SLACK_MS, `the handler segment ends at the deadline ${new Date(deadlineMs).toISOString()}, not ${new Date(endMs).toISOString()} (${(endMs - deadlineMs).toFixed(1)} ms off)`);
      const sleeping = trace.nodes.find((n) => n.name === 'sleeping');
      assert.ok(sleeping.fault || sleeping.error, 'the span cut short by the timeout is marked');
    });

    test('j. an uncaught exception: its handler segment is a fault naming the error, with its spans attached, and the environment is reset', async () => {
      const marker = `uncaught-${runtime}-${Date.now()}`;
      const result = await p.service.invoke(slow, { sleepMs: 1000, marker, crash: 'throw', flush: false });
      assert.equal(result.functionError, 'Unhandled');
      // aws-lambda-ric 3 reports the exception itself; under 4 the process dies of it.
      assert.match(json(result).errorType, runtime === 'nodejs22.x' ? /^Error$/ : /^Runtime\.ExitError$/, result.payload.toString());
      const record = await result.done;
      assert.equal(record.status, 'failure');
      const env = p.service.environments(slow).at(-1);
      assert.equal(env.phase, 'dead', 'the environment was reset');
      assert.deepEqual(env.shutdowns.map((s) => s.reason), ['failure']);
      const trace = await traceWith(p.reader, result.traceId, cutShortDocuments(result.functionSegmentId), { explain });
      assertCutShortTrace(trace.nodes, { parentId: result.functionSegmentId, message: new RegExp(`uncaught in a timer \\(${marker}\\)`), explain: explain() });
      const next = await p.service.invoke(slow, {});
      assert.equal(next.functionError, undefined, next.payload.toString());
      assert.notEqual(p.service.environments(slow).at(-1), env, 'a new environment serves the next invocation');
      assert.ok(collectorLines(p.service, slow).length > 0);
    });
  });
}
