// The emulator itself, with small handlers and a test extension: Runtime API through the real
// aws-lambda-ric on Node.js 22 and 24, Extensions API lifecycle, Telemetry API delivery, freeze,
// timeouts, crashes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, FIXTURES, json, processState, recorderRecords, startService } from './harness.mjs';
import { parseTraceHeader, postInvoke } from '../../tools/lambda-emulator/index.mjs';

const recorderLayer = join(FIXTURES, 'layers', 'recorder-extension');

describe('Lambda environment emulator', () => {
  let service;
  before(async () => {
    service = await startService('emulator');
    service.register({ name: 'echo-cjs-22', runtime: 'nodejs22.x', codeDir: join(FIXTURES, 'handlers', 'echo-cjs'), layerDirs: [recorderLayer] });
    service.register({ name: 'echo-esm-24', runtime: 'nodejs24.x', codeDir: join(FIXTURES, 'handlers', 'echo-esm'), handler: 'index.handler' });
    service.register({ name: 'behaviours', runtime: 'nodejs22.x', timeoutSeconds: 1, codeDir: join(FIXTURES, 'handlers', 'behaviours'), layerDirs: [recorderLayer] });
    service.register({ name: 'missing-handler', runtime: 'nodejs24.x', handler: 'nothere.handler', codeDir: join(FIXTURES, 'handlers', 'behaviours') });
    service.register({ name: 'extension-init-error', runtime: 'nodejs22.x', codeDir: join(FIXTURES, 'handlers', 'echo-cjs'), layerDirs: [join(FIXTURES, 'layers', 'init-error-extension')] });
  });
  after(async () => {
    await service?.stop();
  });

  test('runs a CommonJS handler with aws-lambda-ric on Node.js 22, with Lambda’s environment', async () => {
    const result = await service.invoke('echo-cjs-22', { hello: 'world' });
    assert.equal(result.statusCode, 200);
    assert.equal(result.functionError, undefined, result.payload.toString());
    const body = json(result);
    assert.deepEqual(body.echo, { hello: 'world' });
    assert.equal(body.requestId, result.requestId);
    assert.equal(body.functionName, 'echo-cjs-22');
    assert.match(body.node, /^v22\./);
    assert.equal(body.cwd, '/var/task');
    const header = parseTraceHeader(body.traceId);
    assert.equal(header.root, result.traceId);
    assert.equal(header.sampled, true);
    assert.match(header.parent, /^[0-9a-f]{16}$/);
  });

  test('runs an ES module handler on Node.js 24 that imports the runtime-provided AWS SDK', async () => {
    const result = await service.invoke('echo-esm-24', { n: 1 });
    assert.equal(result.functionError, undefined, result.payload.toString());
    const body = json(result);
    assert.equal(body.sdkLoaded, true);
    assert.match(body.node, /^v24\./);
  });

  test('freezes every process of the environment after the invocation and thaws it for the next', async () => {
    const first = await service.invoke('echo-cjs-22', { i: 1 });
    await first.done;
    const env = service.environments('echo-cjs-22').at(-1);
    const pids = env.sandbox.pids();
    assert.ok(pids.length >= 3, `expected runtime, extension and helpers, got ${pids.length} processes`);
    for (const pid of pids) assert.equal(await processState(pid), 'T', `process ${pid} should be stopped`);
    const second = await service.invoke('echo-cjs-22', { i: 2 });
    assert.deepEqual(json(second).echo, { i: 2 });
    assert.equal(service.environments('echo-cjs-22').length, 1, 'the warm environment is reused');
  });

  test('gives extensions INVOKE with deadline and tracing, Telemetry API platform events, and waits for event/next', async () => {
    const result = await service.invoke('echo-cjs-22', { i: 3 });
    const record = await result.done;
    const records = await eventually(() => {
      const all = recorderRecords(service, 'echo-cjs-22');
      return all.some((r) => r.recorder === 'done' && r.requestId === result.requestId) && all;
    });
    assert.ok(records, 'the extension never printed its done line');
    const registered = records.find((r) => r.recorder === 'registered');
    assert.equal(registered.status, 200);
    assert.deepEqual(registered.body, { functionName: 'echo-cjs-22', functionVersion: '$LATEST', handler: 'index.handler' });
    assert.equal(records.find((r) => r.recorder === 'subscribed').status, 200);
    const invoke = records.find((r) => r.recorder === 'event' && r.event.requestId === result.requestId).event;
    assert.equal(invoke.eventType, 'INVOKE');
    assert.equal(invoke.invokedFunctionArn, 'arn:aws:lambda:us-east-1:123456789012:function:echo-cjs-22');
    assert.equal(invoke.tracing.type, 'X-Amzn-Trace-Id');
    assert.equal(parseTraceHeader(invoke.tracing.value).root, result.traceId);
    const fn = service.functions.get('echo-cjs-22');
    assert.equal(invoke.deadlineMs, record.startedAt + fn.timeoutSeconds * 1000, 'the deadline: the invocation\'s start plus the timeout, in epoch milliseconds');
    const done = records.find((r) => r.recorder === 'done' && r.requestId === result.requestId);
    assert.ok(done, 'the extension saw platform.runtimeDone for the request before calling event/next');
    assert.ok(record.extensionsDoneAt >= done.at, 'the invocation ended only after the extension called event/next');
    // A batch counts as delivered when the subscriber's answer is read, which may come just after
    // the extension's event/next.
    const delivered = await eventually(() => {
      const events = service.environments('echo-cjs-22').at(-1).telemetryApi.delivered.flatMap((b) => b.events);
      return events.some((e) => e.type === 'platform.runtimeDone' && e.record.requestId === result.requestId) && events;
    });
    assert.ok(delivered, 'platform.runtimeDone was never delivered');
    const types = delivered.filter((e) => e.record.requestId === result.requestId).map((e) => e.type);
    assert.ok(types.includes('platform.start') && types.includes('platform.runtimeDone'), `got ${types}`);
    assert.equal(delivered.find((e) => e.type === 'platform.runtimeDone' && e.record.requestId === result.requestId).record.status, 'success');
  });

  test('a handler error comes back as an Unhandled function error and keeps the environment', async () => {
    const before = service.environments('behaviours').length;
    const result = await service.invoke('behaviours', { throw: 'boom' });
    assert.equal(result.functionError, 'Unhandled');
    assert.equal(json(result).errorMessage, 'boom');
    await result.done;
    const ok = await service.invoke('behaviours', {});
    assert.deepEqual(json(ok), { ok: true });
    assert.equal(service.environments('behaviours').length, Math.max(before, 1));
  });

  test('a timeout kills the runtime, sends SHUTDOWN (timeout) to extensions and resets the environment', async () => {
    await (await service.invoke('behaviours', {})).done;
    const env = service.environments('behaviours').at(-1);
    const result = await service.invoke('behaviours', { sleepMs: 5000 });
    assert.equal(result.functionError, 'Unhandled');
    assert.equal(json(result).errorType, 'Sandbox.Timedout');
    assert.match(json(result).errorMessage, /Task timed out after 1\.00 seconds/);
    await result.done;
    assert.equal(env.phase, 'dead');
    assert.deepEqual(env.shutdowns.map((s) => [s.reason, s.receivers]), [['timeout', ['recorder']]]);
    assert.equal(env.sandbox.pids().length, 0, 'no process of the old environment survives');
    const next = await service.invoke('behaviours', {});
    assert.deepEqual(json(next), { ok: true });
    assert.notEqual(service.environments('behaviours').at(-1), env, 'a new environment serves the next invocation');
  });

  test('a runtime that exits mid-invocation gives Runtime.ExitError and a fresh environment next time', async () => {
    const result = await service.invoke('behaviours', { exit: 3 });
    assert.equal(json(result).errorType, 'Runtime.ExitError');
    assert.match(json(result).errorMessage, /exit status 3/);
    await result.done;
    const next = await service.invoke('behaviours', {});
    assert.deepEqual(json(next), { ok: true });
  });

  test('an extension that dies mid-invocation fails it with Extension.Crash and resets the environment', async () => {
    await (await service.invoke('behaviours', {})).done;
    const env = service.environments('behaviours').at(-1);
    const recorder = env.processes.get('extension:recorder');
    // Killed once the invocation has started, while the handler sleeps past the function's 1 s
    // timeout: an invocation that failed when the handler finished, not when the extension died,
    // would end as Sandbox.Timedout instead of Extension.Crash.
    const started = env.invocations.length;
    const pending = service.invoke('behaviours', { sleepMs: 5000 });
    assert.ok(await eventually(() => env.invocations.length > started, { timeoutMs: 60_000 }), 'the invocation never started');
    process.kill(recorder.child.pid, 'SIGKILL');
    const result = await pending;
    assert.equal(result.functionError, 'Unhandled');
    assert.equal(json(result).errorType, 'Extension.Crash', 'the invocation failed when the extension died, not at its timeout');
    assert.match(json(result).errorMessage, new RegExp(`^RequestId: ${result.requestId} Error: `));
    const record = await result.done;
    assert.equal(record.status, 'failure');
    assert.equal(env.phase, 'dead');
    assert.deepEqual(env.shutdowns.map((s) => s.reason), ['failure']);
    assert.equal(env.sandbox.pids().length, 0, 'the runtime was stopped with the environment');
    const next = await service.invoke('behaviours', {});
    assert.deepEqual(json(next), { ok: true });
    assert.notEqual(service.environments('behaviours').at(-1), env, 'a new environment serves the next invocation');
  });

  test('a handler the runtime cannot load fails Init with the runtime’s init error', async () => {
    const result = await service.invoke('missing-handler', {});
    assert.equal(result.functionError, 'Unhandled');
    const body = json(result);
    assert.equal(body.errorType, 'Runtime.ImportModuleError');
    assert.match(body.errorMessage, /nothere/);
  });

  test('the Extensions API refuses bad requests with the field and the fix, and an extension’s init/error fails Init', async () => {
    const result = await service.invoke('extension-init-error', {});
    assert.equal(result.functionError, 'Unhandled');
    assert.equal(json(result).errorType, 'Extension.ConfigInvalid');
    const lines = service.environments('extension-init-error').flatMap((env) => env.logs)
      .filter((l) => l.source === 'extension:misconfigured' && l.line.startsWith('{'))
      .map((l) => JSON.parse(l.line));
    const answer = (what) => lines.find((l) => l.misconfigured === what);
    assert.equal(answer('bad-events').status, 400);
    assert.match(JSON.parse(answer('bad-events').body).errorMessage, /events \["BOGUS"\] are not valid: use "INVOKE" and\/or "SHUTDOWN"/);
    assert.equal(answer('no-name').status, 400);
    assert.match(JSON.parse(answer('no-name').body).errorMessage, /Lambda-Extension-Name is missing/);
    assert.equal(answer('registered').status, 200);
    assert.equal(answer('unknown-id').status, 403);
    assert.equal(answer('init-error').status, 202);
    assert.equal(service.environments('extension-init-error').at(-1).phase, 'dead', 'the failed environment is gone');
  });

  test('the Invoke API answers like Lambda: payload, X-Amz-Function-Error, 404 for an unknown function, trace header joined', async () => {
    const upstream = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const ok = await postInvoke(service.endpoint, 'echo-cjs-22', { via: 'http' }, { 'X-Amzn-Trace-Id': upstream });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['x-amz-function-error'], undefined);
    const body = JSON.parse(ok.payload.toString());
    assert.deepEqual(body.echo, { via: 'http' });
    assert.equal(parseTraceHeader(body.traceId).root, '1-5759e988-bd862e3fe1be46a994272793', 'the caller’s trace continues');
    assert.notEqual(parseTraceHeader(body.traceId).parent, '53995c3f42cd8ad8', 'the handler’s parent is Lambda’s function segment');
    const failed = await postInvoke(service.endpoint, 'behaviours', { throw: 'bad' });
    assert.equal(failed.statusCode, 200);
    assert.equal(failed.headers['x-amz-function-error'], 'Unhandled');
    const missing = await postInvoke(service.endpoint, 'nope', {});
    assert.equal(missing.statusCode, 404);
  });

  test('SHUTDOWN (spindown) reaches extensions, which exit by themselves before the 2 s limit', async () => {
    await (await service.invoke('echo-cjs-22', {})).done;
    const env = service.environments('echo-cjs-22').at(-1);
    await env.shutdown('spindown');
    assert.ok(!env.logs.some((l) => /still running at the end of Shutdown/.test(l.line)), 'nothing needed SIGKILL');
    assert.equal(env.processes.get('extension:recorder').exitCode, 0, 'the extension exited by itself');
    assert.deepEqual(env.shutdowns.map((s) => [s.reason, s.receivers]), [['spindown', ['recorder']]]);
    const records = await eventually(() => {
      const all = recorderRecords(service, 'echo-cjs-22');
      return all.some((r) => r.recorder === 'exiting') && all;
    });
    assert.ok(records, 'the extension never printed that it exits');
    assert.ok(records.some((r) => r.recorder === 'event' && r.event.eventType === 'SHUTDOWN' && r.event.shutdownReason === 'spindown'));
  });
});
