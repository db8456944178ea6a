/**
 * Log correlation: every console line written inside a span carries the trace ID, in X-Ray's
 * form (`1-` + 8 hex digits + `-` + 24 hex digits), and the ID of the span that was active (the
 * X-Ray segment or subsegment ID), so that a line leads to its trace and a trace to its lines.
 *
 * - Lambda's JSON log format (`AWS_LAMBDA_LOG_FORMAT=JSON`): two more fields at the end of the
 *   line's JSON object, `"traceId":"1-…","spanId":"…"`.
 * - The text format: the line ends with a tab and `trace_id=1-… span_id=…`.
 *
 * Lines outside any span (Init, between invocations) are left as they are, byte for byte.
 *
 * The runtime interface client replaces the console methods with its own after the preload has
 * run, and formats and writes each line itself (to stdout, or in frames to Lambda's telemetry
 * file descriptor). So the console's methods become accessors: whatever function is assigned to
 * one (the runtime's, or the handler's own) is wrapped when assigned. The wrapper notes the active
 * span for the duration of the call; the first line the call writes, through
 * `process.stdout.write`, `process.stderr.write` or `fs.writeSync` (a frame header and its
 * message), gets the IDs. The line's format is the runtime's, field for field; only the IDs are
 * added.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { PreloadConfigError } from './config-error.mjs';
import { PRELOAD_LOG_CORRELATION_ENV } from './contract.generated.mjs';

/** The console methods the Lambda runtime interface client replaces. */
export const CONSOLE_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'log'];

/** The JSON fields added to a line in Lambda's JSON log format. */
export const JSON_FIELDS = { traceId: 'traceId', spanId: 'spanId' };

/** The first two bytes of a frame header on Lambda's telemetry log descriptor. */
const FRAME_MAGIC = 0xa55a;
const FRAME_HEADER_BYTES = 16;

/**
 * Whether log correlation is on: OTEL_NODE_LOG_CORRELATION unset, `true` or `false`.
 * @param {NodeJS.ProcessEnv} env
 */
export function logCorrelationEnabled(env) {
  const raw = env[PRELOAD_LOG_CORRELATION_ENV];
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'true') return true;
  if (value === 'false') return false;
  throw new PreloadConfigError(PRELOAD_LOG_CORRELATION_ENV, raw, 'expected true or false', 'Use false to leave console lines as the runtime writes them, or unset it.');
}

/**
 * An OpenTelemetry trace ID (32 hex digits) in X-Ray's form.
 * @param {string} traceId
 */
export const xrayTraceId = (traceId) => `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;

/**
 * A line with the IDs of a span context added, its line ending kept.
 * @param {string} line
 * @param {import('@opentelemetry/api').SpanContext} spanContext
 * @param {boolean} json   the line is a JSON object (Lambda's JSON log format)
 */
export function correlate(line, spanContext, json) {
  const ending = /\r?\n$/.exec(line)?.[0] ?? '';
  const body = line.slice(0, line.length - ending.length);
  const traceId = xrayTraceId(spanContext.traceId);
  if (json && body.startsWith('{"') && body.endsWith('}')) {
    return `${body.slice(0, -1)},"${JSON_FIELDS.traceId}":"${traceId}","${JSON_FIELDS.spanId}":"${spanContext.spanId}"}${ending}`;
  }
  return `${body}\ttrace_id=${traceId} span_id=${spanContext.spanId}${ending}`;
}

/**
 * Installs log correlation, once per process.
 * @param {NodeJS.ProcessEnv} env
 * @param {{console?: Console, process?: NodeJS.Process, fs?: typeof import('node:fs')}} [targets]
 */
export function installLogCorrelation(env, targets = {}) {
  const target = targets.console ?? globalThis.console;
  const proc = targets.process ?? process;
  const json = String(env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON';
  /** @type {{spanContext: import('@opentelemetry/api').SpanContext, done: boolean, header?: Buffer} | undefined} */
  let current;
  let sinksPatched = false;
  /** fs.writeSync as it was before it was patched. */
  let rawWriteSync;
  const wrappers = new WeakMap();

  const patchSinks = () => {
    sinksPatched = true;
    for (const stream of [proc.stdout, proc.stderr]) {
      const write = stream.write;
      stream.write = function (chunk, ...rest) {
        if (current && !current.done && typeof chunk === 'string') {
          current.done = true;
          chunk = correlate(chunk, current.spanContext, json);
        }
        return write.call(this, chunk, ...rest);
      };
    }
    const fs = targets.fs ?? proc.getBuiltinModule('node:fs');
    const writeSync = fs.writeSync;
    rawWriteSync = (fd, bytes) => writeSync.call(fs, fd, bytes);
    fs.writeSync = function (fd, buffer, ...rest) {
      if (!current || current.done || rest.length > 0 || !(buffer instanceof Uint8Array)) return writeSync.call(this, fd, buffer, ...rest);
      const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      if (!current.header && bytes.length === FRAME_HEADER_BYTES && bytes.readUInt16BE(0) === FRAME_MAGIC) {
        // A frame header: held until its message comes, whose length changes.
        current.header = Buffer.from(bytes);
        current.fd = fd;
        return FRAME_HEADER_BYTES;
      }
      if (!current.header || current.fd !== fd) return writeSync.call(this, fd, buffer, ...rest);
      const header = current.header;
      current.header = undefined;
      current.done = true;
      // The frame type's low bits: 3 for text, 2 for JSON (the level mask is a multiple of 4).
      const message = Buffer.from(correlate(bytes.toString('utf8'), current.spanContext, (header.readUInt32BE(0) & 3) === 2), 'utf8');
      header.writeInt32BE(message.length, 4);
      writeSync.call(this, fd, header);
      writeSync.call(this, fd, message);
      return buffer.byteLength;
    };
  };

  const wrap = (fn) => {
    if (typeof fn !== 'function' || wrappers.has(fn)) return fn;
    const wrapped = function (...args) {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      if (!spanContext || !isSpanContextValid(spanContext)) return fn.apply(this, args);
      if (!sinksPatched) patchSinks();
      const outer = current;
      const mine = { spanContext, done: false };
      current = mine;
      try {
        return fn.apply(this, args);
      } finally {
        current = outer;
        // A header whose message never came is written as it was.
        if (mine.header) rawWriteSync(mine.fd, mine.header);
      }
    };
    wrappers.set(wrapped, fn);
    return wrapped;
  };

  for (const name of CONSOLE_METHODS) {
    let wrapped = wrap(target[name]);
    Object.defineProperty(target, name, {
      configurable: true,
      enumerable: true,
      get: () => wrapped,
      // A wrapper assigned again (`console.log = console.info`) stays as it is.
      set: (fn) => {
        wrapped = wrap(fn);
      },
    });
  }
}
