// The Lambda Extensions API.
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
//   POST /2020-01-01/extension/register     (header Lambda-Extension-Name; body {"events": [...]})
//   GET  /2020-01-01/extension/event/next   (header Lambda-Extension-Identifier)
//   POST /2020-01-01/extension/init/error   (header Lambda-Extension-Function-Error-Type)
//   POST /2020-01-01/extension/exit/error
import { randomUUID } from 'node:crypto';
import { deferred, readBody, readJsonBody, sendAccepted, sendError, sendJson } from './http-util.mjs';

const PREFIX = '/2020-01-01/extension/';
const EVENT_TYPES = new Set(['INVOKE', 'SHUTDOWN']);

/**
 * @typedef {object} RegisteredExtension
 * @property {string} id
 * @property {string} name
 * @property {Set<string>} events
 * @property {import('node:http').ServerResponse | undefined} heldNext
 * @property {object[]} queue            events not yet taken by event/next
 * @property {number | undefined} lastNextAt  epoch ms of the last event/next call
 * @property {string | undefined} exitError
 */

export class ExtensionsApi {
  /**
   * @param {{functionName: string, functionVersion: string, handler: string, accountId: string}} info
   */
  constructor(info) {
    this.info = info;
    /** @type {Map<string, RegisteredExtension>} */
    this.byId = new Map();
    this.registrationOpen = true;
    /** @type {{name: string, errorType: string, body: string} | undefined} */
    this.initError = undefined;
    this.idleWaiters = [];
    this.registerWaiters = [];
    this.initErrorWaiters = [];
  }

  handles(path) {
    return path.startsWith(PREFIX);
  }

  /** Names of registered extensions. */
  get registeredNames() {
    return [...this.byId.values()].map((e) => e.name);
  }

  /** Looks up a registered extension by the identifier Lambda gave it. */
  get(id) {
    return this.byId.get(id);
  }

  /** Resolves once `count` extensions have registered. */
  whenRegistered(count) {
    if (this.byId.size >= count) return Promise.resolve();
    const d = deferred();
    this.registerWaiters.push({ count, resolve: d.resolve });
    return d.promise;
  }

  /** Resolves when an extension reports /init/error. */
  whenInitError() {
    if (this.initError) return Promise.resolve(this.initError);
    const d = deferred();
    this.initErrorWaiters.push(d.resolve);
    return d.promise;
  }

  /** True when every registered extension is parked in event/next with nothing queued. */
  get allIdle() {
    for (const ext of this.byId.values()) {
      if (!ext.heldNext || ext.queue.length > 0) return false;
    }
    return true;
  }

  /** Resolves when every registered extension has called event/next and has nothing queued. */
  whenAllIdle() {
    if (this.allIdle) return Promise.resolve();
    const d = deferred();
    this.idleWaiters.push(d.resolve);
    return d.promise;
  }

  /**
   * Sends an event to every extension registered for its type: at once to an extension waiting in
   * event/next, otherwise queued for its next call.
   * @param {{eventType: 'INVOKE' | 'SHUTDOWN'} & Record<string, unknown>} event
   * @returns {string[]} names of the extensions the event went to
   */
  deliver(event) {
    const receivers = [];
    for (const ext of this.byId.values()) {
      if (!ext.events.has(event.eventType)) continue;
      receivers.push(ext.name);
      ext.queue.push(event);
      this.#drain(ext);
    }
    return receivers;
  }

  /** Forgets an extension whose process has exited, so the environment does not wait on it. */
  forget(name) {
    for (const [id, ext] of this.byId) {
      if (ext.name === name) this.byId.delete(id);
    }
    this.#checkIdle();
  }

  /** Ends held requests when the environment is torn down. */
  close() {
    for (const ext of this.byId.values()) {
      if (ext.heldNext && !ext.heldNext.writableEnded) ext.heldNext.destroy();
      ext.heldNext = undefined;
    }
  }

