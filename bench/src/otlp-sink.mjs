// A stand-in for an OTLP/HTTP backend: answers every POST .../v1/traces with HTTP 200 and an empty
// ExportTraceServiceResponse, after `delayMs` (0: at once), and counts the spans it took. It
// listens on the host's 127.0.0.1 and on a Unix socket (for the emulator's forwarders into an
// execution environment). OTLP/HTTP: https://opentelemetry.io/docs/specs/otlp/#otlphttp
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gunzipSync, inflateSync } from 'node:zlib';

/**
 * Counts the spans of an ExportTraceServiceRequest in protobuf encoding, without a schema
 * library: resource_spans (1) -> scope_spans (2) -> spans (2), every field length-delimited.
 * Throws on bytes that are not that message.
 * @param {Uint8Array} bytes
 */
export function countProtobufSpans(bytes) {
  let spans = 0;
  for (const resourceSpans of fieldsOf(bytes, 1)) {
    for (const scopeSpans of fieldsOf(resourceSpans, 2)) spans += fieldsOf(scopeSpans, 2).length;
  }
  return spans;
}

/** Counts the spans of an ExportTraceServiceRequest in JSON encoding. */
export function countJsonSpans(text) {
  const request = JSON.parse(text);
  let spans = 0;
  for (const resourceSpans of request.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) spans += (scopeSpans.spans ?? []).length;
  }
  return spans;
}

/** The payloads of the length-delimited fields numbered `wanted` of one message; others are skipped. */
function fieldsOf(bytes, wanted) {
  const out = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) throw new Error('protobuf: truncated varint');
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
      if (shift > 63) throw new Error('protobuf: varint too long');
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new Error(`protobuf: field ${field} runs past the end`);
      if (field === wanted) out.push(bytes.subarray(at, at + length));
      at += length;
    } else {
      throw new Error(`protobuf: wire type ${wire} is not supported`);
    }
    if (at > bytes.length) throw new Error('protobuf: truncated field');
  }
  return out;
}

/** The request body as sent, uncompressed per Content-Encoding. */
export function decodeBody(body, contentEncoding = '') {
  const encoding = contentEncoding.trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  throw new Error(`Content-Encoding ${JSON.stringify(contentEncoding)} is not supported`);
}

/**
 * @typedef {object} OtlpSink
 * @property {number} port           on the host's 127.0.0.1
 * @property {string} socketPath     the same server on a Unix socket
 * @property {string} endpoint       http://127.0.0.1:<port>, the exporter's `endpoint`
 * @property {number} spans          spans received so far (counted when a request is in, before the answer)
 * @property {number} requests       requests answered so far
 * @property {number} rejected       requests that were not OTLP traces (answered 400 or 404)
 * @property {(ms: number) => void} setDelay
 * @property {() => Promise<void>} stop
 */

/**
 * @param {{socketPath: string, delayMs?: number, port?: number}} options
 * @returns {Promise<OtlpSink>}
 */
export async function startOtlpSink({ socketPath, delayMs = 0, port = 0 }) {
  const state = { delayMs, spans: 0, requests: 0, rejected: 0, lastSpanAt: 0 };
  const handle = (req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status, type, body) => {
        res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length });
        res.end(body);
      };
      const path = new URL(req.url, 'http://sink').pathname;
      if (req.method !== 'POST' || !path.endsWith('/v1/traces')) {
        state.rejected++;
        return reply(404, 'text/plain', Buffer.from(`no OTLP route for ${req.method} ${path}`));
      }
      const json = (req.headers['content-type'] ?? '').includes('json');
      let spans;
      try {
        const body = decodeBody(Buffer.concat(chunks), req.headers['content-encoding']);
        spans = json ? countJsonSpans(body.toString('utf8')) : countProtobufSpans(body);
      } catch (err) {
        state.rejected++;
        return reply(400, 'text/plain', Buffer.from(err.message));
      }
      // The backend has the spans once the request is in, whenever it answers.
      state.spans += spans;
      state.lastSpanAt = performance.now();
      const answer = () => {
        state.requests++;
        // An empty ExportTraceServiceResponse: no bytes in protobuf, {} in JSON.
        if (json) reply(200, 'application/json', Buffer.from('{}'));
        else reply(200, 'application/x-protobuf', Buffer.alloc(0));
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  };
  const tcp = createServer(handle);
  const unix = createServer(handle);
  for (const server of [tcp, unix]) server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => tcp.once('error', reject).listen(port, '127.0.0.1', resolve));
  rmSync(socketPath, { force: true });
  await new Promise((resolve, reject) => unix.once('error', reject).listen(socketPath, resolve));
  const actualPort = tcp.address().port;
  return {
    port: actualPort,
    socketPath,
    endpoint: `http://127.0.0.1:${actualPort}`,
    get spans() { return state.spans; },
    get requests() { return state.requests; },
    get rejected() { return state.rejected; },
    get delayMs() { return state.delayMs; },
    setDelay(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`delay ${ms} is not a number of milliseconds >= 0`);
      state.delayMs = ms;
    },
    async stop() {
      for (const server of [tcp, unix]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      rmSync(socketPath, { force: true });
    },
  };
}
