import { diag } from '@opentelemetry/api';
import { globalErrorHandler, ExportResultCode } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

/** HTTP statuses after which the collector did not take the spans and a resend may succeed. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Whether spans sent to `url` go to a collector on this machine's loopback interface: plain
 * HTTP to 127.0.0.0/8, ::1 or localhost. In Lambda that is the collector extension, which holds
 * the execution environment (it calls /extension/event/next only once it has the invocation's
 * spans), so bytes written to its socket are read even if the runtime is frozen right after.
 * @param {string} url
 */
export function isLoopbackUrl(url) {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol !== 'http:') return false;
    return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  } catch {
    return false;
  }
}

/**
 * OTLP/HTTP JSON export to the collector on loopback that reports an export done as soon as the
 * request has been handed to the connected socket (the request's `finish`: headers and body are
 * with the operating system), instead of when the collector has answered. The AWS Lambda
 * instrumentation waits for the tracer provider's forceFlush before it returns the handler's
 * response, so this takes the collector's answer off the response path.
 *
 * Spans are not lost on that account:
 * - a refused or failed connection is known before the hand-off: the export fails at once, as
 *   with the OTLP exporter (the batch span processor reports it; nothing holds the response);
 * - a failure after the hand-off is still awaited in the background: a connection that breaks
 *   before any answer (a kept-alive connection the collector had closed) or an answer of 429,
 *   502, 503 or 504 sends the same spans once more on a fresh request; other failures, and a
 *   collector that does not answer within the timeout, are reported as the OTLP exporter reports
 *   them (OpenTelemetry's global error handler, shown with OTEL_LOG_LEVEL); a failure before the
 *   hand-off is logged at info, as the OTLP exporter logs it.
 *
 * One kept-alive connection serves consecutive invocations (the OTLP exporter's default agent).
 */
export class HandOffExporter {
  /**
   * @param {{url: string, timeoutMillis: number, agent?: import('node:http').Agent}} options
   */
  constructor({ url, timeoutMillis, agent }) {
    this.url = url;
    this.timeoutMillis = timeoutMillis;
    const http = process.getBuiltinModule('node:http');
    this.request = http.request;
    this.agent = agent ?? new http.Agent({ keepAlive: true });
    /** Requests not answered yet (handed off or not). */
    this.inFlight = new Set();
    this.isShutdown = false;
  }

  /**
   * @param {import('@opentelemetry/sdk-trace-base').ReadableSpan[]} spans
   * @param {(result: import('@opentelemetry/core').ExportResult) => void} resultCallback
   */
  export(spans, resultCallback) {
    let settled = false;
    const settle = (result) => {
      if (settled) return;
      settled = true;
      resultCallback(result);
    };
    if (this.isShutdown) {
      settle({ code: ExportResultCode.FAILED, error: new Error('Exporter has been shutdown') });
      return;
    }
    let body;
    try {
      body = JsonTraceSerializer.serializeRequest(spans);
    } catch (error) {
      settle({ code: ExportResultCode.FAILED, error });
      return;
    }
    if (!body) {
      settle({ code: ExportResultCode.FAILED, error: new Error('the spans could not be serialized') });
      return;
    }
    this.#send(body, {
      handedOff: () => settle({ code: ExportResultCode.SUCCESS }),
      failed: (error, wasHandedOff) => {
        if (wasHandedOff) {
          globalErrorHandler(error);
          return;
        }
        diag.info(`Export failed: ${error.message}`);
        settle({ code: ExportResultCode.FAILED, error });
      },
    }, true);
  }

  /**
   * One POST; `handedOff` once the body is with the socket, `failed(error, handedOff)` if it does
   * not end in a 2xx answer.
   * @param {Uint8Array} body
   * @param {{handedOff: () => void, failed: (error: Error, handedOff: boolean) => void}} report
   * @param {boolean} mayResend
   */
  #send(body, report, mayResend) {
    let handedOff = false;
    let finished = false;
    let ended;
    const ending = new Promise((resolve) => { ended = resolve; });
    this.inFlight.add(ending);
    const finish = (error, retryable) => {
      if (finished) return;
      finished = true;
      this.inFlight.delete(ending);
      ended();
      if (!error) {
        if (!handedOff) report.handedOff();
        return;
      }
      if (handedOff && retryable && mayResend && !this.isShutdown) {
        // The collector did not take the spans: once more, on a fresh request. The export has
        // already been reported done; the resend reports only a failure.
        this.#send(body, { handedOff: () => {}, failed: (again) => report.failed(again, true) }, false);
        return;
      }
      report.failed(error, handedOff);
    };
    const request = this.request(this.url, {
      method: 'POST',
      agent: mayResend ? this.agent : false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    }, (response) => {
      response.on('error', () => {});
      response.resume();
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status >= 200 && status <= 299) finish();
        else finish(new Error(`the collector answered ${status} ${response.statusMessage ?? ''}`.trim()), RETRYABLE_STATUSES.has(status));
      });
    });
    let timedOut = false;
    request.setTimeout(this.timeoutMillis, () => {
      timedOut = true;
      request.destroy(new Error(`the collector did not answer within ${this.timeoutMillis} ms`));
    });
    request.on('finish', () => {
      if (finished) return;
      handedOff = true;
      report.handedOff();
    });
    // A connection that broke before any answer (reset, closed) is worth one resend; a timeout
    // is not: the collector may have the spans.
    request.on('error', (error) => finish(error, !timedOut));
    request.end(body);
  }

  /** Waits for the answers to the requests in flight, at most the export timeout. */
  async forceFlush() {
    await this.#drain();
  }

  async shutdown() {
    this.isShutdown = true;
    await this.#drain();
    this.agent.destroy();
  }

  async #drain() {
    const deadline = Date.now() + this.timeoutMillis;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      let timer;
      await Promise.race([
        Promise.all([...this.inFlight]),
        new Promise((resolve) => { timer = setTimeout(resolve, Math.max(1, deadline - Date.now())); }),
      ]);
      clearTimeout(timer);
    }
  }
}
