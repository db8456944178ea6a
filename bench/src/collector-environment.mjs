// One execution environment holding only the collector extension, driven directly through the
// Extensions and Telemetry APIs (the Lambda emulator's own implementations, tools/lambda-emulator),
// so that the benchmark can time the collector's own steps: exec, /extension/register, its OTLP
// receiver listening (the contract's collector.otlpHttpListen), and every /extension/event/next.
// Extensions API: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
// Telemetry API:  https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html
import { createServer, request } from 'node:http';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  COLLECTOR_RECEIVER, collectorConfigOverrides, CONTRACT, defineFunction, ExtensionsApi, lambdaEnvironment, Sandbox, TelemetryApi, withTimeout,
} from '../../tools/lambda-emulator/index.mjs';

export const EXTENSION_NAME = CONTRACT.collector.extensionName;
const RUNTIME_API_PORT = 9001;
const RECEIVER = `${COLLECTOR_RECEIVER.host}:${COLLECTOR_RECEIVER.port}`;
/** The receiver's address in /proc/net/tcp notation (little-endian IPv4, hex port) in state 0A (LISTEN). */
const RECEIVER_LISTENING = ` ${COLLECTOR_RECEIVER.host.split('.').reverse().map((b) => Number(b).toString(16).padStart(2, '0')).join('').toUpperCase()}:${COLLECTOR_RECEIVER.port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A `;
/** The variable that carries a configuration given as text (`env:` URI in the contract's config URI variable). */
export const BENCH_CONFIG_ENV = 'BENCH_COLLECTOR_CONFIG';

/** Environment that hands a collector the configuration `yaml` through the contract's config URI variable. */
export function collectorConfigEnvironment(yaml) {
  return { [CONTRACT.collector.env.configUri]: `env:${BENCH_CONFIG_ENV}`, [BENCH_CONFIG_ENV]: yaml };
}

