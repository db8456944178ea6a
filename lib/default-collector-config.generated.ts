// Generated from collector-go/config/config.yaml by scripts/gen-contract.mjs; do not edit.

/**
 * The collector's default configuration: the file the collector layer installs, as an object.
 * A function whose exporter differs gets this configuration with the exporter overlaid.
 */
export const DEFAULT_COLLECTOR_CONFIG = {
  receivers: {
    otlp: {
      protocols: {
        http: {
          endpoint: '127.0.0.1:4318',
          max_request_body_size: 4194304,
          idle_timeout: '0s',
        },
      },
    },
  },
  exporters: {
    awsxray: {
      region: '${env:AWS_REGION}',
      max_retries: 3,
    },
  },
  service: {
    pipelines: {
      traces: {
        receivers: ['otlp'],
        exporters: ['awsxray'],
      },
    },
  },
} as const;
