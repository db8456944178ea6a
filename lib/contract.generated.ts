// Generated from contract/contract.json by scripts/gen-contract.mjs; do not edit.
// The values the construct shares with the preload and the collector.

/**
 * The collector extension's name: its file name under `/opt/extensions` and the name it registers
 * with Lambda.
 */
export const COLLECTOR_EXTENSION_NAME = 'otel-xray-collector';

/** The address the collector's OTLP/HTTP receiver listens on: loopback only. */
export const COLLECTOR_OTLP_HTTP_LISTEN = '127.0.0.1:4318';

/** The collector's OTLP/HTTP endpoint, as the function's SDK sends to it. */
export const COLLECTOR_OTLP_HTTP_ENDPOINT = 'http://127.0.0.1:4318';

/** The path of OTLP/HTTP trace exports, appended to the endpoint. */
export const COLLECTOR_OTLP_TRACES_PATH = '/v1/traces';

/** Where the collector layer's extension binary lands in the function. */
export const COLLECTOR_LAYER_EXTENSION_PATH = '/opt/extensions/otel-xray-collector';

/** Where the collector layer's default configuration lands in the function. */
export const COLLECTOR_LAYER_CONFIG_PATH = '/opt/collector-config/config.yaml';

/** The largest OTLP request body the collector's receiver accepts; larger ones get HTTP 413. */
export const COLLECTOR_MAX_REQUEST_BODY_BYTES = 4194304;

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

/**
 * The environment variable holding the collector's configuration URI (confmap `file:`, `env:` or
 * `yaml:`).
 */
export const COLLECTOR_CONFIG_URI_ENV = 'OPENTELEMETRY_COLLECTOR_CONFIG_URI';

/**
 * The environment variable holding how long the collector may export after each invocation (a Go
 * duration).
 */
export const COLLECTOR_FLUSH_TIMEOUT_ENV = 'OTEL_XRAY_COLLECTOR_FLUSH_TIMEOUT';

/** The environment variable holding the collector's log level. */
export const COLLECTOR_LOG_LEVEL_ENV = 'OTEL_XRAY_COLLECTOR_LOG_LEVEL';

/** The environment variable holding the address of the collector's Telemetry API listener. */
export const COLLECTOR_TELEMETRY_LISTEN_ENV = 'OTEL_XRAY_COLLECTOR_TELEMETRY_LISTEN';

/** The environment variable holding how many spans the collector buffers at most. */
export const COLLECTOR_MAX_BUFFERED_SPANS_ENV = 'OTEL_XRAY_COLLECTOR_MAX_BUFFERED_SPANS';

/** The environment variable saying what the collector does when it cannot start. */
export const COLLECTOR_ON_STARTUP_FAILURE_ENV = 'OTEL_XRAY_COLLECTOR_ON_STARTUP_FAILURE';

/**
 * How long the collector may export after each invocation, unless its environment says otherwise.
 */
export const COLLECTOR_DEFAULT_FLUSH_TIMEOUT_MS = 2000;

/** The collector's log level, unless its environment says otherwise. */
export const COLLECTOR_DEFAULT_LOG_LEVEL = 'info';

/** How many spans the collector buffers at most, unless its environment says otherwise. */
export const COLLECTOR_DEFAULT_MAX_BUFFERED_SPANS = 20000;

/**
 * What the collector does when it cannot start, unless its environment says otherwise: keep the
 * function running untraced.
 */
export const COLLECTOR_DEFAULT_ON_STARTUP_FAILURE = 'continue';

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

/** The collector's configuration URI when its environment names none: the layer's default file. */
export const COLLECTOR_DEFAULT_CONFIG_URI = 'file:/opt/collector-config/config.yaml';

/**
 * The URL the function's SDK sends traces to by default: the collector's endpoint and the traces
 * path.
 */
export const COLLECTOR_OTLP_TRACES_URL = 'http://127.0.0.1:4318/v1/traces';
