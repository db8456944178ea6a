import { TraceExporterConfig } from './trace-exporter';

/** Where the collector layer's default configuration lands in the function. */
export const DEFAULT_CONFIG_PATH = '/opt/collector-config/config.yaml';

/**
 * The collector configuration URI for a function: the file in the layer when the exporter uses
 * the layer's defaults, otherwise the whole configuration inline through the confmap `yaml:`
 * provider (JSON is YAML, and fits on one line of an environment variable).
 */
export function collectorConfigUri(exporter: TraceExporterConfig): string {
  if (exporter.isLayerDefault) {
    return `file:${DEFAULT_CONFIG_PATH}`;
  }
  return `yaml:${JSON.stringify(renderCollectorConfig(exporter))}`;
}

/** OTLP request bodies above this size get HTTP 413, as in the layer's default file. */
const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;

/**
 * No idle timeout on the receiver, as in the layer's default file: the function's one keep-alive
 * connection must survive a freeze of any length.
 */
const RECEIVER_IDLE_TIMEOUT = '0s';

/** Tries per PutTraceSegments call, as in the layer's default file. */
const XRAY_MAX_RETRIES = 3;

/**
 * A standard collector configuration: OTLP on loopback into one traces pipeline, with the same
 * receiver and X-Ray settings as the layer's default file.
 */
export function renderCollectorConfig(exporter: TraceExporterConfig): { [key: string]: any } {
  const settings = exporter.id === 'awsxray'
    ? { region: '${env:AWS_REGION}', max_retries: XRAY_MAX_RETRIES, ...exporter.settings }
    : exporter.settings;
  const extensions = exporter.extensions ?? {};
  return {
    receivers: {
      otlp: {
        protocols: {
          http: { endpoint: '127.0.0.1:4318', max_request_body_size: MAX_REQUEST_BODY_BYTES, idle_timeout: RECEIVER_IDLE_TIMEOUT },
        },
      },
    },
    exporters: { [exporter.id]: settings },
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
    service: {
      ...(Object.keys(extensions).length > 0 ? { extensions: Object.keys(extensions) } : {}),
      pipelines: {
        traces: { receivers: ['otlp'], exporters: [exporter.id] },
      },
    },
  };
}