/** A contract path under /opt, relative to the environment's /opt directory on the host. */
const underOpt = (optPath) => optPath.replace(/^\/opt\//, '');

/**
 * @typedef {object} StartTimes   milliseconds after exec
 * @property {number} registeredMs    the register call was answered
 * @property {number} listeningMs     the receiver was listening
 * @property {number} readyMs         both
 * @property {number} initDoneMs      first /extension/event/next (end of the extension's Init)
 */

export class CollectorEnvironment {
  /**
   * @param {{layerDir: string, workDir: string, xray: {port: number, socketPath: string}, functionEnvironment?: Record<string,string>, extensionName?: string, extraEnv?: Record<string,string>, collectorConfig?: string, forwards?: {port: number, socketPath: string}[], memorySize?: number, onLog?: (line: string) => void}} options
   *   functionEnvironment: the traced function's configured environment (from the synthesized stack)
   *   collectorConfig: a collector configuration (YAML) handed to the extension through the
   *     contract's config URI variable, instead of the layer's own with its awsxray exporter
   *   forwards: more ports inside the environment that reach host sockets (e.g. an OTLP sink)
   *   memorySize: the function's memory in MB (default 128), which sizes the collector's buffer
   */
  constructor(options) {
    this.options = options;
    this.logs = [];
    this.extensionsApi = new ExtensionsApi({ functionName: 'bench-collector', functionVersion: '$LATEST', handler: 'index.handler', accountId: '123456789012' });
    this.telemetryApi = new TelemetryApi({
      extensions: this.extensionsApi,
      post: (uri, body) => this.#postIntoSandbox(uri, body),
      log: (line) => this.#log(`emulator: ${line}`),
    });
    this.marks = { registered: undefined, firstNext: undefined };
    this.requestCount = 0;
  }

  #log(line) {
    this.logs.push(line);
    this.options.onLog?.(line);
  }

  /** Creates the sandbox, execs the collector and waits for the end of its Init. Returns its start times. */
  async start() {
    const { workDir, layerDir, xray } = this.options;
    rmSync(workDir, { recursive: true, force: true });
    const optDir = join(workDir, 'opt');
    mkdirSync(optDir, { recursive: true });
    cpSync(layerDir, optDir, { recursive: true });
    const apiSocket = join(workDir, 'api.sock');
    this.server = createServer((req, res) => this.#route(req, res));
    this.server.keepAliveTimeout = 0;
    await new Promise((resolve) => this.server.listen(apiSocket, resolve));
    this.sandbox = await Sandbox.create({
      workDir,
      mounts: { '/opt': optDir },
      forwards: [{ port: RUNTIME_API_PORT, socketPath: apiSocket }, { port: xray.port, socketPath: xray.socketPath }, ...(this.options.forwards ?? [])],
      log: (line) => this.#log(`sandbox: ${line}`),
    });
    const environment = this.options.functionEnvironment ?? {};
    const fn = defineFunction({ name: 'bench-collector', runtime: 'nodejs24.x', codeDir: optDir, timeoutSeconds: 30, memorySize: this.options.memorySize ?? 128, environment });
    const credentials = { accessKeyId: 'AKIABENCH0000000000', secretAccessKey: 'bench-secret', sessionToken: 'bench-session' };
    // The layer's own collector configuration, with the awsxray exporter pointed at the stand-in.
    const hasConfig = existsSync(join(optDir, underOpt(CONTRACT.collector.layerConfigPath)));
    const configOverrides = this.options.collectorConfig !== undefined
      ? collectorConfigEnvironment(this.options.collectorConfig)
      : hasConfig ? collectorConfigOverrides(environment, optDir, `http://127.0.0.1:${xray.port}`) : {};
    const overrides = { ...configOverrides, ...this.options.extraEnv };
    this.fn = fn;
    const env = lambdaEnvironment(fn, { runtimeApi: `127.0.0.1:${RUNTIME_API_PORT}`, credentials, overrides });

    const listening = this.#watchReceiver();
    this.execAt = performance.now();
    const executable = this.options.extensionName ? `/opt/extensions/${this.options.extensionName}` : CONTRACT.collector.layerExtensionPath;
    this.child = this.sandbox.spawn([executable], {
      env,
      cwd: '/opt/extensions',
      onLine: (_stream, line) => this.#log(`collector: ${line}`),
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const initDone = new Promise((resolve) => { this.onFirstNext = resolve; });
    const outcome = await withTimeout(Promise.race([
      Promise.all([initDone, listening]).then(() => 'ready'),
      this.exited.then((e) => `exited ${JSON.stringify(e)}`),
    ]), 10_000);
    if (outcome.timedOut || outcome.value !== 'ready') {
      throw new Error(`the collector did not finish Init (${outcome.timedOut ? 'timed out after 10 s' : outcome.value}):\n${this.logs.slice(-20).join('\n')}`);
    }
    const listeningAt = await listening;
    const registeredMs = this.marks.registered - this.execAt;
    const listeningMs = listeningAt - this.execAt;
    return {
      registeredMs,
      listeningMs,
      readyMs: Math.max(registeredMs, listeningMs),
      initDoneMs: this.marks.firstNext - this.execAt,
    };
  }

  /** Polls the environment's TCP table until the receiver listens; resolves with the time seen. */
  #watchReceiver() {
    return new Promise((resolve, reject) => {
      const table = () => `/proc/${this.sandbox?.holder?.pid}/net/tcp`;
      const started = performance.now();
      const poll = () => {
        try {
          if (this.sandbox && readFileSync(table(), 'utf8').includes(RECEIVER_LISTENING)) return resolve(performance.now());
        } catch {
          // the sandbox is not there yet
        }
        if (performance.now() - started > 10_000) return reject(new Error(`the collector never listened on ${RECEIVER}`));
        setTimeout(poll, 1);
      };
      poll();
    });
  }

  /** A Unix socket on the host that reaches the collector's receiver inside. */
  async receiverSocket() {
    this.receiver ??= this.sandbox.exposeInside(COLLECTOR_RECEIVER.host, COLLECTOR_RECEIVER.port);
    return this.receiver;
  }

  /**
   * Runs one invocation as Lambda does for the extension: INVOKE, the function's work (`during`),
   * platform.runtimeDone on the Telemetry API, then waits until the extension is back in
   * /extension/event/next. Resolves with the milliseconds from the end of the function's work,
   * and from the delivery of runtimeDone to the extension (after the Telemetry API's buffering),
   * to that call.
   */
  async invoke(during) {
    const requestId = `bench-${++this.requestCount}`;
    const deadlineMs = Date.now() + 30_000;
    const tracing = { type: 'X-Amzn-Trace-Id', value: 'Root=1-00000000-000000000000000000000000;Sampled=1' };
    this.telemetryApi.emit('platform.start', { requestId, version: '$LATEST', tracing });
    this.extensionsApi.deliver({ eventType: 'INVOKE', deadlineMs, requestId, invokedFunctionArn: this.fn.arn, tracing });
    const startedAt = Date.now();
    await during();
    const doneAt = performance.now();
    this.telemetryApi.emit('platform.runtimeDone', { requestId, status: 'success', metrics: { durationMs: Date.now() - startedAt, producedBytes: 0 }, tracing });
    const idle = await withTimeout(this.extensionsApi.whenAllIdle(), 30_000);
    if (idle.timedOut) throw new Error(`the collector did not call event/next within 30 s after runtimeDone:\n${this.logs.slice(-20).join('\n')}`);
    const nextAt = performance.now();
    return { afterWorkMs: nextAt - doneAt, afterRuntimeDoneMs: nextAt - this.runtimeDoneDeliveredAt };
  }

  /** SHUTDOWN (reason spindown), then tears the sandbox down. */
  async stop() {
    if (this.child && this.child.exitCode === null) {
      this.extensionsApi.deliver({ eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs: Date.now() + 2000 });
      await withTimeout(this.exited, 2000);
    }
    this.sandbox?.destroy();
    this.telemetryApi.close();
    this.extensionsApi.close();
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve()));
  }

  async #route(req, res) {
    const path = new URL(req.url, 'http://runtime').pathname;
    if (this.extensionsApi.handles(path)) {
      if (path.endsWith('/event/next') && this.marks.firstNext === undefined) {
        this.marks.firstNext = performance.now();
        // Lambda resolves the extension's first event/next only when an event exists; Init ends here.
        setImmediate(() => this.onFirstNext?.());
      }
      await this.extensionsApi.handle(req, res, path);
      if (path.endsWith('/register') && res.statusCode === 200) this.marks.registered ??= performance.now();
      return;
    }
    if (this.telemetryApi.handles(path)) return this.telemetryApi.handle(req, res, path);
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errorType: 'InvalidRequest', errorMessage: `no API route for ${req.method} ${path}` }));
  }

  async #postIntoSandbox(uri, body) {
    const url = new URL(uri);
    this.exposed ??= new Map();
    const key = `${url.hostname}:${url.port || 80}`;
    if (!this.exposed.has(key)) this.exposed.set(key, this.sandbox.exposeInside(url.hostname, Number(url.port || 80)));
    const socketPath = await this.exposed.get(key);
    if (body.includes('"platform.runtimeDone"')) this.runtimeDoneDeliveredAt = performance.now();
    await new Promise((resolve, reject) => {
      const req = request({ socketPath, method: 'POST', path: `${url.pathname}${url.search}`, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, Host: url.host } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
