// Small HTTP helpers shared by the emulated Lambda APIs.

/**
 * Reads a whole request body.
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<Buffer>}
 */
export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Parses a JSON body, answering 400 with the parse error when it is not JSON.
 * @returns {Promise<{ok: true, value: any} | {ok: false}>}
 */
export async function readJsonBody(req, res) {
  const raw = await readBody(req);
  try {
    return { ok: true, value: raw.length === 0 ? {} : JSON.parse(raw.toString('utf8')) };
  } catch (err) {
    sendError(res, 400, 'InvalidRequestFormat', `request body is not JSON: ${err.message}`);
    return { ok: false };
  }
}

/** Sends a JSON document with the given status and extra headers. */
export function sendJson(res, status, body, headers = {}) {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...headers });
  res.end(payload);
}

/** Sends Lambda's error document shape: {"errorType": ..., "errorMessage": ...}. */
export function sendError(res, status, errorType, errorMessage) {
  sendJson(res, status, { errorType, errorMessage });
}

/** Sends 202 Accepted with {"status":"OK"}, the answer of Lambda's POST endpoints. */
export function sendAccepted(res) {
  sendJson(res, 202, { status: 'OK' });
}

/**
 * Resolves after `ms` milliseconds; the timer does not keep the process alive.
 * @param {number} ms
 */
export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Races a promise against a timeout.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @returns {Promise<{timedOut: false, value: T} | {timedOut: true}>}
 */
export async function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then((value) => ({ timedOut: false, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve function exposed. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
