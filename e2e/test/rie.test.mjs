// h. The collector under the official runtime interface emulator (aws-lambda-rie), which serves
// the Runtime and Extensions APIs but not the Telemetry API: the collector must fall back to
// flushing on the next event or on SHUTDOWN, and invocations must complete.
// The official emulator runs when e2e/setup.sh could install it (it reports why not); the same
// fallback always runs under this project's emulator with its Telemetry API answering as
// aws-lambda-rie does (202 Telemetry.NotSupported).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { collectorConfigOverrides, lambdaEnvironment, nodeDirFor, runtimeDirFor, RUNTIME_HOOK, Sandbox } from '../../tools/lambda-emulator/index.mjs';
import { E2E_DIR, WORK_ROOT } from './harness.mjs';
import { startPipeline } from './pipeline-fixture.mjs';

function findRie() {
  const cached = join(E2E_DIR, '.cache', 'bin', 'aws-lambda-rie');
  if (existsSync(cached)) return cached;
  try {
    return execFileSync('sh', ['-c', 'command -v aws-lambda-rie'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const RIE = findRie();
const skip = RIE ? false : 'aws-lambda-rie is not installed: e2e/setup.sh could not build it here (see its output)';

/** POSTs an event to the emulator's invoke path through a Unix socket. */
function invokeRie(socketPath, event) {
  const body = Buffer.from(JSON.stringify(event));
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/2015-03-31/functions/function/invocations', headers: { 'Content-Length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('h. collector under the official runtime interface emulator', () => {
  let p;
  let sandbox;
  let socketPath;
  const lines = [];
  before(async () => {
    if (skip) return;
    p = await startPipeline('rie');
    const fn = p.functions.Backend;
    const workDir = join(WORK_ROOT, 'rie', 'sandbox');
    rmSync(workDir, { recursive: true, force: true });
    const optDir = join(workDir, 'opt');
    mkdirSync(optDir, { recursive: true });
    for (const layer of fn.layerDirs) cpSync(layer, optDir, { recursive: true });
    sandbox = await Sandbox.create({
      workDir,
      mounts: { '/opt': optDir, '/var/task': fn.codeDir, '/var/runtime': runtimeDirFor(22), '/var/lang': nodeDirFor(22) },
      forwards: [{ port: p.moto.port, socketPath: p.service.xraySocket }],
      log: (line) => lines.push(line),
    });
    const xrayInside = `http://127.0.0.1:${p.moto.port}`;
    const env = lambdaEnvironment(fn, {
      runtimeApi: '127.0.0.1:9001',
      credentials: p.service.credentials,
      overrides: { ...collectorConfigOverrides(fn.environment, optDir, xrayInside), AWS_ENDPOINT_URL: xrayInside, AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds) },
    });
    sandbox.spawn([RIE, '/var/lang/bin/node', '--import', RUNTIME_HOOK, '/var/runtime/index.mjs'], { env, cwd: '/var/task', onLine: (_s, line) => lines.push(line) });
    socketPath = await sandbox.exposeInside('127.0.0.1', 8080);
  });
  after(async () => {
    await sandbox?.destroy();
    await p?.stop();
  });

  test('invocations complete and spans arrive in X-Ray without the Telemetry API', { skip }, async () => {
    let first;
    for (let attempt = 0; attempt < 50 && !first; attempt++) {
      first = await invokeRie(socketPath, { name: 'rie-1' }).catch(() => undefined);
      if (!first) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(first, `aws-lambda-rie did not answer:\n${lines.join('\n')}`);
    assert.equal(first.status, 200, first.body);
    const second = await invokeRie(socketPath, { name: 'rie-2' });
    assert.equal(second.status, 200, second.body);
    // The first invocation's spans are flushed by the next event at the latest.
    const until = Date.now() + 10_000;
    let fortunes = 0;
    while (Date.now() < until && fortunes < 1) {
      fortunes = (await p.reader.allNodes()).filter((n) => n.name === 'pick-fortune').length;
      if (fortunes < 1) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(fortunes >= 1, `no span reached X-Ray under aws-lambda-rie:\n${lines.join('\n')}`);
  });
});

describe('h. collector without the Telemetry API (202 Telemetry.NotSupported, as aws-lambda-rie answers)', () => {
  let p;
  before(async () => {
    p = await startPipeline('no-telemetry', { telemetryApi: false });
  });
  after(async () => {
    await p?.stop();
  });

  test('d/h. invocations complete within the deadline; spans go out on the next event, and SHUTDOWN drains the rest', async () => {
    const backend = p.functions.Backend;
    const results = [];
    for (let i = 0; i < 3; i++) {
      const result = await p.service.invoke(backend.name, { name: `no-telemetry-${i}` });
      assert.equal(result.functionError, undefined, result.payload.toString());
      const record = await result.done;
      assert.equal(record.status, 'success');
      assert.ok(record.frozenAt, 'the extension called event/next before the deadline');
      results.push(result);
    }
    const env = p.service.environments(backend.name).at(-1);
    assert.equal(env.telemetryApi.delivered.length, 0, 'nothing was delivered through the Telemetry API');
    await p.service.settle();
    // Without runtimeDone the collector exports an invocation's spans on the next event: before
    // SHUTDOWN the earlier invocations are in X-Ray and the last one still waits in the collector.
    const before = await p.reader.traces(results.map((r) => r.traceId));
    const exported = (traces, r) => (traces.find((t) => t.traceId === r.traceId)?.nodes ?? []).some((n) => n.name === 'pick-fortune');
    assert.deepEqual(results.map((r) => exported(before, r)), [true, true, false], 'spans exported before SHUTDOWN, per invocation');
    await p.service.shutdownAll();
    const traces = await p.reader.traces(results.map((r) => r.traceId));
    for (const r of results) {
      const nodes = traces.find((t) => t.traceId === r.traceId)?.nodes ?? [];
      assert.ok(nodes.some((n) => n.name === 'pick-fortune'), `spans of ${r.requestId} never reached X-Ray`);
    }
  });
});
