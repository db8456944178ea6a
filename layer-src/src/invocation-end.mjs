import { SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE, COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE } from './contract.generated.mjs';

/**
 * How long before the invocation's deadline a handler still running is recorded as timed out:
 * Lambda stops the runtime at the deadline (SIGKILL, then the environment is reset), so the
 * handler span, ended with the deadline as its end time, and the spans of the invocation must be
 * with the collector by then. Handing a few spans to the collector on loopback takes a few
 * milliseconds; the rest is headroom for the small CPU share of a 128 MB function.
 */
export const DEADLINE_MARGIN_MILLIS = 100;

/**
 * How long the process may be held on exit (uncaught exception, `process.exit`) to hand the
 * invocation's spans to the collector: the default export timeout of the OTLP exporter here.
 */
export const EXIT_EXPORT_TIMEOUT_MILLIS = 500;

/** The error type Lambda reports for an invocation that ran past its deadline. */
export const TIMEOUT_ERROR_TYPE = 'Sandbox.Timedout';

/**
 * Ends an invocation that Lambda is about to cut short, so that it still shows in X-Ray:
 *
 * - **Timeout.** At the start of each invocation a timer is set for DEADLINE_MARGIN_MILLIS before
 *   the deadline (`context.getRemainingTimeInMillis()`). If the handler is still running then,
 *   the spans of the invocation still open are ended at the deadline with an error status, the
 *   handler span gets a `Sandbox.Timedout` exception and an error status (a fault in X-Ray), and
 *   the tracer provider is flushed to the collector, which exports on the SHUTDOWN that follows.
 *   A handler that blocks the event loop past that moment cannot be helped here.
 * - **Exit.** When the process exits during an invocation (an uncaught exception or an unhandled
 *   rejection, which the runtime reports and then exits on, or `process.exit`), the handler span
 *   is ended with the error, and every span not yet handed to the collector is sent from a
 *   short-lived worker thread while the exiting main thread waits, at most
 *   EXIT_EXPORT_TIMEOUT_MILLIS: `exit` listeners cannot wait for asynchronous work.
 *
 * It also counts the spans of each invocation: when the handler span ends, it carries in
 * COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE how many sampled spans of its trace ended during the
 * invocation, itself included, so that the collector knows the invocation complete when that
 * many have arrived, whichever request carried them and in whatever order they were read. Spans
 * of its trace still open then (work the handler left running, such as a `fetch` whose body was
 * not read) are counted in COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE, and each is flushed to the
 * collector as soon as it ends, while the collector still holds the environment for it.
 *
 * It is a span processor that tracks open spans and spans not yet exported (added to the tracer
 * provider before the batch span processor), an exporter wrapper that learns which spans went
 * out, and the AWS Lambda instrumentation's request and response hooks. Nothing of this runs on
 * the handler's path but a Set insertion per span and one timer per invocation.
 */
export class InvocationEnd {
  /**
   * @param {object} options
   * @param {string} options.tracesUrl     where the exporter sends spans (OTLP/HTTP JSON)
   * @param {() => Promise<void>} [options.flush]  flushes the tracer provider; set later with setFlush
   * @param {number} [options.marginMillis]
   * @param {(url: string, body: Uint8Array, timeoutMillis: number) => void} [options.sendSync]
   */
  constructor({ tracesUrl, flush, marginMillis = DEADLINE_MARGIN_MILLIS, sendSync = postFromWorker }) {
    this.tracesUrl = tracesUrl;
    this.flush = flush;
    this.marginMillis = marginMillis;
    this.sendSync = sendSync;
    /** Spans started and not ended. */
    this.open = new Set();
    /** Ended sampled spans the exporter has not finished with. */
    this.unexported = new Set();
    /** @type {{span: import('@opentelemetry/api').Span, deadline: number} | undefined} */
    this.current = undefined;
    /** The handler span of the latest invocation, until it ends, and how many spans of its trace ended before it. */
    this.invocationSpan = undefined;
    this.endedInInvocation = 0;
    /** Spans of the latest invocation's trace still open when its handler span ended. */
    this.outliving = new Set();
    this.flushQueued = false;
    this.timer = undefined;
    this.lastError = undefined;
  }

  /** @param {() => Promise<void>} flush */
  setFlush(flush) {
    this.flush = flush;
  }

  /** Listens for the process's exit; once per process. */
  listen(target = process) {
    target.on('uncaughtExceptionMonitor', (error) => {
      this.lastError = error;
    });
    target.on('exit', (code) => this.onExit(code));
  }

  // SpanProcessor

  onStart(span) {
    this.open.add(span);
  }

  /** The handler span is about to end: it says how many spans of its invocation there are. */
  onEnding(span) {
    if (span !== this.invocationSpan) return;
    this.invocationSpan = undefined;
    if (!(span.spanContext().traceFlags & TraceFlags.SAMPLED)) return;
    span.setAttribute(COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE, this.endedInInvocation + 1);
    const traceId = span.spanContext().traceId;
    this.outliving = new Set([...this.open].filter((s) => s !== span && s.spanContext().traceId === traceId && s.spanContext().traceFlags & TraceFlags.SAMPLED));
    if (this.outliving.size > 0) span.setAttribute(COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE, this.outliving.size);
  }

