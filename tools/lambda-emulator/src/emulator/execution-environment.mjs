// One Lambda execution environment: Init, Invoke and Shutdown phases, freeze and thaw.
// Lifecycle: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
//  - Init: start every extension in /opt/extensions, wait for them to register, start the runtime;
//    Init ends when the runtime and every extension have called their Next API (limit 10 s).
//  - Invoke: INVOKE goes to the runtime (Runtime API) and to extensions registered for it; the
//    invocation is complete when the runtime has answered and every extension has called
//    event/next again. Then Lambda freezes the environment until the next invocation.
//  - A timeout or a runtime crash resets the environment: the runtime is stopped and extensions get
//    SHUTDOWN with the reason; the next invocation initializes a new environment.
//  - An extension that exits during an invocation fails it: the caller gets `Extension.Crash` (unless
//    the runtime has answered already) and the environment is reset, as Lambda and aws-lambda-rie do
//    (its rapid/handlers.go watchEvents stores fatalerror.AgentCrash and cancels the invoke flow).
//  - Shutdown: SIGTERM to the runtime, SHUTDOWN to extensions; 2,000 ms in all with external
//    extensions, then SIGKILL
//    (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#runtimes-lifecycle-shutdown).
import { createServer, request } from 'node:http';
import { accessSync, constants, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ExtensionsApi } from './extensions-api.mjs';
import { RuntimeApi } from './runtime-api.mjs';
import { TelemetryApi } from './telemetry-api.mjs';
import { Sandbox } from './sandbox.mjs';
import { EnvironmentCgroup } from './cgroup.mjs';
import { deferred, sendError, withTimeout } from './http-util.mjs';

/** The Init phase limit. */
export const INIT_LIMIT_MS = 10_000;
/** The Shutdown phase limit with external extensions. */
export const SHUTDOWN_LIMIT_MS = 2_000;
/** Signals as Go's syscall.Signal.String() names them in aws-lambda-rie's error messages. */
const SIGNAL_NAMES = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGSEGV: 'segmentation fault', SIGABRT: 'aborted', SIGINT: 'interrupt', SIGBUS: 'bus error' };
/** Where AWS_LAMBDA_RUNTIME_API points inside every environment. */
export const RUNTIME_API_ADDRESS = '127.0.0.1:9001';

/**
 * @typedef {object} ExecutionEnvironmentOptions
 * @property {import('./function-definition.mjs').FunctionDefinition} fn
 * @property {Record<string,string>} env            the full process environment for runtime and extensions
 * @property {string} optDir                        merged layers
 * @property {string} runtimeDir                    what /var/runtime holds
 * @property {string} nodeDir                       what /var/lang holds (bin/node)
 * @property {string[]} runtimeCommand              argv of the runtime inside the sandbox
 * @property {string} workDir
 * @property {{port: number, socketPath: string}[]} forwards  host services reachable inside
 * @property {{port: number, socketPath: string}[]} [udpForwards]  UDP services reachable inside (the X-Ray daemon)
 * @property {Record<string,string>} [runtimeEnv]   variables for the runtime process only, over `env`
 * @property {(entry: LogEntry) => void} [onLog]
 * @property {string[]} [hostPaths]                host paths the runtime reads (loader hook, provided node_modules)
 * @property {boolean} [telemetryApi]               false: subscriptions get 202 "not supported", as under aws-lambda-rie
 * @property {ReturnType<import('./cgroup.mjs').resourceLimits>} [limits]   CPU share and memory limit (cgroup.mjs)
 *
 * @typedef {{time: number, source: string, line: string, framed?: boolean}} LogEntry
 */

export class ExecutionEnvironment {
  /** @param {ExecutionEnvironmentOptions} options */
  constructor(options) {
    this.options = options;
    this.fn = options.fn;
    this.id = randomUUID().slice(0, 8);
    /** @type {'new'|'initializing'|'ready'|'invoking'|'shutting-down'|'dead'} */
    this.phase = 'new';
    /** @type {LogEntry[]} */
    this.logs = [];
    /** Per-invocation facts for tests: requestId, timings, extension next times. */
    this.invocations = [];
    /** SHUTDOWN events sent, with the extensions that received them. */
    this.shutdowns = [];
    this.needsReset = undefined;
    this.processes = new Map();
    this.server = undefined;
  }

  get frozen() {
    return this.sandbox?.frozen ?? false;
  }

