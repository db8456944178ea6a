import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { COLLECTOR_OTLP_TRACES_URL } from './contract.generated.mjs';
import { HandOffExporter, isLoopbackUrl } from './hand-off-exporter.mjs';

/**
 * Where spans go unless OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT says otherwise: the collector
 * extension's receiver, on loopback.
 */
export const DEFAULT_TRACES_URL = COLLECTOR_OTLP_TRACES_URL;

/**
 * How long one export to the local collector may take, retries included, unless
 * OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT says otherwise. The collector answers from loopback in a
 * few milliseconds. Below the exporter's first retry delay (800 to 1200 ms), a refused connection
 * fails at once instead of holding the invocation's response for a retry, and a collector that
 * hangs costs an invocation at most this long.
 */
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 500;

/**
 * A tracer provider with X-Ray trace IDs and a batch span processor: spans are queued in memory
 * and exported to the collector when the AWS Lambda instrumentation force-flushes the provider at
 * the end of each invocation, so no span is exported on the handler's hot path; with the collector
 * on loopback, that flush is done once the spans are handed to its socket (createExporter). With
 * `invocationEnd` (src/invocation-end.mjs), it also sees every span start, end and export, to
 * end an invocation cut short by a timeout or an exit.
 * @param {{ resource: import('@opentelemetry/resources').Resource, env: NodeJS.ProcessEnv, invocationEnd?: import('./invocation-end.mjs').InvocationEnd }} options
 */
export function createTracerProvider({ resource, env, invocationEnd }) {
  const exporter = createExporter(env);
  const batch = new BatchSpanProcessor(invocationEnd ? invocationEnd.wrapExporter(exporter) : exporter);
  return new NodeTracerProvider({
    resource,
    // X-Ray rejects trace IDs whose first 8 hex digits are not the epoch seconds of the trace start.
    // https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-traceids
    idGenerator: new AWSXRayIdGenerator(),
    spanProcessors: invocationEnd ? [invocationEnd, batch] : [batch],
  });
}

/**
 * The exporter of the spans. To a collector on loopback (the collector extension, by default) an
 * export is done once the request is handed to the socket, without waiting for the collector's
 * answer (src/hand-off-exporter.mjs): the extension holds the environment until it has the spans.
 * Elsewhere, or with OTLP headers or compression configured, the OTLP exporter, which waits for
 * the answer.
 * @param {NodeJS.ProcessEnv} env
 */
export function createExporter(env) {
  const url = tracesUrl(env);
  const configured = (name) => Boolean(env[`OTEL_EXPORTER_OTLP_${name}`] || env[`OTEL_EXPORTER_OTLP_TRACES_${name}`]);
  if (isLoopbackUrl(url) && !configured('HEADERS') && !configured('COMPRESSION')) {
    return new HandOffExporter({ url, timeoutMillis: exportTimeoutMillis(env) });
  }
  return new OTLPTraceExporter(exporterOptions(env));
}

/**
 * The export timeout: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, else
 * DEFAULT_EXPORT_TIMEOUT_MILLIS (also for a value that is not a positive number).
 * @param {NodeJS.ProcessEnv} env
 */
export function exportTimeoutMillis(env) {
  for (const raw of [env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, env.OTEL_EXPORTER_OTLP_TIMEOUT]) {
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw);
    return Number.isFinite(value) && value > 0 ? value : DEFAULT_EXPORT_TIMEOUT_MILLIS;
  }
  return DEFAULT_EXPORT_TIMEOUT_MILLIS;
}

/**
 * The URL the exporter sends to, as it derives it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is,
 * else OTEL_EXPORTER_OTLP_ENDPOINT with `v1/traces` appended, else the collector's.
 * @param {NodeJS.ProcessEnv} env
 */
export function tracesUrl(env) {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/?$/, '/')}v1/traces`;
  return DEFAULT_TRACES_URL;
}

/**
 * OTLP/HTTP JSON to the local collector. The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and the
 * traces-specific variables) itself; explicit options would override them, so they are only
 * given where no variable is set.
 * @param {NodeJS.ProcessEnv} env
 */
export function exporterOptions(env) {
  const options = {};
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    options.url = DEFAULT_TRACES_URL;
  }
  if (!env.OTEL_EXPORTER_OTLP_TIMEOUT && !env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) {
    options.timeoutMillis = DEFAULT_EXPORT_TIMEOUT_MILLIS;
  }
  return options;
}
