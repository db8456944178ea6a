// A stand-in for Lambda's X-Ray daemon: UDP on the host's loopback, relayed into every environment
// at AWS_XRAY_DAEMON_ADDRESS.
//
// The daemon's protocol (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-daemon):
// one UDP datagram per segment document, `{"format":"json","version":1}` (any JSON spelling of
// it), a newline, then the document. The real daemon (github.com/aws/aws-xray-daemon,
// daemon.go and processor/) rejects a datagram without a valid header, buffers the rest, and
// sends them with PutTraceSegments in batches of up to 50, a batch going out when it is full or
// about a second after it started. This stand-in does the same, to the X-Ray endpoint it is
// given (moto), and counts each UnprocessedTraceSegments entry as X-Ray's refusal.
// ADOT's OTLP datagrams (the same header, then "T1S"/"T1U" and a base64 ExportTraceServiceRequest,
// see otlp-to-xray.mjs) are decoded, counted, their spans kept for readers (`spans`) and, for
// sampled ones, forwarded as segment documents.
// Nothing a sender does makes it throw: a datagram it cannot read is counted in `malformed`
// (with the reason in `rejections` and a log line), one longer than `maxDatagramBytes` in
// `oversized`.
import { createSocket } from 'node:dgram';
import { PutTraceSegmentsCommand, XRayClient } from '@aws-sdk/client-xray';
import { decodeExportTraceServiceRequest, OTLP_PREFIXES, spanToSegmentDocument } from './otlp-to-xray.mjs';

/** Segment documents per PutTraceSegments call, as the daemon batches them. */
export const DAEMON_BATCH_SIZE = 50;
/** How long the first document of a batch waits for the batch to fill. */
export const DAEMON_FLUSH_INTERVAL_MS = 1000;
/**
 * Largest datagram accepted: X-Ray's 64 kB segment document limit, kB as 1,000 bytes (UDP over
 * IPv4 carries at most 65,507 bytes, so a 64 KiB limit could never be exceeded by a datagram).
 */
export const DAEMON_MAX_DATAGRAM_BYTES = 64_000;
/** How many rejected datagrams (with reasons) and decoded OTLP spans are kept for readers. */
const KEPT_REJECTIONS = 100;
const KEPT_SPANS = 10_000;

/**
 * Parses a daemon address `host:port` (an IPv4 address or localhost, and a port 0-65535),
 * throwing an error that names the value and the fix.
 * @param {unknown} address
 * @param {string} [what]  how the error names the setting
 * @returns {{host: string, port: number}}
 */
export function parseDaemonAddress(address, what = 'xrayDaemon.address') {
  const match = typeof address === 'string' ? /^(localhost|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(address) : null;
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535 || match[1].split('.').some((octet) => Number(octet) > 255)) {
    throw new Error(`${what} ${JSON.stringify(address)} is not host:port: give an IPv4 address and a UDP port, e.g. 127.0.0.1:2000 (port 0 picks a free one)`);
  }
  return { host: match[1] === 'localhost' ? '127.0.0.1' : match[1], port };
}

/**
 * The daemon stand-in's settings, checked: `true` gives the defaults.
 * @param {true | {address?: string, endpoint?: string, batchSize?: number, flushIntervalMs?: number, maxDatagramBytes?: number}} option
 */
export function daemonSettings(option) {
  if (option !== true && (typeof option !== 'object' || option === null || Array.isArray(option))) {
    throw new Error(`xrayDaemon ${JSON.stringify(option)} is not valid: use true, or an object such as {address: '127.0.0.1:0'}`);
  }
  const settings = { address: '127.0.0.1:0', batchSize: DAEMON_BATCH_SIZE, flushIntervalMs: DAEMON_FLUSH_INTERVAL_MS, maxDatagramBytes: DAEMON_MAX_DATAGRAM_BYTES, ...(option === true ? {} : option) };
  parseDaemonAddress(settings.address);
  if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1 || settings.batchSize > 50) {
    throw new Error(`xrayDaemon.batchSize ${JSON.stringify(settings.batchSize)} is not valid: use 1 to 50 (PutTraceSegments takes at most 50 documents)`);
  }
  if (!Number.isInteger(settings.flushIntervalMs) || settings.flushIntervalMs < 0) {
    throw new Error(`xrayDaemon.flushIntervalMs ${JSON.stringify(settings.flushIntervalMs)} is not valid: use a whole number of milliseconds, 0 or more`);
  }
  if (!Number.isInteger(settings.maxDatagramBytes) || settings.maxDatagramBytes < 1) {
    throw new Error(`xrayDaemon.maxDatagramBytes ${JSON.stringify(settings.maxDatagramBytes)} is not valid: use a whole number of bytes`);
  }
  return settings;
}

export class XRayDaemonStandIn {
  /**
   * @param {ReturnType<typeof daemonSettings> & {xray?: {endpoint: string, region: string, credentials: object}, log?: (line: string) => void}} options
   */
  static async start(options) {
    const daemon = new XRayDaemonStandIn(options);
    await daemon.#listen();
    return daemon;
  }

  constructor({ address, batchSize, flushIntervalMs, maxDatagramBytes, xray, log = () => {} }) {
    this.settings = { address, batchSize, flushIntervalMs, maxDatagramBytes };
    this.log = log;
    this.client = xray ? new XRayClient({ endpoint: xray.endpoint, region: xray.region, credentials: xray.credentials }) : undefined;
    /** What it saw and did, by kind. */
    this.stats = {
      datagrams: 0,
      segmentDocuments: 0,
      otlpDatagrams: 0,
      otlpSampled: 0,
      otlpUnsampled: 0,
      otlpSpans: 0,
      malformed: 0,
      oversized: 0,
      forwarded: 0,
      unprocessed: 0,
      sendErrors: 0,
    };
    /** The latest datagrams it could not use: {at, reason, bytes, preview}. */
    this.rejections = [];
    /** Spans decoded from OTLP datagrams (the latest 10,000), with `sampled`. */
    this.spans = [];
    /** Segment documents as forwarded (strings), the latest 10,000. */
    this.documents = [];
    /** Documents X-Ray refused: {Id, ErrorCode, Message}. */
    this.unprocessed = [];
    this.buffer = [];
    this.timer = undefined;
    this.sending = new Set();
  }

