/**
 * Requests that belong to no invocation and must not be traced: the runtime's own long-polling
 * calls to the Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html),
 * and the preload's exports to the collector, which the exporter already runs with tracing
 * suppressed but which would still pay for the instrumentation's work on every invocation.
 * @param {NodeJS.ProcessEnv} env
 * @param {string | undefined} host
 * @param {string | number | undefined} port
 */
export function isUntracedRequest(env, host, port) {
  if (!host) return false;
  const address = port ? `${host}:${port}` : host;
  return address === env.AWS_LAMBDA_RUNTIME_API || address === collectorAddress(env);
}

/**
 * `host:port` of the collector the spans are exported to.
 * @param {NodeJS.ProcessEnv} env
 */
function collectorAddress(env) {
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://127.0.0.1:4318';
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
