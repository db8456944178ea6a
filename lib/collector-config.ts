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

/** A standard collector configuration: OTLP on loopback into one traces pipeline. */
export function renderCollectorConfig(exporter: TraceExporterConfig): { [key: string]: any } {
  return {
    receivers: {
      otlp: { protocols: { http: { endpoint: '127.0.0.1:4318' } } },
    },
    exporters: {
      [exporter.id]: exporter.id === 'awsxray' && exporter.settings.region === undefined
        ? { region: '${env:AWS_REGION}', ...exporter.settings }
        : exporter.settings,
    },
    service: {
      pipelines: {
        traces: { receivers: ['otlp'], exporters: [exporter.id] },
      },
    },
  };
}
