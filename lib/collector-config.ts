import { COLLECTOR_DEFAULT_CONFIG_URI, COLLECTOR_LAYER_CONFIG_PATH } from './contract.generated';
import { DEFAULT_COLLECTOR_CONFIG } from './default-collector-config.generated';
import { TraceExporterConfig } from './trace-exporter';

/** Where the collector layer's default configuration lands in the function. */
export const DEFAULT_CONFIG_PATH: string = COLLECTOR_LAYER_CONFIG_PATH;

/**
 * The collector configuration URI for a function: the file in the layer when the exporter uses
 * the layer's defaults, otherwise the whole configuration inline through the confmap `yaml:`
 * provider (JSON is YAML, and fits on one line of an environment variable).
 */
export function collectorConfigUri(exporter: TraceExporterConfig): string {
  if (exporter.isLayerDefault) {
    return COLLECTOR_DEFAULT_CONFIG_URI;
  }
  return `yaml:${JSON.stringify(renderCollectorConfig(exporter))}`;
}

/**
 * The collector configuration for an exporter: the layer's default configuration
 * (`collector-go/config/config.yaml`) with the exporter in place of the default one. An
 * exporter that the default file also configures (`awsxray`) starts from that file's settings,
 * its own winning. The traces pipeline exports to it alone, and the collector extensions it
 * needs are added.
 */
export function renderCollectorConfig(exporter: TraceExporterConfig): { [key: string]: any } {
  const { service, ...sections } = copy(DEFAULT_COLLECTOR_CONFIG);
  const defaultExporters: { [id: string]: { [key: string]: any } } = sections.exporters;
  const settings = exporter.id in defaultExporters ? { ...defaultExporters[exporter.id], ...exporter.settings } : exporter.settings;
  const extensions = exporter.extensions ?? {};
  const hasExtensions = Object.keys(extensions).length > 0;
  return {
    ...sections,
    exporters: { [exporter.id]: settings },
    ...(hasExtensions ? { extensions } : {}),
    service: {
      ...(hasExtensions ? { extensions: Object.keys(extensions) } : {}),
      ...service,
      pipelines: {
        ...service.pipelines,
        traces: { ...service.pipelines.traces, exporters: [exporter.id] },
      },
    },
  };
}

/** A deep, mutable copy of a JSON value, so that no caller changes the default configuration. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