  /** host:port the stand-in listens on. */
  get address() {
    const { address, port } = this.socket.address();
    return `${address}:${port}`;
  }

  get port() {
    return this.socket.address().port;
  }

  async #listen() {
    const { host, port } = parseDaemonAddress(this.settings.address);
    this.socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.socket.on('message', (message) => {
      try {
        this.#receive(message);
      } catch (err) {
        this.#reject(message, `could not be read: ${err.message}`);
      }
    });
    this.socket.on('error', (err) => this.log(`X-Ray daemon stand-in: socket error: ${err.message}`));
    await new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
  }

  /** One datagram. */
  #receive(message) {
    this.stats.datagrams++;
    if (message.length > this.settings.maxDatagramBytes) {
      this.stats.oversized++;
      this.#remember(message, `dropped: ${message.length} bytes, over the ${this.settings.maxDatagramBytes}-byte limit`);
      return;
    }
    const newline = message.indexOf(0x0a);
    if (newline < 0) return this.#reject(message, 'no header line (a datagram is {"format":"json","version":1}, a newline, then a segment document)');
    let header;
    try {
      header = JSON.parse(message.subarray(0, newline).toString('utf8'));
    } catch {
      header = undefined;
    }
    if (header?.format !== 'json' || header?.version !== 1) return this.#reject(message, `invalid header ${JSON.stringify(message.subarray(0, Math.min(newline, 80)).toString('utf8'))}`);
    const body = message.subarray(newline + 1);
    if (body.length === 0) return this.#reject(message, 'missing segment document after the header');
    const prefix = body.subarray(0, 3).toString('latin1');
    if (prefix in OTLP_PREFIXES) return this.#receiveOtlp(message, body.subarray(3), OTLP_PREFIXES[prefix] === 'sampled');
    let document;
    try {
      document = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return this.#reject(message, `segment document is not JSON: ${err.message}`);
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) return this.#reject(message, 'segment document is not a JSON object');
    this.stats.segmentDocuments++;
    this.#enqueue(body.toString('utf8'));
  }

  #receiveOtlp(message, encoded, sampled) {
    const text = encoded.toString('latin1').trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return this.#reject(message, 'OTLP datagram: the payload is not base64');
    let spans;
    try {
      spans = decodeExportTraceServiceRequest(Buffer.from(text, 'base64'));
    } catch (err) {
      return this.#reject(message, `OTLP datagram: not an ExportTraceServiceRequest (${err.message})`);
    }
    let documents;
    try {
      documents = sampled ? spans.map((span) => JSON.stringify(spanToSegmentDocument(span))) : [];
    } catch (err) {
      return this.#reject(message, `OTLP datagram: ${err.message}`);
    }
    this.stats.otlpDatagrams++;
    this.stats[sampled ? 'otlpSampled' : 'otlpUnsampled']++;
    this.stats.otlpSpans += spans.length;
    for (const span of spans) this.spans.push({ ...span, sampled });
    if (this.spans.length > KEPT_SPANS) this.spans.splice(0, this.spans.length - KEPT_SPANS);
    // Unsampled spans go nowhere, as on Lambda.
    for (const document of documents) this.#enqueue(document);
  }

  #reject(message, reason) {
    this.stats.malformed++;
    this.#remember(message, reason);
  }

  #remember(message, reason) {
    const preview = message.subarray(0, 120).toString('utf8').replace(/[^\x20-\x7e]/g, '.');
    this.rejections.push({ at: Date.now(), reason, bytes: message.length, preview });
    if (this.rejections.length > KEPT_REJECTIONS) this.rejections.shift();
    this.log(`X-Ray daemon stand-in: a ${message.length}-byte datagram ${reason}`);
  }

  #enqueue(document) {
    this.documents.push(document);
    if (this.documents.length > KEPT_SPANS) this.documents.shift();
    this.buffer.push(document);
    if (this.buffer.length >= this.settings.batchSize) this.#sendBatch();
    else this.timer ??= setTimeout(() => this.#sendBatch(), this.settings.flushIntervalMs);
  }

  #sendBatch() {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.settings.batchSize);
      if (!this.client) continue;
      const sending = this.client
        .send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: batch }))
        .then((out) => {
          const refused = out.UnprocessedTraceSegments ?? [];
          this.stats.forwarded += batch.length - refused.length;
          this.stats.unprocessed += refused.length;
          this.unprocessed.push(...refused);
          for (const r of refused) this.log(`X-Ray daemon stand-in: X-Ray refused segment ${r.Id}: ${r.ErrorCode} ${r.Message ?? ''}`);
        })
        .catch((err) => {
          // The daemon drops a batch X-Ray does not take after its retries; so does the stand-in.
          this.stats.sendErrors += batch.length;
          this.log(`X-Ray daemon stand-in: PutTraceSegments of ${batch.length} documents failed: ${err.message}`);
        })
        .finally(() => this.sending.delete(sending));
      this.sending.add(sending);
    }
  }

  /** Sends what is buffered now and waits for every call in flight. */
  async flush() {
    this.#sendBatch();
    await Promise.all([...this.sending]);
  }

  async stop() {
    await this.flush();
    await new Promise((resolve) => this.socket.close(resolve));
    this.client?.destroy();
  }
}