  onEnd(span) {
    this.open.delete(span);
    if (!(span.spanContext().traceFlags & TraceFlags.SAMPLED)) return;
    this.unexported.add(span);
    if (this.outliving.delete(span)) this.#flushSoon();
    if (this.invocationSpan && span !== this.invocationSpan && span.spanContext().traceId === this.invocationSpan.spanContext().traceId) {
      this.endedInInvocation += 1;
    }
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    return Promise.resolve();
  }

  /**
   * The exporter, telling this which spans it is done with (delivered or refused).
   * @param {import('@opentelemetry/sdk-trace-base').SpanExporter} exporter
   */
  wrapExporter(exporter) {
    const unexported = this.unexported;
    return {
      export(spans, resultCallback) {
        exporter.export(spans, (result) => {
          for (const span of spans) unexported.delete(span);
          resultCallback(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  // AWS Lambda instrumentation hooks

  /** The config of AwsLambdaInstrumentation: its request and response hooks. */
  instrumentationConfig() {
    return {
      requestHook: (span, { context }) => this.onRequest(span, context),
      responseHook: () => this.onResponse(),
    };
  }

  /**
   * @param {import('@opentelemetry/api').Span} span  the handler span
   * @param {{getRemainingTimeInMillis?: () => number}} context
   */
  onRequest(span, context) {
    this.#disarm();
    // Spans of earlier invocations were flushed before their response; what is left in these
    // sets now (spans a handler never ended, spans the batch processor dropped) is forgotten.
    this.open = new Set([span]);
    this.unexported.clear();
    this.invocationSpan = span;
    this.endedInInvocation = 0;
    this.outliving = new Set();
    this.lastError = undefined;
    const remaining = Number(context?.getRemainingTimeInMillis?.());
    this.current = { span, deadline: Date.now() + (Number.isFinite(remaining) ? remaining : Infinity) };
    // Too little time left to tell a timeout from a late success: not armed.
    if (!Number.isFinite(remaining) || remaining <= 2 * this.marginMillis) return;
    this.timer = setTimeout(() => this.onDeadline(), remaining - this.marginMillis);
    this.timer.unref?.();
  }

  onResponse() {
    this.#disarm();
    this.current = undefined;
  }

  /** The handler is still running DEADLINE_MARGIN_MILLIS before the deadline. */
  onDeadline() {
    const current = this.current;
    this.#disarm();
    if (!current) return;
    this.current = undefined;
    try {
      const { span, deadline } = current;
      const message = 'Task timed out: the handler was still running at the function\'s deadline';
      this.#endOpenSpans(span, 'interrupted by the function timeout', deadline);
      span.recordException({ name: TIMEOUT_ERROR_TYPE, message }, deadline);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end(deadline);
      this.flush?.().catch(() => {});
    } catch {
      // never disturb the handler
    }
  }

  /**
   * The process exits: end the invocation in progress, if any, and hand every span not yet
   * exported to the collector before the process is gone.
   * @param {number} code
   */
  onExit(code) {
    try {
      this.#disarm();
      const current = this.current;
      this.current = undefined;
      if (current) {
        const { span } = current;
        const error = this.lastError;
        const message = error instanceof Error ? error.message : error !== undefined ? String(error) : `the process exited with code ${code} during the invocation`;
        this.#endOpenSpans(span, 'interrupted: the process exited');
        if (error !== undefined) span.recordException(error instanceof Error ? error : { name: 'Error', message });
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        span.end();
      }
      if (this.unexported.size === 0) return;
      const spans = [...this.unexported];
      this.unexported.clear();
      const body = JsonTraceSerializer.serializeRequest(spans);
      if (body) this.sendSync(this.tracesUrl, body, EXIT_EXPORT_TIMEOUT_MILLIS);
    } catch {
      // an exit listener must not throw: it would change the exit code
    }
  }

  #endOpenSpans(invocationSpan, message, endTime) {
    const traceId = invocationSpan.spanContext().traceId;
    for (const span of [...this.open]) {
      if (span === invocationSpan || span.spanContext().traceId !== traceId) continue;
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.end(endTime);
    }
  }

  /** Flushes once the span that just ended is with the batch processor (the next processor). */
  #flushSoon() {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush?.().catch(() => {});
    });
  }

  #disarm() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Runs in the worker thread: one POST, then wakes the waiting main thread. */
const WORKER_SOURCE = `
const { workerData: { url, body, flag, timeoutMillis } } = require('node:worker_threads');
const done = () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
const request = require('node:http').request(url, { method: 'POST', timeout: timeoutMillis,
  headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => { res.resume(); res.on('end', done); res.on('error', done); });
request.on('error', done);
request.on('timeout', () => request.destroy());
request.end(body);
`;

/**
 * POSTs a body and waits for the answer, synchronously: from a worker thread (without the
 * process's --import options, so the preload does not load there) while the main thread waits
 * on a shared flag, at most `timeoutMillis`.
 * @param {string} url
 * @param {Uint8Array} body
 * @param {number} timeoutMillis
 */
export function postFromWorker(url, body, timeoutMillis) {
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], env: {}, workerData: { url, body, flag, timeoutMillis } });
  worker.on('error', () => {});
  Atomics.wait(flag, 0, 0, timeoutMillis);
}
