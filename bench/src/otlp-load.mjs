// Synthetic OTLP/HTTP JSON trace requests, as an instrumented function sends them to the
// collector's receiver (POST /v1/traces, https://opentelemetry.io/docs/specs/otlp/#otlphttp).
// Trace IDs carry the current epoch seconds in their first 8 hex digits, as X-Ray requires
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-traceids).
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { CONTRACT } from '../../tools/lambda-emulator/index.mjs';

const SPANS_PER_TRACE = 10;

/**
 * One ExportTraceServiceRequest of `spanCount` spans: traces of one SERVER root and nine
 * INTERNAL children. Returns the body and the span IDs in it.
 */
export function traceRequest(spanCount) {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const spans = [];
  const ids = [];
  let traceId;
  let rootId;
  for (let i = 0; i < spanCount; i++) {
    const spanId = randomBytes(8).toString('hex');
    ids.push(spanId);
    const root = i % SPANS_PER_TRACE === 0;
    if (root) {
      traceId = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0') + randomBytes(12).toString('hex');
      rootId = spanId;
    }
    spans.push({
      traceId,
      spanId,
      ...(root ? {} : { parentSpanId: rootId }),
      name: root ? 'GET /orders' : `step-${i % SPANS_PER_TRACE}`,
      kind: root ? 2 : 1,
      startTimeUnixNano: String(nowNs - 5_000_000n),
      endTimeUnixNano: String(nowNs),
      attributes: [{ key: 'bench.index', value: { intValue: String(i) } }],
      status: {},
    });
  }
  const body = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench-load' } }, { key: 'cloud.provider', value: { stringValue: 'aws' } }] },
      scopeSpans: [{ scope: { name: 'bench-load' }, spans }],
    }],
  };
  return { body: Buffer.from(JSON.stringify(body)), ids };
}

/** Posts OTLP JSON bodies to a receiver behind a Unix socket, with keep-alive connections. */
export class OtlpSender {
  constructor(socketPath, connections = 2) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
    this.socketPath = socketPath;
  }

  /**
   * Resolves with the HTTP status. The forwarder behind the socket may still be starting: a
   * refused or missing socket is retried for up to a second.
   */
  async post(body) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#postOnce(body);
      } catch (err) {
        if (attempt >= 100 || !['ECONNREFUSED', 'ENOENT'].includes(err.code)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  #postOnce(body) {
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        agent: this.agent,
        method: 'POST',
        path: CONTRACT.collector.otlpTracesPath,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, Host: CONTRACT.collector.otlpHttpListen },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}
