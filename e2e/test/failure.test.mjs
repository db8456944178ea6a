// Failure scenarios: the function answers whatever happens to X-Ray, and without a collector; a
// collector that dies fails the invocation in progress with Extension.Crash, as Lambda does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startXRayStandIn } from '../../tools/lambda-emulator/index.mjs';
import { eventually, json } from './harness.mjs';
import { COLLECTOR_EXTENSION, collectorLines, startPipeline } from './pipeline-fixture.mjs';

const droppedCount = (lines) => lines
  .map((line) => /"dropped_spans":\s*(\d+)/.exec(line)?.[1])
  .filter(Boolean)
  .reduce((sum, n) => sum + Number(n), 0);

describe('f. X-Ray stand-in down', () => {
  for (const variant of ['refusing connections', 'accepting and never answering']) {
    describe(variant, () => {
      let p;
      let blackhole;
      before(async () => {
        if (variant === 'refusing connections') {
          // Nothing listens on port 9 inside the environment.
          p = await startPipeline('xray-refused', { xrayEndpointInside: 'http://127.0.0.1:9' });
        } else {
          // An X-Ray endpoint that accepts and never answers.
          blackhole = await startXRayStandIn({ behaviour: 'hang' });
          p = await startPipeline('xray-hangs', { xrayPort: blackhole.port });
        }
      });
      after(async () => {
        await p?.stop();
        await blackhole?.stop();
      });

      test('every invocation answers, the extension calls event/next within the deadline, drops are logged', async () => {
        const backend = p.functions.Backend;
        const records = [];
        for (let i = 0; i < 3; i++) {
          const result = await p.service.invoke(backend.name, { name: `down-${i}` });
          assert.equal(result.statusCode, 200);
          assert.equal(result.functionError, undefined, result.payload.toString());
          assert.match(JSON.parse(json(result).body).fortune, /\.$/);
          records.push(await result.done);
        }
        for (const record of records) {
          // The emulator ends an invocation as a timeout when an extension is not back in
          // event/next by the function's deadline: success means the deadline was kept.
          assert.equal(record.status, 'success', `invocation ${record.requestId} ended with ${record.status}`);
          assert.ok(record.frozenAt, 'the extension called event/next and the environment froze');
          console.log(`# ${variant}: extension time after the response ${record.extensionsDoneAt - record.respondedAt} ms (informational)`);
        }
        await p.service.shutdownAll();
        const lines = collectorLines(p.service, backend.name);
        assert.ok(droppedCount(lines) > 0, `no dropped_spans count in the collector's log:\n${lines.join('\n')}`);
      });
    });
  }
});

describe('g. collector missing or dying', () => {
  test('without the collector layer the functions still answer, fetch and SDK call included', async () => {
    const p = await startPipeline('collector-missing', {
      adjust: (fn) => ({ ...fn, layerDirs: fn.layerDirs.filter((dir) => !existsSync(join(dir, 'extensions'))) }),
    });
    try {
      const result = await p.service.invoke(p.functions.Frontend.name, { name: 'Grace' });
      assert.equal(result.functionError, undefined, result.payload.toString());
      assert.equal(json(result).greeting, 'Hello, Grace!');
      assert.equal(p.service.environments(p.functions.Frontend.name)[0].extensionsApi.byId.size, 0, 'no extension ran');
    } finally {
      await p.stop();
    }
  });

  test('a collector killed mid-invocation: the invocation fails with Extension.Crash, as on Lambda, the environment is reset, and the next one answers', async () => {
    const p = await startPipeline('collector-crash');
    try {
      const slow = p.functions.Slow.name;
      await (await p.service.invoke(slow, {})).done;
      const env = p.service.environments(slow).at(-1);
      const collector = env.processes.get(`extension:${COLLECTOR_EXTENSION}`);
      // Killed once the invocation has started, while the handler sleeps past the function's
      // timeout: an invocation that failed only when the handler ended would time out instead.
      const started = env.invocations.length;
      const pending = p.service.invoke(slow, { sleepMs: 10_000 });
      assert.ok(await eventually(() => env.invocations.length > started, { timeoutMs: 60_000 }), 'the invocation never started');
      process.kill(collector.child.pid, 'SIGKILL');
      const result = await pending;
      assert.equal(result.functionError, 'Unhandled');
      assert.equal(json(result).errorType, 'Extension.Crash', result.payload.toString());
      assert.match(json(result).errorMessage, new RegExp(`^RequestId: ${result.requestId} Error: (signal: killed|exit status \\d+)$`));
      const record = await result.done;
      assert.equal(record.status, 'failure');
      assert.equal(env.phase, 'dead', 'Lambda resets an environment whose extension died');
      assert.deepEqual(env.shutdowns.map((s) => s.reason), ['failure']);
      const next = await p.service.invoke(slow, {});
      assert.equal(next.functionError, undefined, next.payload.toString());
      assert.deepEqual(json(next), { slept: 0 });
      assert.equal(p.service.environments(slow).length, 2, 'a new environment serves the next invocation');
    } finally {
      await p.stop();
    }
  });
});
