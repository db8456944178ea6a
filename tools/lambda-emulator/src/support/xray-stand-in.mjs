// The X-Ray endpoint the collector exports to during the benchmark: a pass-through to moto's
// X-Ray (the e2e suite's stand-in) that counts what arrives, plus a tiny downstream service the
// benchmark handler fetches (one port reaches both from inside an execution environment).
// PutTraceSegments: POST /TraceSegments with {"TraceSegmentDocuments": ["<segment JSON>", ...]}
// https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html
import { createServer, request } from 'node:http';
import { rmSync } from 'node:fs';
import { readBody } from '../../e2e/src/emulator/http-util.mjs';

export const DOWNSTREAM_PATH = '/bench/downstream';

/**
 * @param {{motoEndpoint: string, socketPath?: string}} options
 * @returns {Promise<XRayStandIn>}
 */
export async function startXRayStandIn(options) {
  const standIn = new XRayStandIn(options);
  await standIn.start();
  return standIn;
}

export class XRayStandIn {
  constructor({ motoEndpoint, socketPath }) {
    this.moto = new URL(motoEndpoint);
    this.socketPath = socketPath;
    /** segment id -> arrival time (performance.now) of the first document with that id */
    this.segmentIds = new Map();
    this.documents = 0;
    this.putRequests = 0;
    this.rejectedByMoto = 0;
    /** documents per sending client: `go` (the collector's AWS SDK for Go) or `other` */
    this.documentsFrom = { go: 0, other: 0 };
  }

  async start() {
    const handler = (req, res) => this.#handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`X-Ray stand-in could not reach moto at ${this.moto.origin}: ${err.message}`);
    });
    this.server = createServer(handler);
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    if (this.socketPath) {
      rmSync(this.socketPath, { force: true });
      this.socketServer = createServer(handler);
      await new Promise((resolve) => this.socketServer.listen(this.socketPath, resolve));
    }
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
  }

  async stop() {
    for (const server of [this.server, this.socketServer]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  async #handle(req, res) {
    const path = new URL(req.url, 'http://stand-in').pathname;
    if (req.method === 'GET' && path === DOWNSTREAM_PATH) {
      const body = Buffer.from('{"ok":true}');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    const body = await readBody(req);
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