  async handle(req, res, path) {
    const route = path.slice(PREFIX.length);
    if (req.method === 'POST' && route === 'register') return this.#register(req, res);
    if (req.method === 'GET' && route === 'event/next') return this.#next(req, res);
    if (req.method === 'POST' && (route === 'init/error' || route === 'exit/error')) return this.#error(req, res, route);
    return sendError(res, 404, 'InvalidRequest', `no Extensions API route for ${req.method} ${path}`);
  }

  async #register(req, res) {
    const name = req.headers['lambda-extension-name'];
    const body = await readJsonBody(req, res);
    if (!body.ok) return;
    if (!name) {
      return sendError(res, 400, 'InvalidRequest', 'header Lambda-Extension-Name is missing: set it to the extension file name in /opt/extensions');
    }
    if (!this.registrationOpen) {
      return sendError(res, 403, 'Extension.RegistrationAfterInit', `extension ${name} registered after the Init phase ended; register before calling event/next`);
    }
    const events = body.value.events ?? [];
    const unknown = Array.isArray(events) ? events.filter((e) => !EVENT_TYPES.has(e)) : [String(events)];
    if (unknown.length > 0) {
      return sendError(res, 400, 'InvalidRequest', `events ${JSON.stringify(unknown)} are not valid: use "INVOKE" and/or "SHUTDOWN"`);
    }
    if (this.registeredNames.includes(String(name))) {
      return sendError(res, 409, 'Extension.AlreadyRegistered', `extension ${name} is already registered`);
    }
    const id = randomUUID();
    this.byId.set(id, { id, name: String(name), events: new Set(events), heldNext: undefined, queue: [], lastNextAt: undefined, exitError: undefined });
    const accept = String(req.headers['lambda-extension-accept-feature'] ?? '');
    const answer = { functionName: this.info.functionName, functionVersion: this.info.functionVersion, handler: this.info.handler };
    if (accept.split(',').map((s) => s.trim()).includes('accountId')) answer.accountId = this.info.accountId;
    sendJson(res, 200, answer, { 'Lambda-Extension-Identifier': id });
    this.registerWaiters = this.registerWaiters.filter((w) => {
      if (this.byId.size >= w.count) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  #next(req, res) {
    const ext = this.#identify(req, res);
    if (!ext) return;
    ext.lastNextAt = Date.now();
    if (ext.heldNext && !ext.heldNext.writableEnded) ext.heldNext.destroy();
    ext.heldNext = res;
    req.socket.setTimeout(0);
    res.on('close', () => {
      if (ext.heldNext === res) ext.heldNext = undefined;
    });
    this.#drain(ext);
    this.#checkIdle();
  }

  async #error(req, res, route) {
    const ext = this.#identify(req, res);
    const body = (await readBody(req)).toString('utf8');
    if (!ext) return;
    const errorType = String(req.headers['lambda-extension-function-error-type'] ?? 'Extension.Unknown');
    sendAccepted(res);
    if (route === 'init/error') {
      this.initError = { name: ext.name, errorType, body };
      for (const resolve of this.initErrorWaiters.splice(0)) resolve(this.initError);
    } else {
      ext.exitError = errorType;
    }
  }

  #identify(req, res) {
    const id = req.headers['lambda-extension-identifier'];
    const ext = id ? this.byId.get(String(id)) : undefined;
    if (!ext) {
      sendError(res, 403, 'Extension.UnknownExtensionIdentifier', `header Lambda-Extension-Identifier ${JSON.stringify(id ?? null)} is not a registered extension: use the identifier returned by /register`);
      return undefined;
    }
    return ext;
  }

  #drain(ext) {
    if (!ext.heldNext || ext.queue.length === 0) return;
    const res = ext.heldNext;
    ext.heldNext = undefined;
    const event = ext.queue.shift();
    sendJson(res, 200, event, { 'Lambda-Extension-Event-Identifier': randomUUID() });
  }

  #checkIdle() {
    if (!this.allIdle) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
