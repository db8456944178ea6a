// The X-Ray endpoint the collector exports to when a run must see or shape what arrives, in one of
// two behaviours:
//   forward  a pass-through to moto's X-Ray that counts the segment documents it stores, by ID and
//            by sending client, and also serves a plain downstream URL for handlers to fetch (one
//            port reaches both from inside an execution environment)
//   hang     accepts connections and requests and never answers: an X-Ray that hangs
// A forwarding stand-in can also play a transient X-Ray outage for a while (setOutage): refused
// connections, 5xx answers or throttling, then forward again.
// PutTraceSegments: POST /TraceSegments with {"TraceSegmentDocuments": ["<segment JSON>", ...]}
// https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html
import { createServer, request } from 'node:http';
import { rmSync } from 'node:fs';
import { readBody } from '../emulator/http-util.mjs';

/** A GET answered with 200 {"ok":true}, for handlers that need something to fetch. */
export const DOWNSTREAM_PATH = '/stand-in/downstream';
const BEHAVIOURS = ['forward', 'hang'];
/** What setOutage can make of a forwarding stand-in. */
const OUTAGES = ['refuse', '5xx', 'throttle'];

/**
 * @param {{behaviour?: 'forward' | 'hang', motoEndpoint?: string, socketPath?: string}} options
 *   motoEndpoint is required to forward; socketPath adds a Unix socket beside the TCP port
 * @returns {Promise<XRayStandIn>}
 */
export async function startXRayStandIn(options) {
  const standIn = new XRayStandIn(options);
  await standIn.start();
  return standIn;
}

export class XRayStandIn {
  constructor({ behaviour = 'forward', motoEndpoint, socketPath } = {}) {
    if (!BEHAVIOURS.includes(behaviour)) throw new Error(`X-Ray stand-in behaviour ${JSON.stringify(behaviour)} is not known: use one of ${BEHAVIOURS.join(', ')}`);
    if (behaviour === 'forward' && !motoEndpoint) throw new Error('the forwarding X-Ray stand-in needs motoEndpoint: start moto first (startMoto) and pass its endpoint');
    this.behaviour = behaviour;
    this.moto = motoEndpoint ? new URL(motoEndpoint) : undefined;
    this.socketPath = socketPath;
    /** segment id -> arrival time (performance.now) of the first document with that id */
    this.segmentIds = new Map();
    this.documents = 0;
    this.putRequests = 0;
    this.rejectedByMoto = 0;
    /** documents per sending client: `go` (the collector's AWS SDK for Go) or `other` */
    this.documentsFrom = { go: 0, other: 0 };
    /** the outage being played (setOutage), or undefined while forwarding */
    this.outage = undefined;
    /** connections reset (refuse) and requests answered with an error (5xx, throttle) during outages */
    this.turnedAway = { refuse: 0, '5xx': 0, throttle: 0 };
  }

