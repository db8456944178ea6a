// h. The collector under the official runtime interface emulator (aws-lambda-rie), which serves
// the Runtime and Extensions APIs but not the Telemetry API: the collector must fall back to
// flushing on the next event or on SHUTDOWN, and invocations must complete. The same fallback
// always runs under this project's emulator with its Telemetry API answering as aws-lambda-rie
// does (202 Telemetry.NotSupported).
// i, j, g under aws-lambda-rie: a timed-out invocation and an uncaught exception still show in
// X-Ray with their handler segment (cut-short.test.mjs has them under this project's emulator),
// and a collector that dies fails the invocation with Extension.Crash.
// aws-lambda-rie is built by e2e/setup.sh from ../shared/third_party/aws-lambda-runtime-interface-emulator;
// these scenarios are skipped only when that folder is absent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { collectorConfigOverrides, lambdaEnvironment, nodeDirFor, runtimeDirFor, RUNTIME_HOOK, Sandbox } from '../../tools/lambda-emulator/index.mjs';
import { assertCutShortTrace, cutShortDocuments } from './cut-short.mjs';
import { E2E_DIR, eventually, WORK_ROOT } from './harness.mjs';
import { COLLECTOR_EXTENSION, startPipeline } from './pipeline-fixture.mjs';
import { describeNodes, tracesWith, untilInXRay } from './support/xray-documents.mjs';

const RIE_SOURCE = resolve(E2E_DIR, '..', '..', 'shared', 'third_party', 'aws-lambda-runtime-interface-emulator');
const RIE = join(E2E_DIR, '.cache', 'bin', 'aws-lambda-rie');
const skip = existsSync(RIE_SOURCE) ? false : `${RIE_SOURCE} is absent: aws-lambda-rie cannot be built here`;
/** How long aws-lambda-rie may take to listen, or to start an invocation: a hang, not a speed. */
const RIE_START_DEADLINE_MS = 60_000;

