// The Lambda Telemetry API: subscription and batched delivery of platform events.
// Subscribe: https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html
//   PUT /2022-07-01/telemetry  (header Lambda-Extension-Identifier)
// Buffering limits and defaults: https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html#telemetry-api-buffering
// Event shapes: https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
import { readJsonBody, sendError } from './http-util.mjs';

const PATH = '/2022-07-01/telemetry';
const SCHEMA_VERSIONS = new Set(['2022-07-01', '2022-12-13', '2025-01-29']);
const TYPES = new Set(['platform', 'function', 'extension']);

/** Buffering bounds from the Telemetry API guide: [min, max, default]. */
export const BUFFERING_LIMITS = {
  maxItems: [1000, 10000, 10000],
  maxBytes: [262144, 1048576, 262144],
  timeoutMs: [25, 30000, 1000],
};

/**
 * @typedef {object} Subscription
 * @property {string} extensionName
 * @property {string} uri
 * @property {Set<string>} types
 * @property {{maxItems: number, maxBytes: number, timeoutMs: number}} buffering
 * @property {object[]} buffer
 * @property {number} bufferBytes
 * @property {NodeJS.Timeout | undefined} timer
 * @property {Promise<void>} sending       tail of the ordered delivery chain
 */

export class TelemetryApi {
  /**
   * @param {object} options
   * @param {import('./extensions-api.mjs').ExtensionsApi} options.extensions
   * @param {(uri: string, body: Buffer) => Promise<void>} options.post  delivers a batch to a subscriber
   * @param {(message: string) => void} options.log
   * @param {boolean} [options.supported]  false answers subscriptions as local emulators do (202, not supported)
   */
  constructor({ extensions, post, log, supported = true }) {
    this.supported = supported;
    this.extensions = extensions;
    this.post = post;
    this.log = log;
    /** @type {Subscription[]} */
    this.subscriptions = [];
    this.paused = false;
    /** Batches delivered, for tests: {extensionName, events}. */
    this.delivered = [];
  }

  handles(path) {
    return path === PATH || path.startsWith(`${PATH}/`) || path === '/2022-07-01/telemetry/';
  }

  async handle(req, res) {
    if (req.method !== 'PUT') return sendError(res, 405, 'InvalidRequest', `use PUT ${PATH} to subscribe`);
    const id = req.headers['lambda-extension-identifier'];
    const ext = id ? this.extensions.get(String(id)) : undefined;
    const body = await readJsonBody(req, res);
    if (!body.ok) return;
    if (!ext) {
      return sendError(res, 403, 'Extension.UnknownExtensionIdentifier', `header Lambda-Extension-Identifier ${JSON.stringify(id ?? null)} is not a registered extension: register first`);
    }
    if (!this.supported) {
      // What the official runtime interface emulator answers: 202 Accepted, nothing delivered.
      return sendError(res, 202, 'Telemetry.NotSupported', 'Telemetry API is not supported');
    }
    const problem = validate(body.value);
    if (problem) return sendError(res, 400, 'ValidationError', problem);
    const { destination, types, buffering = {} } = body.value;
    const existing = this.subscriptions.findIndex((s) => s.extensionName === ext.name);
    if (existing >= 0) this.subscriptions.splice(existing, 1);
    this.subscriptions.push({
      extensionName: ext.name,
      uri: destination.URI,
      types: new Set(types),
      buffering: {
        maxItems: buffering.maxItems ?? BUFFERING_LIMITS.maxItems[2],
        maxBytes: buffering.maxBytes ?? BUFFERING_LIMITS.maxBytes[2],
        timeoutMs: buffering.timeoutMs ?? BUFFERING_LIMITS.timeoutMs[2],
      },
      buffer: [],
      bufferBytes: 0,
      timer: undefined,
      sending: Promise.resolve(),
    });
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('OK');
  }

  /**
   * Records a platform event for every subscriber of its category.
   * @param {string} type   e.g. `platform.runtimeDone`
   * @param {object} record
   */
  emit(type, record) {
    const category = type.split('.')[0];
    const event = { time: new Date().toISOString(), type, record };
    const size = Buffer.byteLength(JSON.stringify(event));
    for (const sub of this.subscriptions) {
      if (!sub.types.has(category)) continue;
      sub.buffer.push(event);
      sub.bufferBytes += size;
      if (sub.buffer.length >= sub.buffering.maxItems || sub.bufferBytes >= sub.buffering.maxBytes) {
        this.#flush(sub);
      } else if (!sub.timer && !this.paused) {
        sub.timer = setTimeout(() => this.#flush(sub), sub.buffering.timeoutMs);
      }
    }
  }

  /** Stops delivery while the environment is frozen: a frozen subscriber cannot receive. */
  pause() {
    this.paused = true;
    for (const sub of this.subscriptions) {
      clearTimeout(sub.timer);
      sub.timer = undefined;
    }
  }

  /** Resumes delivery after a thaw; what was buffered meanwhile goes out within its timeout. */
  resume() {
    this.paused = false;
    for (const sub of this.subscriptions) {
      if (sub.buffer.length > 0 && !sub.timer) sub.timer = setTimeout(() => this.#flush(sub), sub.buffering.timeoutMs);
    }
  }

  /** Drops subscriptions and timers (environment torn down). */
  close() {
    this.pause();
    this.subscriptions = [];
  }

  #flush(sub) {
    clearTimeout(sub.timer);
    sub.timer = undefined;
    if (this.paused || sub.buffer.length === 0) return;
    const events = sub.buffer.splice(0);
    sub.bufferBytes = 0;
    const body = Buffer.from(JSON.stringify(events));
    sub.sending = sub.sending.then(async () => {
      try {
        await this.post(sub.uri, body);
        this.delivered.push({ extensionName: sub.extensionName, events });
      } catch (err) {
        this.log(`telemetry delivery to ${sub.extensionName} at ${sub.uri} failed: ${err.message}`);
      }
    });
  }
}

/** Returns a message naming the bad field, or undefined when the subscription request is valid. */
export function validate(request) {
  if (!SCHEMA_VERSIONS.has(request.schemaVersion)) {
    return `schemaVersion ${JSON.stringify(request.schemaVersion)} is not supported: use one of ${[...SCHEMA_VERSIONS].join(', ')}`;
  }
  const destination = request.destination ?? {};
  if (destination.protocol !== 'HTTP') {
    return `destination.protocol ${JSON.stringify(destination.protocol)} is not supported: use "HTTP"`;
  }
  let url;
  try {
    url = new URL(destination.URI);
  } catch {
    return `destination.URI ${JSON.stringify(destination.URI)} is not a URL: use http://sandbox.localdomain:<port>/<path>`;
  }
  if (url.protocol !== 'http:') return `destination.URI ${destination.URI} must use http://`;
  if (!Array.isArray(request.types) || request.types.length === 0 || request.types.some((t) => !TYPES.has(t))) {
    return `types ${JSON.stringify(request.types)} is not valid: use a non-empty subset of ["platform","function","extension"]`;
  }
  for (const [field, [min, max]] of Object.entries(BUFFERING_LIMITS)) {
    const value = request.buffering?.[field];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      return `buffering.${field} ${JSON.stringify(value)} is out of range: use an integer from ${min} to ${max}`;
    }
  }
  return undefined;
}
