// The Lambda Runtime API, as the runtime interface client sees it.
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
//   GET  /2018-06-01/runtime/invocation/next
//   POST /2018-06-01/runtime/invocation/{AwsRequestId}/response
//   POST /2018-06-01/runtime/invocation/{AwsRequestId}/error
//   POST /2018-06-01/runtime/init/error
// A response may be streamed: `Lambda-Runtime-Function-Response-Mode: streaming` with chunked
// transfer, an error at the end sent as the Lambda-Runtime-Function-Error-Type and -Body trailers
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming).
import { PassThrough } from 'node:stream';
import { deferred, readBody, sendAccepted, sendError } from './http-util.mjs';

const PREFIX = '/2018-06-01/runtime/';

/** Maximum synchronous response payload, 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** Maximum streamed response payload, 20 MB (the default soft limit of response streaming). */
export const MAX_STREAMED_RESPONSE_BYTES = 20 * 1024 * 1024;

/**
 * @typedef {object} Invocation
 * @property {string} requestId
 * @property {Buffer} payload
 * @property {number} deadlineMs      epoch milliseconds
 * @property {string} functionArn
 * @property {string} traceHeader     X-Ray trace header for Lambda-Runtime-Trace-Id
 *
 * @typedef {{kind: 'response', body: Buffer} | {kind: 'error', body: Buffer, errorType: string}} RuntimeOutcome
 * @typedef {{kind: 'stream', contentType: string, stream: import('node:stream').Readable, completion: Promise<RuntimeOutcome>}} StreamingOutcome
 *   a streamed response, given as soon as the runtime starts it: `stream` carries the bytes as
 *   they arrive; `completion` settles when the runtime has ended it, with every byte, or with
 *   the error of its trailers
 */

export class RuntimeApi {
  constructor() {
    /** @type {import('node:http').ServerResponse | undefined} the runtime's held /next request */
    this.heldNext = undefined;
    /** @type {Invocation | undefined} an invocation waiting for the runtime to ask for it */
    this.queued = undefined;
    /** @type {{invocation: Invocation, outcome: ReturnType<typeof deferred>} | undefined} */
    this.current = undefined;
    this.nextWaiters = [];
    /** @type {Buffer | undefined} the body of a POST /runtime/init/error, if any */
    this.initError = undefined;
    this.initErrorWaiters = [];
  }

  handles(path) {
    return path.startsWith(PREFIX);
  }

  /** True while the runtime has an open /next request and nothing is in flight. */
  get isWaitingForNext() {
    return this.heldNext !== undefined && this.current === undefined;
  }

  /** Resolves when the runtime next calls /invocation/next (the end of Runtime init). */
  whenWaitingForNext() {
    if (this.isWaitingForNext) return Promise.resolve();
    const d = deferred();
    this.nextWaiters.push(d.resolve);
    return d.promise;
  }

  /** Resolves with the body of /runtime/init/error when the runtime reports one. */
  whenInitError() {
    if (this.initError) return Promise.resolve(this.initError);
    const d = deferred();
    this.initErrorWaiters.push(d.resolve);
    return d.promise;
  }

  /**
   * Hands an invocation to the runtime and resolves with its outcome.
   * @param {Invocation} invocation
   * @returns {Promise<RuntimeOutcome>}
   */
  dispatch(invocation) {
    if (this.current) throw new Error(`runtime is still busy with request ${this.current.invocation.requestId}`);
    const outcome = deferred();
    this.current = { invocation, outcome };
    if (this.heldNext) {
      const res = this.heldNext;
      this.heldNext = undefined;
      this.#sendInvocation(res, invocation);
    } else {
      this.queued = invocation;
    }
    return outcome.promise;
  }

  /** Forgets the in-flight invocation (after a timeout or a crash). */
  abandonCurrent() {
    this.current = undefined;
    this.queued = undefined;
  }

  /** Ends a held /next request (used when the environment is torn down). */
  close() {
    if (this.heldNext && !this.heldNext.writableEnded) this.heldNext.destroy();
    this.heldNext = undefined;
  }

  async handle(req, res, path) {
    const rest = path.slice(PREFIX.length);
    if (req.method === 'GET' && rest === 'invocation/next') return this.#next(req, res);
    if (req.method === 'POST' && rest === 'init/error') return this.#initErrorRoute(req, res);
    const match = /^invocation\/([^/]+)\/(response|error)$/.exec(rest);
    if (req.method === 'POST' && match) return this.#result(req, res, decodeURIComponent(match[1]), match[2]);
    return sendError(res, 404, 'InvalidRequest', `no Runtime API route for ${req.method} ${path}`);
  }

