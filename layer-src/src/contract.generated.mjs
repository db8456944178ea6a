// Generated from contract/contract.json by scripts/gen-contract.mjs; do not edit.
// The values the preload shares with the construct and the collector; esbuild inlines them.

/** The collector's OTLP/HTTP endpoint, as the function's SDK sends to it. */
export const COLLECTOR_OTLP_HTTP_ENDPOINT = 'http://127.0.0.1:4318';

/**
 * The attribute of the handler invocation's span in which the preload counts the spans of the
 * invocation ended with it (the span included): the collector knows the invocation complete once
 * that many of its trace are in, and removes the attribute before export.
 */
export const COLLECTOR_INVOCATION_SPAN_COUNT_ATTRIBUTE = 'otel_xray.invocation.span_count';

/**
 * The attribute of the handler invocation's span in which the preload counts the spans of its trace
 * still open when it ended (work the handler left running): the collector waits a short while for
 * them, and removes the attribute before export.
 */
export const COLLECTOR_INVOCATION_OPEN_SPANS_ATTRIBUTE = 'otel_xray.invocation.open_spans';

/** The file `NODE_OPTIONS=--import` loads: the preload in its layer. */
export const PRELOAD_IMPORT_PATH = '/opt/nodejs/otel-preload/init.mjs';

/** The OpenTelemetry variable holding the OTLP endpoint the preload exports to. */
export const PRELOAD_OTLP_ENDPOINT_ENV = 'OTEL_EXPORTER_OTLP_ENDPOINT';

/** The OpenTelemetry variable listing the instrumentations the preload loads. */
export const PRELOAD_ENABLED_INSTRUMENTATIONS_ENV = 'OTEL_NODE_ENABLED_INSTRUMENTATIONS';

/** The OpenTelemetry variable holding the service name of the function's spans. */
export const PRELOAD_SERVICE_NAME_ENV = 'OTEL_SERVICE_NAME';

/**
 * The variable that turns off (`false`) the trace and span IDs the preload adds to each console
 * line of a traced invocation.
 */
export const PRELOAD_LOG_CORRELATION_ENV = 'OTEL_NODE_LOG_CORRELATION';

/**
 * The URL the function's SDK sends traces to by default: the collector's endpoint and the traces
 * path.
 */
export const COLLECTOR_OTLP_TRACES_URL = 'http://127.0.0.1:4318/v1/traces';