  async start() {
    const handler = (req, res) => this.#handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`X-Ray stand-in could not reach moto at ${this.moto?.origin}: ${err.message}`);
    });
    const onConnection = (socket) => {
      if (this.outage !== 'refuse') return;
      this.turnedAway.refuse++;
      refuse(socket);
    };
    this.server = createServer(handler);
    this.server.on('connection', onConnection);
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    if (this.socketPath) {
      rmSync(this.socketPath, { force: true });
      this.socketServer = createServer(handler);
      this.socketServer.on('connection', onConnection);
      await new Promise((resolve) => this.socketServer.listen(this.socketPath, resolve));
    }
  }

  /**
   * Plays a transient X-Ray outage until called again without a mode (forward only):
   *   refuse    every connection is reset as soon as it is accepted, and the open ones are closed
   *             now (through an execution environment's forwarder the client sees its connection
   *             closed without an answer); the downstream URL is unreachable too
   *   5xx       every X-Ray call is answered 500 InternalFailure or 503 ServiceUnavailableException,
   *             in turn
   *   throttle  every X-Ray call is answered 429 ThrottledException, as X-Ray throttles
   * Nothing reaches moto meanwhile; turnedAway counts the connections and calls turned away.
   * @param {'refuse' | '5xx' | 'throttle' | undefined} mode
   */
  setOutage(mode) {
    if (mode !== undefined && !OUTAGES.includes(mode)) throw new Error(`X-Ray outage ${JSON.stringify(mode)} is not known: use one of ${OUTAGES.join(', ')}, or none to forward again`);
    if (mode !== undefined && this.behaviour !== 'forward') throw new Error('only a forwarding X-Ray stand-in can play an outage');
    this.outage = mode;
    if (mode === 'refuse') for (const server of [this.server, this.socketServer]) server?.closeAllConnections();
  }

  get port() {
    return this.server.address().port;
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Forgets what was counted so far. */
  reset() {
    this.segmentIds.clear();
    this.documents = 0;
    this.putRequests = 0;
    this.rejectedByMoto = 0;
    this.documentsFrom = { go: 0, other: 0 };
    this.turnedAway = { refuse: 0, '5xx': 0, throttle: 0 };
  }

  async stop() {
    for (const server of [this.server, this.socketServer]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  async #handle(req, res) {
    if (this.behaviour === 'hang') {
      // Read the request so the client sees it sent, then never answer.
      req.resume();
      req.socket.on('error', () => {});
      return;
    }
    if (this.outage === 'refuse') {
      // A request on a connection accepted before the outage began.
      this.turnedAway.refuse++;
      refuse(req.socket);
      return;
    }
    const path = new URL(req.url, 'http://stand-in').pathname;
    if (req.method === 'GET' && path === DOWNSTREAM_PATH) {
      const body = Buffer.from('{"ok":true}');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    const body = await readBody(req);
    if (this.outage) {
      const n = this.turnedAway[this.outage]++;
      const [status, type, message] = this.outage === 'throttle'
        ? [429, 'ThrottledException', 'Rate exceeded']
        : [[500, 'InternalFailure', 'Internal failure'], [503, 'ServiceUnavailableException', 'Service unavailable']][n % 2];
      // The restJson1 error shape of AWS APIs: the type in x-amzn-ErrorType, a message in the body.
      const answer = Buffer.from(JSON.stringify({ message }));
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': answer.length, 'x-amzn-ErrorType': type, 'x-amzn-RequestId': `outage-${n}` });
      res.end(answer);
      return;
    }
    const answer = await this.#forward(req, body);
    if (req.method === 'POST' && path === '/TraceSegments') this.#count(body, answer, String(req.headers['user-agent'] ?? ''));
    res.writeHead(answer.statusCode, answer.headers);
    res.end(answer.body);
  }

  #count(body, answer, userAgent) {
    this.putRequests++;
    if (answer.statusCode >= 300) {
      this.rejectedByMoto++;
      return;
    }
    const unprocessed = new Set((JSON.parse(answer.body.toString('utf8')).UnprocessedTraceSegments ?? []).map((u) => u.Id));
    const arrivedAt = performance.now();
    for (const document of JSON.parse(body.toString('utf8')).TraceSegmentDocuments ?? []) {
      const { id } = JSON.parse(document);
      if (unprocessed.has(id)) continue;
      this.documents++;
      this.documentsFrom[/aws-sdk-go/i.test(userAgent) ? 'go' : 'other']++;
      if (!this.segmentIds.has(id)) this.segmentIds.set(id, arrivedAt);
    }
  }

  #forward(req, body) {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, 'content-length': body.length };
      delete headers.connection;
      const out = request({ host: this.moto.hostname, port: this.moto.port, method: req.method, path: req.url, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const answerHeaders = { ...res.headers };
          delete answerHeaders['transfer-encoding'];
          delete answerHeaders.connection;
          const answerBody = Buffer.concat(chunks);
          answerHeaders['content-length'] = answerBody.length;
          resolve({ statusCode: res.statusCode, headers: answerHeaders, body: answerBody });
        });
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }
}

/** Closes a connection at once, with a TCP reset where it is TCP. */
function refuse(socket) {
  socket.on('error', () => {});
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
