// Built into its own file of the layer: read only when `undici` is chosen.
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { splitOrigin, untracedRequestFilter } from '../loopback-requests.mjs';

/** Traces `fetch` (Node.js's built-in undici). @param {NodeJS.ProcessEnv} env */
export function createInstrumentation(env) {
  const isUntraced = untracedRequestFilter(env);
  return new UndiciInstrumentation({
    ignoreRequestHook: (request) => isUntraced(...splitOrigin(request.origin)),
  });
}