  /** @param {{framed?: boolean}} [details]  framed: a frame of the runtime's telemetry log descriptor */
  log(source, line, details = {}) {
    const entry = { time: Date.now(), source, line, ...details };
    this.logs.push(entry);
    this.options.onLog?.(entry);
  }

  /**
   * Runs the Init phase. Resolves with undefined on success or with the init error.
   * @returns {Promise<undefined | {errorType: string, errorMessage: string}>}
   */
  async init() {
    this.phase = 'initializing';
    const startedAt = Date.now();
    const { fn } = this;
    this.runtimeApi = new RuntimeApi();
    this.extensionsApi = new ExtensionsApi({ functionName: fn.name, functionVersion: '$LATEST', handler: fn.handler, accountId: fn.accountId });
    this.telemetryApi = new TelemetryApi({
      extensions: this.extensionsApi,
      post: (uri, body) => this.#postIntoSandbox(uri, body),
      log: (line) => this.log('emulator', line),
      supported: this.options.telemetryApi !== false,
    });
    const apiSocket = join(this.options.workDir, 'api.sock');
    rmSync(apiSocket, { force: true });
    this.server = createServer((req, res) => this.#route(req, res));
    this.server.keepAliveTimeout = 0;
    this.server.headersTimeout = 0;
    this.server.requestTimeout = 0;
    await new Promise((resolve, reject) => this.server.listen(apiSocket, resolve).once('error', reject));
    this.sandbox = await Sandbox.create({
      workDir: this.options.workDir,
      mounts: {
        '/opt': this.options.optDir,
        '/var/task': fn.codeDir,
        '/var/runtime': this.options.runtimeDir,
        '/var/lang': this.options.nodeDir,
      },
      forwards: [{ port: Number(RUNTIME_API_ADDRESS.split(':')[1]), socketPath: apiSocket }, ...this.options.forwards],
      udpForwards: this.options.udpForwards,
      hostPaths: this.options.hostPaths,
      log: (line) => this.log('emulator', line),
    });
    // Lambda's CPU share and memory limit: every runtime and extension process joins the groups.
    if (this.options.limits) {
      this.cgroup = EnvironmentCgroup.create(`${process.pid}-${this.id}`, this.options.limits, { log: (line) => this.log('emulator', line) });
      if (this.cgroup) this.log('emulator', describeLimits(this.cgroup));
    }
    this.telemetryApi.emit('platform.initStart', { initializationType: 'on-demand', phase: 'init', functionName: fn.name, functionVersion: '$LATEST' });

    const failed = deferred();
    this.initFailure = failed;
    const extensionNames = listExtensions(join(this.options.optDir, 'extensions'));
    for (const name of extensionNames) {
      this.#startProcess(`extension:${name}`, [`/opt/extensions/${name}`], '/opt/extensions', () => {
        if (this.phase === 'initializing') failed.resolve({ errorType: 'Extension.Crash', errorMessage: `extension ${name} exited during Init` });
        else this.extensionsApi.forget(name);
      });
    }
    const registered = await withTimeout(Promise.race([this.extensionsApi.whenRegistered(extensionNames.length).then(() => undefined), failed.promise]), INIT_LIMIT_MS);
    let error = registered.timedOut ? { errorType: 'Extension.InitTimeout', errorMessage: `extensions ${extensionNames.join(', ')} did not all register within ${INIT_LIMIT_MS} ms` } : registered.value;
    if (!error) {
      this.#startProcess('runtime', this.options.runtimeCommand, '/var/task', (code, signal, crash) => {
        failed.resolve({ errorType: crash.oom ? 'Runtime.OutOfMemory' : 'Runtime.ExitError', errorMessage: `RequestId: init Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}` });
      });
      const ready = Promise.all([this.runtimeApi.whenWaitingForNext(), this.extensionsApi.whenAllIdle()]).then(() => undefined);
      const runtimeInitError = this.runtimeApi.whenInitError().then((body) => initErrorFromBody(body));
      const extensionInitError = this.extensionsApi.whenInitError().then((e) => ({ errorType: e.errorType, errorMessage: `extension ${e.name}: ${e.body}` }));
      const initDone = Promise.race([ready, runtimeInitError, extensionInitError, failed.promise]);
      let outcome = await withTimeout(initDone, INIT_LIMIT_MS - (Date.now() - startedAt));
      if (outcome.timedOut) {
        // Lambda does not fail an on-demand function whose Init ran past its limit: it runs Init
        // again within the first invocation, bounded by the function's timeout (a "suppressed
        // init"). Here Init goes on, for as long again as the function's timeout.
        this.log('emulator', `Init ran past ${INIT_LIMIT_MS} ms: it continues within the first invocation's timeout (${fn.timeoutSeconds} s), as Lambda's suppressed init does`);
        outcome = await withTimeout(initDone, fn.timeoutSeconds * 1000);
      }
      error = outcome.timedOut ? { errorType: 'Runtime.InitTimeout', errorMessage: `Init did not finish within ${INIT_LIMIT_MS} ms, nor within the function's timeout after it` } : outcome.value;
    }
    this.initDurationMs = Date.now() - startedAt;
    const status = error ? 'error' : 'success';
    this.telemetryApi.emit('platform.initRuntimeDone', { initializationType: 'on-demand', phase: 'init', status });
    this.telemetryApi.emit('platform.initReport', { initializationType: 'on-demand', phase: 'init', status, metrics: { durationMs: this.initDurationMs } });
    if (error) {
      this.log('emulator', `Init failed: ${error.errorType}: ${error.errorMessage}`);
      await this.shutdown('failure');
      return error;
    }
    this.extensionsApi.registrationOpen = false;
    // Init may have had a burst (initCpu: 'burst'); invocations get the memory size's share.
    this.cgroup?.applyInvokeShare();
    await this.#freeze();
    this.phase = 'ready';
    return undefined;
  }

  /**
   * Runs one invocation. `response` settles when the runtime answers (what the caller gets);
   * `done` settles when the environment is frozen again or has been reset.
   * @param {{requestId: string, payload: Buffer, traceHeader: string}} request
   */
  invoke({ requestId, payload, traceHeader }) {
    if (this.phase !== 'ready') throw new Error(`environment ${this.id} cannot invoke while ${this.phase}`);
    this.phase = 'invoking';
    const response = deferred();
    const done = this.#runInvocation({ requestId, payload, traceHeader }, response);
    return { response: response.promise, done };
  }

  async #runInvocation({ requestId, payload, traceHeader }, response) {
    const { fn } = this;
    const record = { requestId, startedAt: Date.now(), respondedAt: undefined, extensionsDoneAt: undefined, frozenAt: undefined, status: undefined };
    this.invocations.push(record);
    this.#thaw();
    const deadlineMs = record.startedAt + fn.timeoutSeconds * 1000;
    const tracing = { type: 'X-Amzn-Trace-Id', value: traceHeader };
    this.telemetryApi.emit('platform.start', { requestId, version: '$LATEST', tracing });
    this.extensionsApi.deliver({ eventType: 'INVOKE', deadlineMs, requestId, invokedFunctionArn: fn.arn, tracing });
    // A process of the environment that exits during the invocation: the runtime or an extension.
    const crashed = deferred();
    this.crash = crashed;
    if (this.needsReset) crashed.resolve({ kind: 'crash', ...this.needsReset });
    let outcome = await withTimeout(
      Promise.race([this.runtimeApi.dispatch({ requestId, payload, deadlineMs, functionArn: fn.arn, traceHeader }), crashed.promise]),
      deadlineMs - Date.now(),
    );
    /** For a streamed response: the caller's `completion`, the invocation's final outcome. */
    let streamedOutcome;
    if (!outcome.timedOut && outcome.value.kind === 'stream') {
      // A streamed response: the caller reads it as it comes; the invocation is answered when the
      // runtime ends it, within the same deadline.
      const streamed = outcome.value;
      record.streamed = true;
      record.streamStartedAt = Date.now();
      streamedOutcome = deferred();
      response.resolve({ ...streamed, completion: streamedOutcome.promise });
      outcome = await withTimeout(Promise.race([streamed.completion, crashed.promise]), deadlineMs - Date.now());
      if (outcome.timedOut || outcome.value.kind === 'crash') streamed.stream.destroy(new Error(outcome.timedOut ? 'Sandbox.Timedout' : 'the runtime exited mid-stream'));
    }
    record.respondedAt = Date.now();
    const durationMs = record.respondedAt - record.startedAt;
    if (outcome.timedOut || outcome.value.kind === 'crash') {
      const timedOut = outcome.timedOut;
      record.status = timedOut ? 'timeout' : 'failure';
      const { errorType, errorMessage } = timedOut
        ? { errorType: 'Sandbox.Timedout', errorMessage: `${new Date().toISOString()} ${requestId} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds` }
        : crashError(requestId, outcome.value);
      record.errorType = errorType;
      response.resolve({ kind: 'error', errorType, body: Buffer.from(JSON.stringify({ errorType, errorMessage })) });
      streamedOutcome?.resolve({ kind: 'error', errorType, body: Buffer.from(JSON.stringify({ errorType, errorMessage })) });
      this.telemetryApi.emit('platform.runtimeDone', { requestId, status: record.status, errorType, metrics: { durationMs, producedBytes: 0 }, tracing });
      this.telemetryApi.emit('platform.report', { requestId, status: record.status, metrics: this.#reportMetrics(durationMs), tracing });
      this.runtimeApi.abandonCurrent();
      await this.#reset(timedOut ? 'timeout' : 'failure');
      return record;
    }
    const result = outcome.value;
    record.status = result.kind === 'response' ? 'success' : 'error';
    response.resolve(result);
    streamedOutcome?.resolve(result);
    this.telemetryApi.emit('platform.runtimeDone', {
      requestId,
      status: record.status,
      metrics: { durationMs, producedBytes: result.body.length },
      // A streamed response: latency to its start, then how long it streamed.
      spans: record.streamed
        ? [
          { name: 'responseLatency', start: new Date(record.startedAt).toISOString(), durationMs: record.streamStartedAt - record.startedAt },
          { name: 'responseDuration', start: new Date(record.streamStartedAt).toISOString(), durationMs: record.respondedAt - record.streamStartedAt },
        ]
        : [{ name: 'responseLatency', start: new Date(record.startedAt).toISOString(), durationMs }],
      tracing,
    });
    // The invocation ends when the runtime is back in /next and every extension has called
    // event/next; extensions get until the function deadline.
    // A process that exits now (the runtime after posting an error, an extension while it
    // exports) fails the invocation after its response and resets the environment.
    const settled = await withTimeout(
      Promise.race([
        Promise.all([this.runtimeApi.whenWaitingForNext(), this.extensionsApi.whenAllIdle()]).then(() => 'idle').catch(() => 'idle'),
        crashed.promise,
      ]),
      deadlineMs - Date.now(),
    );
    record.extensionsDoneAt = Date.now();
    const total = record.extensionsDoneAt - record.startedAt;
    if (!settled.timedOut && settled.value?.kind === 'crash') {
      record.status = 'failure';
      record.errorType = crashError(requestId, settled.value).errorType;
      this.log('emulator', `${requestId}: ${settled.value.process} exited after the response: the invocation fails with ${record.errorType}`);
      this.telemetryApi.emit('platform.report', { requestId, status: 'failure', errorType: record.errorType, metrics: this.#reportMetrics(total), tracing });
      await this.#reset('failure');
      return record;
    }
    if (settled.timedOut) {
      record.status = 'timeout';
      this.log('emulator', `${requestId}: extensions ${this.#busyExtensions().join(', ')} did not call event/next before the deadline`);
      this.telemetryApi.emit('platform.report', { requestId, status: 'timeout', metrics: this.#reportMetrics(total), tracing });
      await this.#reset('timeout');
      return record;
    }
    this.telemetryApi.emit('platform.report', { requestId, status: record.status, metrics: this.#reportMetrics(total), tracing });
    if (this.needsReset) {
      await this.#reset('failure');
      return record;
    }
    await this.#freeze();
    record.frozenAt = Date.now();
    this.phase = 'ready';
    return record;
  }

  /**
   * Runs the Shutdown phase and tears the environment down.
   * @param {'spindown'|'timeout'|'failure'} reason
   */
  async shutdown(reason = 'spindown') {
    if (this.phase === 'dead' || this.phase === 'shutting-down') return;
    this.phase = 'shutting-down';
    if (this.sandbox) {
      this.#thaw();
      const runtime = this.processes.get('runtime');
      runtime?.child.kill(reason === 'spindown' ? 'SIGTERM' : 'SIGKILL');
      const deadlineMs = Date.now() + SHUTDOWN_LIMIT_MS;
      const receivers = this.extensionsApi.deliver({ eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs });
      this.shutdowns.push({ reason, at: Date.now(), receivers });
      const exits = [...this.processes.values()].filter((p) => p.name.startsWith('extension:') || p.name === 'runtime').map((p) => p.exited);
      await withTimeout(Promise.all(exits), deadlineMs - Date.now());
      for (const p of this.processes.values()) {
        if (p.exitCode === undefined) this.log('emulator', `${p.name} still running at the end of Shutdown: SIGKILL`);
      }
      await this.sandbox.destroy();
      await withTimeout(Promise.all([...this.processes.values()].map((p) => p.exited)), 2000);
    }
    if (this.cgroup) {
      const left = await this.cgroup.remove();
      if (left.length > 0) this.log('emulator', `could not remove cgroups ${left.join(', ')}: a process is still in them`);
    }
    this.runtimeApi?.close();
    this.extensionsApi?.close();
    this.telemetryApi?.close();
    // Connections first: close() waits for every open one to end.
    const closed = new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
    await closed;
    this.phase = 'dead';
  }

  async #reset(reason) {
    this.log('emulator', `resetting the environment (${reason})`);
    await this.shutdown(reason);
  }

  #reportMetrics(durationMs) {
    const metrics = {
      durationMs,
      billedDurationMs: Math.ceil(durationMs),
      memorySizeMB: this.fn.memorySize,
      // The environment's peak, from its memory group when it has one.
      maxMemoryUsedMB: this.cgroup?.dirs.memory ? Math.ceil(this.cgroup.maxMemoryBytes() / (1024 * 1024)) : this.fn.memorySize,
    };
    if (this.invocations.length === 1) metrics.initDurationMs = this.initDurationMs;
    return metrics;
  }

  #busyExtensions() {
    return [...this.extensionsApi.byId.values()].filter((e) => !e.heldNext || e.queue.length > 0).map((e) => e.name);
  }

  async #freeze() {
    this.telemetryApi.pause();
    await this.sandbox.freeze();
  }

  #thaw() {
    this.sandbox.thaw();
    this.telemetryApi.resume();
  }

  #startProcess(name, argv, cwd, onUnexpectedExit) {
    // Lambda's managed runtimes write each log line as one frame to the descriptor named in
    // _LAMBDA_TELEMETRY_LOG_FD, when the function definition asks for it (telemetryLogFd).
    const framed = name === 'runtime' && this.fn.telemetryLogFd === true;
    const base = name === 'runtime' ? { ...this.options.env, ...this.options.runtimeEnv } : this.options.env;
    const env = framed ? { ...base, [TELEMETRY_LOG_FD_ENV]: '3' } : base;
    const child = this.sandbox.spawn(argv, { env, cwd, extraPipe: framed, cgroupProcs: this.cgroup?.procsFiles, onLine: (_stream, line) => this.log(name, line) });
    if (framed) readLogFrames(child.stdio[3], (message) => this.log(name, message, { framed: true }));
    const exited = deferred();
    const entry = { name, child, exited: exited.promise, exitCode: undefined };
    this.processes.set(name, entry);
    child.on('error', (err) => this.log('emulator', `${name} could not start: ${err.message}`));
    child.on('exit', (code, signal) => {
      entry.exitCode = code ?? signal;
      exited.resolve();
      if (this.phase === 'shutting-down' || this.phase === 'dead') return;
      this.log('emulator', `${name} exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`})`);
      // Wording of aws-lambda-rie's ProcessTermination.String(); its watchEvents says "exit code 0"
      // for an extension that exits cleanly.
      const detail = signal ? `signal: ${SIGNAL_NAMES[signal] ?? signal}` : (code === 0 && name !== 'runtime' ? 'exit code 0' : `exit status ${code}`);
      const crash = { process: name, detail };
      // Killed by the kernel's OOM killer in the environment's memory group: Lambda's
      // Runtime.OutOfMemory, whichever process the killer chose.
      if (signal === 'SIGKILL' && this.cgroup?.oomKilled()) {
        crash.oom = true;
        this.log('emulator', `${name} was killed: the environment went past its memory limit of ${this.fn.memorySize} MB (Runtime.OutOfMemory)`);
      }
      // The environment is reset at the latest before the next invocation; an invocation in
      // progress fails at once (this.crash).
      this.needsReset ??= crash;
      if (this.phase === 'invoking') this.crash?.resolve({ kind: 'crash', ...crash });
      onUnexpectedExit(code, signal, crash);
    });
    return entry;
  }

  async #route(req, res) {
    const path = new URL(req.url, 'http://runtime').pathname;
    try {
      if (this.runtimeApi.handles(path)) return await this.runtimeApi.handle(req, res, path);
      if (this.extensionsApi.handles(path)) return await this.extensionsApi.handle(req, res, path);
      if (this.telemetryApi.handles(path)) return await this.telemetryApi.handle(req, res, path);
      sendError(res, 404, 'InvalidRequest', `no API route for ${req.method} ${path}`);
    } catch (err) {
      this.log('emulator', `API error on ${req.method} ${path}: ${err.stack}`);
      if (!res.headersSent) sendError(res, 500, 'ServiceException', err.message);
    }
  }

  /** Delivers a Telemetry API batch to a subscriber listening inside the sandbox. */
  async #postIntoSandbox(uri, body) {
    const url = new URL(uri);
    const key = `${url.hostname}:${url.port || 80}`;
    this.exposed ??= new Map();
    if (!this.exposed.has(key)) this.exposed.set(key, this.sandbox.exposeInside(url.hostname, Number(url.port || 80)));
    const socketPath = await this.exposed.get(key);
    // The forwarder may have bound its socket a moment before it listens: retry a refused connection.
    for (let attempt = 1; ; attempt++) {
      try {
        return await postToSocket(socketPath, url, body);
      } catch (err) {
        if (attempt >= 20 || !['ECONNREFUSED', 'ENOENT'].includes(err.code)) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}

/** One HTTP POST to a subscriber through the Unix socket of its forwarder. */
function postToSocket(socketPath, url, body) {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length, Host: url.host };
    const req = request({ socketPath, method: 'POST', path: `${url.pathname}${url.search}`, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The error an invocation fails with when a process of its environment exits: `Runtime.ExitError`
 * for the runtime, `Extension.Crash` for an extension (aws-lambda-rie: fatalerror.RuntimeExit,
 * fatalerror.AgentCrash, message from interop.GetErrorResponseWithFormattedErrorMessage).
 * @param {string} requestId
 * @param {{process: string, detail: string}} crash
 */
export function crashError(requestId, crash) {
  // Lambda's answer when the environment runs out of memory:
  // {"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: <id> Error: Runtime exited with error: signal: killed"}
  if (crash.oom) return { errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${crash.detail}` };
  return crash.process === 'runtime'
    ? { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${crash.detail}` }
    : { errorType: 'Extension.Crash', errorMessage: `RequestId: ${requestId} Error: ${crash.detail}` };
}

/** One log line: the limits an environment runs with. */
function describeLimits(cgroup) {
  const { limits } = cgroup;
  const parts = [];
  if (cgroup.dirs.cpu) {
    parts.push(`CPU share ${limits.cpuQuotaMicros} µs per ${limits.cpuPeriodMicros} µs period (${((100 * limits.cpuQuotaMicros) / limits.cpuPeriodMicros).toFixed(1)}% of one CPU), Init ${limits.initCpu === 'burst' ? 'without the quota' : 'with the same share'}`);
  }
  if (cgroup.dirs.memory) parts.push(`memory limit ${limits.memoryBytes / (1024 * 1024)} MB`);
  return `limits: ${parts.join('; ')}`;
}

/** The variable naming the runtime's telemetry log descriptor. */
export const TELEMETRY_LOG_FD_ENV = '_LAMBDA_TELEMETRY_LOG_FD';

/**
 * Reads the frames a runtime writes to its telemetry log descriptor: a 16-byte header (frame type
 * 0xa55a0002 for JSON or 0xa55a0003 for text, OR-ed with the level's mask; the message's length;
 * a timestamp in microseconds), then the message. Each message is one log line, newlines
 * included; a trailing newline is dropped.
 * @param {import('node:stream').Readable} stream
 * @param {(message: string) => void} onMessage
 */
export function readLogFrames(stream, onMessage) {
  let pending = Buffer.alloc(0);
  stream.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 16) {
      if (pending.readUInt16BE(0) !== 0xa55a) {
        onMessage(`(not a log frame: ${pending.subarray(0, 16).toString('hex')}…)`);
        pending = Buffer.alloc(0);
        return;
      }
      const length = pending.readInt32BE(4);
      if (pending.length < 16 + length) return;
      onMessage(pending.subarray(16, 16 + length).toString('utf8').replace(/\n$/, ''));
      pending = pending.subarray(16 + length);
    }
  });
  stream.on('error', () => {});
}

/** Executable files in /opt/extensions, in name order (Lambda starts them all). */
export function listExtensions(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return statSync(path).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}

/** Lambda answers an invocation whose Init failed with the runtime's own error document. */
function initErrorFromBody(body) {
  try {
    const parsed = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed.errorType === 'string') return { errorType: parsed.errorType, errorMessage: String(parsed.errorMessage ?? '') };
  } catch {
    // not JSON: keep it as the message
  }
  return { errorType: 'Runtime.InitError', errorMessage: body.toString('utf8') };
}