  #next(req, res) {
    if (this.queued) {
      const invocation = this.queued;
      this.queued = undefined;
      return this.#sendInvocation(res, invocation);
    }
    if (this.heldNext && !this.heldNext.writableEnded) {
      // Only one runtime loop per environment; a second /next is a runtime bug.
      return sendError(res, 400, 'InvalidStateTransition', 'a /runtime/invocation/next request is already waiting');
    }
    this.heldNext = res;
    req.socket.setTimeout(0);
    res.on('close', () => {
      if (this.heldNext === res) this.heldNext = undefined;
    });
    if (!this.current) {
      for (const resolve of this.nextWaiters.splice(0)) resolve();
    }
  }

  /** Headers from https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-next */
  #sendInvocation(res, invocation) {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': invocation.payload.length,
      'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
      'Lambda-Runtime-Deadline-Ms': String(invocation.deadlineMs),
      'Lambda-Runtime-Invoked-Function-Arn': invocation.functionArn,
      'Lambda-Runtime-Trace-Id': invocation.traceHeader,
    });
    res.end(invocation.payload);
  }

  async #result(req, res, requestId, kind) {
    if (kind === 'response' && String(req.headers['lambda-runtime-function-response-mode'] ?? '').toLowerCase() === 'streaming') {
      return this.#streamedResult(req, res, requestId);
    }
    const body = await readBody(req);
    if (!this.current || this.current.invocation.requestId !== requestId) {
      return sendError(res, 400, 'InvalidRequestID', `request ID ${requestId} is not the invocation in progress`);
    }
    const { outcome } = this.current;
    if (kind === 'response' && body.length > MAX_RESPONSE_BYTES) {
      sendError(res, 413, 'RequestEntityTooLarge', `response of ${body.length} bytes exceeds ${MAX_RESPONSE_BYTES} bytes`);
      this.current = undefined;
      outcome.resolve({ kind: 'error', errorType: 'Function.ResponseSizeTooLarge', body: Buffer.from(JSON.stringify({ errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size (${body.length} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).` })) });
      return;
    }
    sendAccepted(res);
    this.current = undefined;
    if (kind === 'response') {
      outcome.resolve({ kind: 'response', body });
    } else {
      const errorType = req.headers['lambda-runtime-function-error-type'] || 'Unhandled';
      outcome.resolve({ kind: 'error', errorType: String(errorType), body });
    }
  }

  /**
   * A streamed response: the caller gets the stream at once; the invocation is answered when the
   * runtime ends the request body, with an error if its trailers name one.
   */
  #streamedResult(req, res, requestId) {
    if (!this.current || this.current.invocation.requestId !== requestId) {
      req.resume();
      return sendError(res, 400, 'InvalidRequestID', `request ID ${requestId} is not the invocation in progress`);
    }
    const { outcome } = this.current;
    const stream = new PassThrough();
    // Its reader learns of an error from its own listener or from `completion`.
    stream.on('error', () => {});
    const chunks = [];
    let bytes = 0;
    const completion = new Promise((resolve) => {
      req.on('data', (chunk) => {
        bytes += chunk.length;
        if (bytes > MAX_STREAMED_RESPONSE_BYTES) {
          const errorType = 'Function.ResponseSizeTooLarge';
          const body = Buffer.from(JSON.stringify({ errorType, errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_STREAMED_RESPONSE_BYTES} bytes).` }));
          stream.destroy(Object.assign(new Error(errorType), { errorType }));
          req.destroy();
          resolve({ kind: 'error', errorType, body });
          return;
        }
        chunks.push(chunk);
        stream.write(chunk);
      });
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const errorType = req.trailers['lambda-runtime-function-error-type'];
        if (errorType) {
          const encoded = req.trailers['lambda-runtime-function-error-body'];
          const errorBody = encoded ? Buffer.from(encoded, 'base64') : Buffer.from(JSON.stringify({ errorType, errorMessage: '' }));
          const error = Object.assign(new Error(String(errorType)), { errorType: String(errorType), errorBody });
          stream.destroy(error);
          resolve({ kind: 'error', errorType: String(errorType), body: errorBody, streamedBody: body });
        } else {
          stream.end();
          resolve({ kind: 'response', body });
        }
        sendAccepted(res);
      });
      req.on('error', (err) => {
        stream.destroy(err);
        resolve({ kind: 'error', errorType: 'Runtime.StreamError', body: Buffer.from(JSON.stringify({ errorType: 'Runtime.StreamError', errorMessage: err.message })) });
      });
    });
    completion.then(() => {
      if (this.current?.outcome === outcome) this.current = undefined;
    });
    outcome.resolve({ kind: 'stream', contentType: String(req.headers['content-type'] ?? 'application/octet-stream'), stream, completion });
  }

  async #initErrorRoute(req, res) {
    this.initError = await readBody(req);
    sendAccepted(res);
    for (const resolve of this.initErrorWaiters.splice(0)) resolve(this.initError);
  }
}
