// The collector configuration both collectors run with when they are compared: the OTLP receiver
// (HTTP only) on localhost:4318 and the otlphttp exporter to the benchmark's sink, one traces
// pipeline, no processors. The upstream Lambda collector has no X-Ray exporter, so this is the
// configuration both can run. Run as a script, it prints the configuration the upstream
// collector's layer ships in bench/.build/peer-collector/collector-config/config.yaml, with the
// sink's address taken from the environment (SINK_ENDPOINT_ENV) when the collector starts.
import { fileURLToPath } from 'node:url';

/** The variable the layer's configuration reads the sink's address from. */
export const SINK_ENDPOINT_ENV = 'BENCH_OTLP_SINK_ENDPOINT';
/** Where both receivers listen, as upstream's own config.yaml writes it. */
export const RECEIVER_ENDPOINT = 'localhost:4318';

/**
 * The configuration as YAML.
 * @param {{sinkEndpoint?: string}} [options]  the sink's base URL as seen from inside the
 *   environment (e.g. http://127.0.0.1:4319); the exporter appends /v1/traces. Without it, the
 *   configuration reads SINK_ENDPOINT_ENV when the collector starts.
 */
export function renderOtlpHttpConfig({ sinkEndpoint } = {}) {
  const endpoint = sinkEndpoint ?? `\${env:${SINK_ENDPOINT_ENV}}`;
  if (sinkEndpoint !== undefined && !/^https?:\/\/[^\s"]+$/.test(sinkEndpoint)) {
    throw new Error(`sinkEndpoint ${JSON.stringify(sinkEndpoint)} is not an http:// or https:// URL`);
  }
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: "${RECEIVER_ENDPOINT}"`,
    '',
    'exporters:',
    '  otlphttp:',
    `    endpoint: "${endpoint}"`,
    '',
    'service:',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      exporters: [otlphttp]',
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(renderOtlpHttpConfig());