/** POSTs an event to aws-lambda-rie's invoke path through a Unix socket. */
function invokeRie(socketPath, event, headers = {}) {
  const body = Buffer.from(JSON.stringify(event));
  return new Promise((resolvePromise, reject) => {
    const req = request({ socketPath, method: 'POST', path: '/2015-03-31/functions/function/invocations', headers: { 'Content-Length': body.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs one function of the e2e app under aws-lambda-rie in a sandbox of its own: its layers at
 * /opt, its code at /var/task, the Node.js runtime of its major, X-Ray reachable at moto's port.
 */
async function startRie(p, fnKey) {
  assert.ok(existsSync(RIE), `${RIE} is missing although ${RIE_SOURCE} exists: run e2e/setup.sh (as root), which builds it`);
  const fn = p.functions[fnKey];
  const major = Number(/nodejs(\d+)/.exec(fn.runtime)[1]);
  const workDir = join(WORK_ROOT, `rie-${fnKey}`, 'sandbox');
  rmSync(workDir, { recursive: true, force: true });
  const optDir = join(workDir, 'opt');
  mkdirSync(optDir, { recursive: true });
  for (const layer of fn.layerDirs) cpSync(layer, optDir, { recursive: true });
  const lines = [];
  const sandbox = await Sandbox.create({
    workDir,
    mounts: { '/opt': optDir, '/var/task': fn.codeDir, '/var/runtime': runtimeDirFor(major), '/var/lang': nodeDirFor(major) },
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
  const socketPath = await sandbox.exposeInside('127.0.0.1', 8080);
  // aws-lambda-rie refuses connections until it listens: retry until it answers, up to a
  // deadline that only a process that never starts reaches.
  const invoke = async (event, headers) => {
    const until = Date.now() + RIE_START_DEADLINE_MS;
    let answer;
    let lastError;
    while (!answer && Date.now() < until) {
      answer = await invokeRie(socketPath, event, headers).catch((err) => { lastError = err; });
      if (!answer) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(answer, `aws-lambda-rie did not answer within ${RIE_START_DEADLINE_MS / 1000} s (${lastError?.message}):\n${lines.join('\n')}`);
    return answer;
  };
  return { sandbox, lines, invoke, explain: () => `\naws-lambda-rie and its processes said:\n${lines.slice(-80).join('\n')}` };
}

/**
 * The trace holding the span whose attributes carry `marker`, once it holds the handler segment
 * and the handler's spans. aws-lambda-rie passes the runtime no trace header of its own (its
 * tracer is a no-op), so the handler span starts a trace of its own, with no parent.
 */
async function traceWithMarker(reader, marker, explain) {
  const wanted = Object.entries(cutShortDocuments(undefined));
  const marked = (traces) => traces.find((t) => t.nodes.some((n) => n.name === 'before-sleep' && JSON.stringify(n.doc).includes(marker)));
  const traces = await untilInXRay({
    what: `the trace of ${marker}`,
    read: async () => reader.traces(await reader.traceIds()),
    missing: (all) => {
      const found = marked(all);
      if (!found) return [`a trace with before-sleep marked ${marker}`];
      return wanted.filter(([, has]) => !has(found.nodes)).map(([name]) => `${name} in trace ${found.traceId}`);
    },
    present: (all) => `${all.length} traces${marked(all) ? `; the marked one:\n${describeNodes(marked(all).nodes)}` : ''}`,
    explain,
  });
  return marked(traces);
}

/** The PID of the collector extension inside a sandbox, from /proc. */
function collectorPid(sandbox) {
  for (const pid of sandbox.pids()) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].endsWith(`/${COLLECTOR_EXTENSION}`)) return pid;
    } catch {
      // gone
    }
  }
  return undefined;
}

describe('h. collector under the official runtime interface emulator', { skip }, () => {
  let p;
  let rie;
  before(async () => {
    p = await startPipeline('rie');
    rie = await startRie(p, 'Backend');
  });
  after(async () => {
    await rie?.sandbox.destroy();
    await p?.stop();
  });

  test('invocations complete and spans arrive in X-Ray without the Telemetry API', async () => {
    const first = await rie.invoke({ name: 'rie-1' });
    assert.equal(first.status, 200, first.body);
    const second = await rie.invoke({ name: 'rie-2' });
    assert.equal(second.status, 200, second.body);
    // The first invocation's spans are flushed by the next event at the latest.
    await untilInXRay({
      what: 'spans under aws-lambda-rie',
      read: () => p.reader.allNodes(),
      missing: (nodes) => (nodes.some((n) => n.name === 'pick-fortune') ? [] : ['a pick-fortune span']),
      present: (nodes) => `${nodes.length} documents\n${describeNodes(nodes)}`,
      explain: rie.explain,
    });
  });
});

describe('i, j, g. cut-short invocations under the official runtime interface emulator', { skip }, () => {
  let p;
  let rie;
  before(async () => {
    p = await startPipeline('rie-slow');
    rie = await startRie(p, 'Slow');
    // Warm: aws-lambda-rie's timeout of the first invocation includes Init.
    const warm = await rie.invoke({});
    assert.equal(warm.status, 200, warm.body);
  });
  after(async () => {
    await rie?.sandbox.destroy();
    await p?.stop();
  });

  test('i. a timed-out invocation: its handler segment is a Sandbox.Timedout fault with its spans attached', async () => {
    const marker = `rie-timeout-${Date.now()}`;
    const answer = await rie.invoke({ sleepMs: 10_000, marker, flush: false });
    assert.match(answer.body, /Task timed out/);
    const found = await traceWithMarker(p.reader, marker, rie.explain);
    assertCutShortTrace(found.nodes, { parentId: undefined, exceptionType: 'Sandbox.Timedout', explain: rie.explain() });
  });

  test('j. an uncaught exception: its handler segment is a fault naming the error, with its spans attached', async () => {
    const marker = `rie-uncaught-${Date.now()}`;
    const answer = await rie.invoke({ sleepMs: 1000, marker, crash: 'throw', flush: false });
    assert.match(answer.body, new RegExp(`uncaught in a timer \\(${marker}\\)`));
    const found = await traceWithMarker(p.reader, marker, rie.explain);
    assertCutShortTrace(found.nodes, { parentId: undefined, message: new RegExp(`uncaught in a timer \\(${marker}\\)`), explain: rie.explain() });
  });

  test('g. a collector killed mid-invocation: aws-lambda-rie fails it with Extension.Crash, as this project\'s emulator does', async () => {
    const warm = await rie.invoke({});
    assert.equal(warm.status, 200, warm.body);
    // Killed once the invocation has started (aws-lambda-rie prints START when it dispatches
    // it), while the handler sleeps past the function's timeout: an invocation that failed only
    // when the handler ended would time out instead.
    const starts = () => rie.lines.filter((l) => l.includes('START RequestId')).length;
    const startsBefore = starts();
    const pending = rie.invoke({ sleepMs: 10_000 });
    assert.ok(await eventually(() => starts() > startsBefore, { timeoutMs: RIE_START_DEADLINE_MS }), `aws-lambda-rie never started the invocation${rie.explain()}`);
    const pid = collectorPid(rie.sandbox);
    assert.ok(pid, `no collector process in the sandbox${rie.explain()}`);
    process.kill(pid, 'SIGKILL');
    const answer = await pending;
    const body = JSON.parse(answer.body);
    assert.equal(body.errorType, 'Extension.Crash', answer.body);
    assert.match(body.errorMessage, /^RequestId: \S+ Error: signal: killed$/);
    const next = await rie.invoke({});
    assert.deepEqual(JSON.parse(next.body), { slept: 0 }, `the next invocation answers after the reset${rie.explain()}`);
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
    // SHUTDOWN the earlier invocations are in X-Ray. The last one's usually wait in the collector;
    // on a loaded machine the extension may read its INVOKE after that invocation's spans came
    // and take them along, which is no loss: only its absence after SHUTDOWN would be.
    const before = await p.reader.traces(results.map((r) => r.traceId));
    const exported = (traces, r) => (traces.find((t) => t.traceId === r.traceId)?.nodes ?? []).some((n) => n.name === 'pick-fortune');
    const exportedBefore = results.map((r) => exported(before, r));
    assert.deepEqual(exportedBefore.slice(0, 2), [true, true], 'the earlier invocations\' spans are in X-Ray before SHUTDOWN');
    console.log(`# the last invocation's spans were ${exportedBefore[2] ? 'already' : 'not yet'} in X-Ray before SHUTDOWN`);
    await p.service.shutdownAll();
    await tracesWith(p.reader, results.map((r) => r.traceId), (byId) => results
      .filter((r) => !(byId.get(r.traceId)?.nodes ?? []).some((n) => n.name === 'pick-fortune'))
      .map((r) => `pick-fortune of ${r.requestId}`), { what: 'the spans drained by SHUTDOWN' });
  });
});
