// The Lambda service around the execution environments: one environment per function at a time
// (reserved concurrency 1, invocations queue), created on first invoke and again after a reset,
// the Invoke API for callers, and the service's own X-Ray segments.
// Invoke API: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
//   POST /2015-03-31/functions/{FunctionName}/invocations
// InvokeWithResponseStream: https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html
//   POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations
//   answered as an event stream (application/vnd.amazon.eventstream) of PayloadChunk events as
//   the runtime streams, then one InvokeComplete
// The same endpoint is reachable from inside every environment on 127.0.0.1:9002, so one function
// can call another with a plain fetch, carrying its trace header.
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { createConnection, createServer as createNetServer } from 'node:net';
import { cpSync, existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { XRayClient } from '@aws-sdk/client-xray';
import { ExecutionEnvironment, RUNTIME_API_ADDRESS } from './execution-environment.mjs';
import { defineFunction, isPythonRuntime, lambdaEnvironment, nodeMajor } from './function-definition.mjs';
import { formatTraceHeader, newSegmentId, newTraceId, parseTraceHeader, traceparentToTraceHeader } from './xray-trace-header.mjs';
import { lambdaServiceSegments, putSegments } from './lambda-service-segments.mjs';
import { readBody, sendError } from './http-util.mjs';
import { EnvironmentCgroup, resourceLimits } from './cgroup.mjs';
import { daemonSettings, parseDaemonAddress, XRayDaemonStandIn } from './xray-daemon.mjs';

/** Port of the Invoke API inside every environment. */
export const INVOKE_PORT_INSIDE = 9002;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const STREAMING_INVOKE_PATH = /^\/2021-11-15\/functions\/([^/]+)\/response-streaming-invocations$/;

/**
 * @typedef {object} LambdaServiceOptions
 * @property {string} workDir                 short host path for sockets and merged layers
 * @property {Record<number, {runtimeDir: string, nodeDir: string}>} runtimes   per Node.js major
 * @property {Record<string, {runtimeDir: string, langDir: string}>} [pythonRuntimes]   per Python runtime, e.g. `python3.13`
 * @property {string} runtimeHook             host path of runtime-hooks/node-path-resolution.mjs
 * @property {{endpoint: string, region: string, port: number} | undefined} xray   X-Ray stand-in on the host
 * @property {(fn: import('./function-definition.mjs').FunctionDefinition, inside: {xrayEndpoint?: string, invokeEndpoint: string, optDir: string}) => Record<string,string>} [environmentOverrides]
 * @property {(entry: {fn: string, env: string} & import('./execution-environment.mjs').LogEntry) => void} [onLog]
 * @property {boolean} [telemetryApi]   false: answer Telemetry API subscriptions with 202 "not supported"
 * @property {number[]} [hostPorts]     TCP ports of servers on the host's 127.0.0.1 (databases a handler
 *   queries) that every environment reaches on its own 127.0.0.1 at the same port number
 * @property {boolean|'if-available'} [cpuShare]   default for every function: run each environment with
 *   Lambda's CPU share for its memory size (cgroup v1 cpu quota); 'if-available' warns and runs
 *   without it where cgroups are not writable. Default false.
 * @property {boolean|'if-available'} [memoryLimit]  default for every function: limit each environment's
 *   memory to memorySize (cgroup v1 memory); going past it is Runtime.OutOfMemory. Default false.
 * @property {number} [cpuPeriodMicros]   CFS period of the CPU share, 1,000-1,000,000 µs. Default 100,000.
 * @property {'burst'|'share'} [initCpu]  Init without the quota ('burst', default) or with the share
 * @property {true | {address?: string, endpoint?: string, batchSize?: number, flushIntervalMs?: number, maxDatagramBytes?: number}} [xrayDaemon]
 *   an X-Ray daemon stand-in (xray-daemon.mjs) at every environment's AWS_XRAY_DAEMON_ADDRESS,
 *   forwarding to `endpoint` (default: the `xray` endpoint)
 */

export class LambdaService {
  /** @param {LambdaServiceOptions} options */
  constructor(options) {
    validateHostPorts(options.hostPorts);
    // Checked now, so a bad value fails here and not at the first invocation.
    resourceLimits({ memorySize: 128 }, options, 'LambdaService options');
    this.daemonSettings = options.xrayDaemon ? daemonSettings(options.xrayDaemon) : undefined;
    this.options = options;
    this.functions = new Map();
    this.current = new Map();
    /** every environment ever created, per function, for tests */
    this.history = new Map();
    this.queues = new Map();
    this.credentials = { accessKeyId: 'AKIAEMULATOR00000000', secretAccessKey: 'emulator-secret', sessionToken: 'emulator-session' };
    this.xrayClient = options.xray
      ? new XRayClient({ endpoint: options.xray.endpoint, region: options.xray.region, credentials: this.credentials })
      : undefined;
    this.segmentWrites = [];
  }

  /** Adds a function. @param {Parameters<typeof defineFunction>[0]} input */
  register(input) {
    const fn = defineFunction(input);
    if (fn.environment.AWS_XRAY_DAEMON_ADDRESS !== undefined) parseDaemonAddress(fn.environment.AWS_XRAY_DAEMON_ADDRESS, `function ${fn.name}: environment.AWS_XRAY_DAEMON_ADDRESS`);
    fn.limits = resourceLimits(fn, this.options);
    // A limit that must hold (true, not 'if-available') fails here when cgroups are not writable.
    if (fn.limits.cpuShare === true || fn.limits.memoryLimit === true) {
      const strict = { ...fn.limits, cpuShare: fn.limits.cpuShare === true, memoryLimit: fn.limits.memoryLimit === true };
      EnvironmentCgroup.create(`${process.pid}-probe`, strict, { log: () => {} })?.removeNow();
    }
    this.functions.set(fn.name, fn);
    this.history.set(fn.name, []);
    return fn;
  }

  async start() {
    mkdirSync(this.options.workDir, { recursive: true });
    this.invokeSocket = join(this.options.workDir, 'invoke.sock');
    rmSync(this.invokeSocket, { force: true });
    this.server = createServer((req, res) => this.#handleInvoke(req, res));
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.socketServer = createServer((req, res) => this.#handleInvoke(req, res));
    await new Promise((resolve) => this.socketServer.listen(this.invokeSocket, resolve));
    // Inside the environments the X-Ray stand-in and the host ports keep their port numbers.
    this.bridges = [];
    if (this.options.xray) this.xraySocket = await this.#bridge(this.options.xray.port, 'xray.sock');
    this.hostPortSockets = [];
    for (const port of this.options.hostPorts ?? []) {
      this.hostPortSockets.push({ port, socketPath: await this.#bridge(port, `host-${port}.sock`) });
    }
    if (this.daemonSettings) await this.#startXRayDaemon();
  }

  /**
   * The X-Ray daemon stand-in on the host, and the relay from a Unix datagram socket (where every
   * environment's UDP forwarder sends) to its UDP port: Node.js has no Unix datagram sockets.
   */
  async #startXRayDaemon() {
    const { endpoint, ...settings } = this.daemonSettings;
    const xray = endpoint ?? this.options.xray?.endpoint;
    this.xrayDaemon = await XRayDaemonStandIn.start({
      ...settings,
      xray: xray ? { endpoint: xray, region: this.options.xray?.region ?? 'us-east-1', credentials: this.credentials } : undefined,
      log: (line) => this.options.onLog?.({ fn: 'xray-daemon', env: 'host', time: Date.now(), source: 'emulator', line }),
    });
    if (!xray) this.xrayDaemon.log('X-Ray daemon stand-in: no X-Ray endpoint: datagrams are counted, not forwarded');
    this.xrayDaemonSocket = join(this.options.workDir, 'xray-daemon.sock');
    const relay = () => {
      rmSync(this.xrayDaemonSocket, { force: true });
      const child = spawn('socat', ['-u', '-b', '65536', `UNIX-RECV:${this.xrayDaemonSocket}`, `UDP4-SENDTO:127.0.0.1:${this.xrayDaemon.port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d) => this.xrayDaemon.log(`X-Ray daemon relay: ${d.toString().trim()}`));
      child.on('error', (err) => this.xrayDaemon.log(`X-Ray daemon relay could not start (is socat installed?): ${err.message}`));
      // A relay that ends while the service runs is started again.
      child.on('exit', () => {
        if (!this.stopping) this.xrayDaemonRelay = relay();
      });
      return child;
    };
    this.xrayDaemonRelay = relay();
    for (let i = 0; i < 500 && !existsSync(this.xrayDaemonSocket); i++) await new Promise((r) => setTimeout(r, 10));
    if (!existsSync(this.xrayDaemonSocket)) throw new Error(`the X-Ray daemon relay did not create ${this.xrayDaemonSocket} (is socat installed?)`);
  }

  /** Where the environments' AWS_XRAY_DAEMON_ADDRESS points (the daemon stand-in's port), or undefined. */
  get xrayDaemonAddressInside() {
    return this.xrayDaemon ? `127.0.0.1:${this.xrayDaemon.port}` : undefined;
  }

  /** A Unix socket in the work directory that relays every connection to 127.0.0.1:port on the host. */
  async #bridge(port, fileName) {
    const socketPath = join(this.options.workDir, fileName);
    rmSync(socketPath, { force: true });
    const bridge = createNetServer((inbound) => {
      const outbound = createConnection(port, '127.0.0.1');
      // Forward each write at once: with Nagle's algorithm a relayed request tail can wait for
      // the peer's delayed ACK (~40 ms), which is the bridge's delay, not the collector's.
      outbound.setNoDelay(true);
      inbound.pipe(outbound).pipe(inbound);
      // Either side closing closes the other: a paused, unpiped inbound side would otherwise
      // never read its end and keep the bridge from closing.
      const close = () => {
        inbound.destroy();
        outbound.destroy();
      };
      for (const side of [inbound, outbound]) {
        side.on('error', close);
        side.on('close', close);
      }
      connections.add(inbound);
      inbound.on('close', () => connections.delete(inbound));
    });
    const connections = new Set();
    bridge.closeAllConnections = () => {
      for (const connection of connections) connection.destroy();
    };
    await new Promise((resolve) => bridge.listen(socketPath, resolve));
    this.bridges.push(bridge);
    return socketPath;
  }

  /** http://127.0.0.1:<port> of the Invoke API on the host. */
  get endpoint() {
    return `http://127.0.0.1:${this.server.address().port}`;
  }

  /** Every environment created for a function, oldest first. */
  environments(name) {
    return this.history.get(name) ?? [];
  }

  /**
   * Invokes a function as the Invoke API does (RequestResponse).
   * @param {string} name
   * @param {unknown} event
   * @param {{traceHeader?: string}} [options]
   */
  async invoke(name, event, options = {}) {
    const payload = Buffer.from(JSON.stringify(event ?? {}));
    return this.invokeRaw(name, payload, options.traceHeader);
  }

  /**
   * Invokes a function as InvokeWithResponseStream does: `stream` carries the response's bytes as
   * the runtime streams them (a handler that does not stream gives its whole payload as one
   * chunk); `completion` settles when the invocation is answered, with the error if any.
   * @param {string} name
   * @param {unknown} event
   * @param {{traceHeader?: string}} [options]
   */
  async invokeWithResponseStream(name, event, options = {}) {
    const payload = Buffer.from(JSON.stringify(event ?? {}));
    return this.invokeRaw(name, payload, options.traceHeader, { stream: true });
  }

  /**
   * With `stream: true`, answers as `invokeWithResponseStream`; otherwise a streamed response is
   * read whole, as Lambda's Invoke API does.
   * @returns {Promise<{statusCode: number, functionError?: string, payload: Buffer, requestId: string, traceId: string, functionSegmentId?: string, done?: Promise<object>, stream?: import('node:stream').Readable, contentType?: string, completion?: Promise<{functionError?: string, errorType?: string, payload: Buffer}>}>}
   */
  async invokeRaw(name, payload, upstreamHeader, { stream = false } = {}) {
    const fn = this.functions.get(name);
    if (!fn) {
      const body = { Type: 'User', message: `Function not found: arn:aws:lambda:us-east-1:123456789012:function:${name}` };
      return { statusCode: 404, functionError: undefined, payload: Buffer.from(JSON.stringify(body)), requestId: randomUUID(), traceId: '' };
    }
    const receivedAt = Date.now();
    const upstream = parseTraceHeader(upstreamHeader);
    const traceId = upstream?.root ?? newTraceId(receivedAt);
    const sampled = upstream?.sampled ?? true;
    const serviceSegmentId = newSegmentId();
    const functionSegmentId = newSegmentId();
    const requestId = randomUUID();
    const traceHeader = fn.activeTracing || upstream
      ? formatTraceHeader({ root: traceId, parent: functionSegmentId, sampled: fn.activeTracing ? sampled : upstream?.sampled })
      : formatTraceHeader({ root: traceId, parent: functionSegmentId, sampled: false });

    // One environment per function: wait for the previous invocation to finish and freeze.
    const previous = this.queues.get(name) ?? Promise.resolve();
    const turn = previous.then(async () => {
      let env = this.current.get(name);
      let coldStart = false;
      if (!env || env.phase !== 'ready' || env.needsReset) {
        if (env && env.phase !== 'dead') await env.shutdown('failure');
        env = this.#createEnvironment(fn);
        coldStart = true;
        const initError = await env.init().catch(async (err) => {
          env.log('emulator', `could not create the environment: ${err.stack}`);
          await env.shutdown('failure');
          return { errorType: 'Emulator.EnvironmentError', errorMessage: err.message };
        });
        if (initError) {
          return { result: { kind: 'error', errorType: initError.errorType, body: Buffer.from(JSON.stringify(initError)) }, done: Promise.resolve(), env, coldStart, dispatchedAt: Date.now() };
        }
      }
      const dispatchedAt = Date.now();
      const { response, done } = env.invoke({ requestId, payload, traceHeader });
      const result = await response;
      return { result, done, env, coldStart, dispatchedAt };
    });
    this.queues.set(name, turn.then((t) => t.done).catch(() => undefined));
    const { result: first, done, env, coldStart, dispatchedAt } = await turn;
    const recordSegments = (result) => {
      const respondedAt = Date.now();
      if (!this.xrayClient || !fn.activeTracing || !sampled) return;
      const segments = lambdaServiceSegments({
        fn, traceId, upstreamParentId: upstream?.parent, serviceSegmentId, functionSegmentId, requestId,
        receivedAt, dispatchedAt, respondedAt, functionError: result.kind !== 'response', initDurationMs: coldStart ? env.initDurationMs : undefined,
      });
      this.segmentWrites.push(putSegments(this.xrayClient, segments).catch((err) => env.log('emulator', `writing Lambda service segments failed: ${err.message}`)));
    };
    if (stream) {
      const streamed = first.kind === 'stream' ? first : { contentType: 'application/json', stream: Readable.from(first.body.length > 0 ? [first.body] : []), completion: Promise.resolve(first) };
      const completion = streamed.completion.then((result) => {
        recordSegments(result);
        return { functionError: result.kind === 'response' ? undefined : 'Unhandled', errorType: result.errorType, payload: result.body };
      });
      // Lambda's service segments are written when the stream ends: settle() waits for them.
      this.segmentWrites.push(completion.catch(() => undefined));
      return { statusCode: 200, requestId, traceId, functionSegmentId, done, contentType: streamed.contentType, stream: streamed.stream, completion };
    }
    const result = first.kind === 'stream' ? await first.completion : first;
    recordSegments(result);
    return {
      statusCode: 200,
      functionError: result.kind === 'response' ? undefined : 'Unhandled',
      payload: result.body,
      requestId,
      traceId,
      functionSegmentId,
      done,
    };
  }

  /** Waits until every function's queued invocations have finished (environments frozen). */
  async settle() {
    await Promise.all([...this.queues.values()]);
    await Promise.all(this.segmentWrites);
    await this.xrayDaemon?.flush();
  }

  /** Runs Shutdown (reason spindown) in every live environment. */
  async shutdownAll() {
    await this.settle();
    await Promise.all([...this.current.values()].map((env) => env.shutdown('spindown')));
  }

  async stop() {
    await this.shutdownAll();
    for (const server of [this.server, this.socketServer, ...(this.bridges ?? [])]) {
      if (!server) continue;
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
    }
    this.xrayClient?.destroy();
    this.stopping = true;
    this.xrayDaemonRelay?.kill();
    await this.xrayDaemon?.stop();
  }

  /** How the runtime of a function starts: what /var/runtime and /var/lang hold, and the command. */
  #runtimeOf(fn) {
    if (isPythonRuntime(fn.runtime)) {
      const python = this.options.pythonRuntimes?.[fn.runtime];
      if (!python) throw new Error(`function ${fn.name}: no ${fn.runtime} runtime was given: run tools/lambda-emulator/setup.sh with a Python ${fn.runtime.replace(/^python/, '')} installed`);
      return {
        runtimeDir: python.runtimeDir,
        langDir: python.langDir,
        command: [`/var/lang/bin/${fn.runtime}`, '-m', 'awslambdaric', fn.handler],
        hostPaths: [],
      };
    }
    const major = nodeMajor(fn.runtime);
    const runtime = this.options.runtimes[major];
    if (!runtime) throw new Error(`function ${fn.name}: no runtime for Node.js ${major} was given: run tools/lambda-emulator/setup.sh to build it`);
    return {
      runtimeDir: runtime.runtimeDir,
      langDir: runtime.nodeDir,
      command: ['/var/lang/bin/node', '/var/runtime/index.mjs'],
      // The NODE_PATH hook comes before the function's own NODE_OPTIONS imports.
      runtimeEnv: (env) => ({ NODE_OPTIONS: runtimeNodeOptions(this.options.runtimeHook, env.NODE_OPTIONS) }),
      hostPaths: [this.options.runtimeHook, realpathSync(join(runtime.runtimeDir, 'node_modules'))],
    };
  }

  #createEnvironment(fn) {
    const runtime = this.#runtimeOf(fn);
    const index = this.environments(fn.name).length + 1;
    // One directory per environment, short for Unix socket paths and unique across functions.
    this.environmentCount = (this.environmentCount ?? 0) + 1;
    const workDir = join(this.options.workDir, `env-${this.environmentCount}`);
    rmSync(workDir, { recursive: true, force: true });
    const optDir = join(workDir, 'opt');
    mkdirSync(optDir, { recursive: true });
    for (const layer of fn.layerDirs) cpSync(layer, optDir, { recursive: true, force: true, verbatimSymlinks: true });
    const forwards = [{ port: INVOKE_PORT_INSIDE, socketPath: this.invokeSocket }];
    const inside = { invokeEndpoint: `http://127.0.0.1:${INVOKE_PORT_INSIDE}`, optDir };
    if (this.options.xray) {
      forwards.push({ port: this.options.xray.port, socketPath: this.xraySocket });
      inside.xrayEndpoint = `http://127.0.0.1:${this.options.xray.port}`;
    }
    forwards.push(...this.hostPortSockets);
    const udpForwards = [];
    let daemonEnv = {};
    if (this.xrayDaemon) {
      udpForwards.push({ port: this.xrayDaemon.port, socketPath: this.xrayDaemonSocket });
      inside.xrayDaemonAddress = this.xrayDaemonAddressInside;
      // As Lambda sets them for the X-Ray SDKs and ADOT.
      daemonEnv = { AWS_XRAY_DAEMON_ADDRESS: inside.xrayDaemonAddress, _AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1', _AWS_XRAY_DAEMON_PORT: String(this.xrayDaemon.port), AWS_XRAY_CONTEXT_MISSING: fn.environment.AWS_XRAY_CONTEXT_MISSING ?? 'LOG_ERROR' };
    }
    const overrides = { ...daemonEnv, ...(this.options.environmentOverrides?.(fn, inside) ?? {}) };
    const processEnv = lambdaEnvironment(fn, { runtimeApi: RUNTIME_API_ADDRESS, credentials: this.credentials, overrides });
    // Lambda starts the runtime through AWS_LAMBDA_EXEC_WRAPPER when it is set: `<wrapper> <runtime command>`
    // (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html#runtime-wrapper).
    const wrapper = processEnv.AWS_LAMBDA_EXEC_WRAPPER;
    const limited = fn.limits && (fn.limits.cpuShare || fn.limits.memoryLimit);
    const env = new ExecutionEnvironment({
      fn,
      env: processEnv,
      runtimeEnv: runtime.runtimeEnv?.(processEnv),
      udpForwards,
      limits: limited ? fn.limits : undefined,
      optDir,
      runtimeDir: runtime.runtimeDir,
      nodeDir: runtime.langDir,
      runtimeCommand: wrapper ? [wrapper, ...runtime.command] : runtime.command,
      hostPaths: runtime.hostPaths,
      workDir,
      forwards,
      onLog: (entry) => this.options.onLog?.({ fn: fn.name, env: `${index}`, ...entry }),
      telemetryApi: this.options.telemetryApi,
    });
    this.current.set(fn.name, env);
    this.history.get(fn.name).push(env);
    return env;
  }

  async #handleInvoke(req, res) {
    const pathname = new URL(req.url, 'http://lambda').pathname;
    const streaming = STREAMING_INVOKE_PATH.exec(pathname);
    if (req.method === 'POST' && streaming) return this.#handleStreamingInvoke(req, res, streaming[1]);
    const match = INVOKE_PATH.exec(pathname);
    if (req.method !== 'POST' || !match) {
      return sendError(res, 404, 'UnknownOperationException', `no Invoke API route for ${req.method} ${req.url}: use POST /2015-03-31/functions/<name>/invocations or /2021-11-15/functions/<name>/response-streaming-invocations`);
    }
    const payload = await readBody(req);
    const name = decodeURIComponent(match[1]).split(':').pop();
    const upstream = upstreamTraceHeader(req);
    try {
      const out = await this.invokeRaw(name, payload, upstream);
      const headers = { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': out.requestId, 'X-Amzn-Trace-Id': `Root=${out.traceId}` };
      if (out.functionError) headers['X-Amz-Function-Error'] = out.functionError;
      res.writeHead(out.statusCode, headers);
      res.end(out.payload);
    } catch (err) {
      sendError(res, 500, 'ServiceException', err.message);
    }
  }

  /** InvokeWithResponseStream over HTTP: PayloadChunk events as the bytes come, then InvokeComplete. */
  async #handleStreamingInvoke(req, res, rawName) {
    const payload = await readBody(req);
    const name = decodeURIComponent(rawName).split(':').pop();
    let out;
    try {
      out = await this.invokeRaw(name, payload, upstreamTraceHeader(req), { stream: true });
    } catch (err) {
      return sendError(res, 500, 'ServiceException', err.message);
    }
    if (!out.stream) {
      res.writeHead(out.statusCode, { 'Content-Type': 'application/json' });
      return res.end(out.payload);
    }
    res.writeHead(200, {
      'Content-Type': out.contentType,
      'X-Amz-Executed-Version': '$LATEST',
      'x-amzn-RequestId': out.requestId,
      'X-Amzn-Trace-Id': `Root=${out.traceId}`,
    });
    out.stream.on('data', (chunk) => res.write(eventStreamMessage({ ':event-type': 'PayloadChunk', ':content-type': 'application/octet-stream', ':message-type': 'event' }, chunk)));
    const result = await out.completion;
    // The stream has delivered every byte it holds once it ends or fails.
    if (!out.stream.readableEnded && !out.stream.destroyed) await new Promise((resolve) => { out.stream.once('end', resolve); out.stream.once('close', resolve); });
    const complete = result.functionError ? errorDetails(result) : {};
    res.end(eventStreamMessage({ ':event-type': 'InvokeComplete', ':content-type': 'application/json', ':message-type': 'event' }, Buffer.from(JSON.stringify(complete))));
  }
}

/** The caller's trace header: X-Amzn-Trace-Id, else one made from a W3C traceparent. */
function upstreamTraceHeader(req) {
  const header = req.headers['x-amzn-trace-id'];
  if (header) return String(header);
  const fromW3c = traceparentToTraceHeader(String(req.headers.traceparent ?? ''));
  return fromW3c ? formatTraceHeader(fromW3c) : undefined;
}

/** InvokeComplete's ErrorCode and ErrorDetails from a failed streamed invocation. */
function errorDetails(result) {
  let details = result.payload.toString('utf8');
  try {
    const parsed = JSON.parse(details);
    details = parsed.errorMessage ?? details;
  } catch {
    // not JSON: as it is
  }
  return { ErrorCode: result.errorType ?? 'Unhandled', ErrorDetails: details };
}

/**
 * NODE_OPTIONS for a Node.js runtime process: the emulator's NODE_PATH hook first, then the
 * function's own options, so their `--import`s resolve bare specifiers through NODE_PATH as on
 * Lambda. The hook takes itself out of process.env.NODE_OPTIONS when it loads.
 * @param {string} hookPath   runtime-hooks/node-path-resolution.mjs
 * @param {string} [nodeOptions]  the function's NODE_OPTIONS
 */
export function runtimeNodeOptions(hookPath, nodeOptions) {
  let path = hookPath;
  try {
    path = realpathSync(hookPath);
  } catch {
    // as given
  }
  const own = `--import ${JSON.stringify(path)}`;
  return nodeOptions ? `${own} ${nodeOptions}` : own;
}

/**
 * Checks the `hostPorts` option: TCP port numbers, each once, throwing an error that names the
 * value and the fix.
 * @param {unknown} hostPorts
 */
export function validateHostPorts(hostPorts) {
  if (hostPorts === undefined) return;
  if (!Array.isArray(hostPorts)) {
    throw new Error(`hostPorts ${JSON.stringify(hostPorts)} is not a list: give the TCP ports (1-65535) of servers on the host's 127.0.0.1, e.g. [5432]`);
  }
  const seen = new Set();
  for (const port of hostPorts) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`hostPorts: ${JSON.stringify(port)} is not a TCP port: give the port (1-65535) a server listens on at the host's 127.0.0.1`);
    }
    if (seen.has(port)) throw new Error(`hostPorts: ${port} is given twice: list each port once`);
    seen.add(port);
  }
}

/**
 * One message of the AWS event stream encoding (string headers only): prelude (total length,
 * headers length, CRC32 of both), headers, payload, CRC32 of all before it.
 * https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream
 * @param {Record<string, string>} headers
 * @param {Uint8Array} payload
 */
export function eventStreamMessage(headers, payload) {
  const encoded = Buffer.concat(Object.entries(headers).map(([name, value]) => {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const header = Buffer.alloc(1 + n.length + 3 + v.length);
    header.writeUInt8(n.length, 0);
    n.copy(header, 1);
    header.writeUInt8(7, 1 + n.length); // string
    header.writeUInt16BE(v.length, 2 + n.length);
    v.copy(header, 4 + n.length);
    return header;
  }));
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(12 + encoded.length + payload.length + 4, 0);
  prelude.writeUInt32BE(encoded.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const message = Buffer.concat([prelude, encoded, payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(message), 0);
  return Buffer.concat([message, crc]);
}

/**
 * Splits AWS event stream bytes into messages, checking both CRCs; `rest` is an incomplete tail.
 * @param {Buffer} bytes
 * @returns {{messages: {headers: Record<string, string>, payload: Buffer}[], rest: Buffer}}
 */
export function parseEventStream(bytes) {
  const messages = [];
  let offset = 0;
  while (bytes.length - offset >= 16) {
    const total = bytes.readUInt32BE(offset);
    if (bytes.length - offset < total) break;
    const message = bytes.subarray(offset, offset + total);
    if (message.readUInt32BE(8) !== crc32(message.subarray(0, 8))) throw new Error('event stream: prelude CRC mismatch');
    if (message.readUInt32BE(total - 4) !== crc32(message.subarray(0, total - 4))) throw new Error('event stream: message CRC mismatch');
    const headersLength = message.readUInt32BE(4);
    const headers = {};
    for (let at = 12; at < 12 + headersLength;) {
      const nameLength = message.readUInt8(at);
      const name = message.subarray(at + 1, at + 1 + nameLength).toString('utf8');
      const type = message.readUInt8(at + 1 + nameLength);
      if (type !== 7) throw new Error(`event stream: header ${name} has type ${type}, only strings are read`);
      const valueLength = message.readUInt16BE(at + 2 + nameLength);
      headers[name] = message.subarray(at + 4 + nameLength, at + 4 + nameLength + valueLength).toString('utf8');
      at += 4 + nameLength + valueLength;
    }
    messages.push({ headers, payload: Buffer.from(message.subarray(12 + headersLength, total - 4)) });
    offset += total;
  }
  return { messages, rest: bytes.subarray(offset) };
}

/**
 * Calls InvokeWithResponseStream on an endpoint, for callers on the host: resolves when the
 * response has ended, with each PayloadChunk as it arrived (`at`: Date.now() on arrival) and the
 * InvokeComplete event.
 */
export function postInvokeWithResponseStream(endpoint, name, event, headers = {}) {
  const url = new URL(`/2021-11-15/functions/${encodeURIComponent(name)}/response-streaming-invocations`, endpoint);
  const body = Buffer.from(JSON.stringify(event));
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        // An error document (unknown function, service error), not an event stream.
        const raw = [];
        res.on('data', (data) => raw.push(data));
        res.on('end', () => resolve({ statusCode: res.statusCode, headers: res.headers, chunks: [], payload: Buffer.concat(raw), complete: undefined }));
        return;
      }
      const chunks = [];
      let complete;
      let pending = Buffer.alloc(0);
      res.on('data', (data) => {
        try {
          const { messages, rest } = parseEventStream(Buffer.concat([pending, data]));
          pending = rest;
          for (const { headers: h, payload } of messages) {
            if (h[':event-type'] === 'PayloadChunk') chunks.push({ at: Date.now(), bytes: payload });
            else if (h[':event-type'] === 'InvokeComplete') complete = JSON.parse(payload.toString('utf8'));
          }
        } catch (err) {
          req.destroy(err);
          reject(err);
        }
      });
      res.on('end', () => resolve({ statusCode: res.statusCode, headers: res.headers, chunks, payload: Buffer.concat(chunks.map((c) => c.bytes)), complete }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs to an Invoke API endpoint, for callers on the host. */
export function postInvoke(endpoint, name, event, headers = {}) {
  const url = new URL(`/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, endpoint);
  const body = Buffer.from(JSON.stringify(event));
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode, headers: res.headers, payload: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
