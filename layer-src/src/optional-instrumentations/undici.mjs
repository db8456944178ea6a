// Built into its own file of the layer: read only when `undici` is chosen.
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { isUntracedRequest, splitOrigin } from '../loopback-requests.mjs';

/** Traces `fetch` (Node.js's built-in undici). @param {NodeJS.ProcessEnv} env */
export function createInstrumentation(env) {
  return new UndiciInstrumentation({
    ignoreRequestHook: (request) => isUntracedRequest(env, ...splitOrigin(request.origin)),
  });
}
