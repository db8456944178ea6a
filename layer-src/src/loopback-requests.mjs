import { COLLECTOR_OTLP_TRACES_URL } from './contract.generated.mjs';

/**
 * Recognises requests that belong to no invocation and must not be traced: the runtime's own
 * long-polling calls to the Lambda Runtime API
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), and the preload's exports to
 * the collector, which the exporter already runs with tracing suppressed but which would still pay
 * for the instrumentation's work on every invocation.
 * @param {NodeJS.ProcessEnv} env
 * @returns {(host: string | undefined, port: string | number | undefined) => boolean}
 */
export function untracedRequestFilter(env) {
  const addresses = new Set([env.AWS_LAMBDA_RUNTIME_API, collectorAddress(env)].filter(Boolean));
  return (host, port) => Boolean(host) && addresses.has(port ? `${host}:${port}` : host);
}

/**
 * `host:port` of the collector the spans are exported to.
 * @param {NodeJS.ProcessEnv} env
 */
function collectorAddress(env) {
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || COLLECTOR_OTLP_TRACES_URL;
  try {
    const { hostname, port } = new URL(url);
    return port ? `${hostname}:${port}` : hostname;
  } catch {
    return undefined;
  }
}

/**
 * `[hostname, port]` of an origin such as `http://127.0.0.1:9001`.
 * @param {unknown} origin
 * @returns {[string | undefined, string | undefined]}
 */
export function splitOrigin(origin) {
  try {
    const url = new URL(String(origin));
    return [url.hostname, url.port];
  } catch {
    return [undefined, undefined];
  }
}
