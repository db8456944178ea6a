// Built into its own file of the layer: read only when `http` is chosen.
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { untracedRequestFilter } from '../loopback-requests.mjs';

/** Traces requests made with the `http` and `https` modules. @param {NodeJS.ProcessEnv} env */
export function createInstrumentation(env) {
  const isUntraced = untracedRequestFilter(env);
  return new HttpInstrumentation({
    ignoreOutgoingRequestHook: (request) => isUntraced(request.hostname ?? request.host, request.port),
  });
}
