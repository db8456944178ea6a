import { Token } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';

/** Options of the collector's AWS X-Ray exporter (`awsxray`). */
export interface XRayExporterOptions {
  /**
   * The Region X-Ray segments are sent to.
   *
   * @default - the function's own Region (`AWS_REGION`)
   */
  readonly region?: string;

  /**
   * Span attributes turned into X-Ray annotations, which X-Ray indexes for filter expressions.
   * Other attributes become metadata.
   *
   * @default - no attribute is indexed
   */
  readonly indexedAttributes?: string[];

  /**
   * Turn every span attribute into an X-Ray annotation. Cannot be combined with
   * `indexedAttributes`.
   *
   * @default false
   */
  readonly indexAllAttributes?: boolean;

  /**
   * The X-Ray API endpoint, for example a VPC endpoint.
   *
   * @default - the regional X-Ray endpoint
   */
  readonly endpoint?: string;
}

/** What a {@link TraceExporter} contributes to the collector and the function. */
export interface TraceExporterConfig {
  /** The exporter's id in the collector configuration, e.g. `awsxray`. */
  readonly id: string;

  /** The exporter's settings in the collector configuration. */
  readonly settings: { [key: string]: any };

  /** The IAM statements the function's role needs for this exporter. */
  readonly policyStatements: PolicyStatement[];

  /**
   * Whether these settings are exactly those of the configuration file in the collector layer,
   * so the function can use the file instead of an inline configuration.
   */
  readonly isLayerDefault: boolean;
}

/**
 * Where the collector extension sends the spans it receives.
 */
export abstract class TraceExporter {
  /**
   * The AWS X-Ray exporter: spans become X-Ray segments sent with `PutTraceSegments`.
   */
  public static xray(options: XRayExporterOptions = {}): TraceExporter {
    return new XRayTraceExporter(options);
  }

  /** The exporter's contribution, validated; `path` names it in error messages. */
  public abstract bind(path: string): TraceExporterConfig;
}

/** X-Ray accepts segments for these actions only; neither supports resource-level permissions. */
const XRAY_WRITE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

/** AWS Region names, e.g. `eu-west-1`, `us-gov-west-1`, `ap-southeast-5`. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

class XRayTraceExporter extends TraceExporter {
  constructor(private readonly options: XRayExporterOptions) {
    super();
  }

  public bind(path: string): TraceExporterConfig {
    const { region, indexedAttributes, indexAllAttributes, endpoint } = this.options;
    if (region !== undefined && !Token.isUnresolved(region) && !REGION_PATTERN.test(region)) {
      throw new Error(`${path}.region: '${region}' is not an AWS Region name; use one such as 'us-east-1', or leave it unset to use the function's Region.`);
    }
    if (indexedAttributes !== undefined) {
      indexedAttributes.forEach((name, i) => {
        if (typeof name !== 'string' || name.trim().length === 0 || name !== name.trim()) {
          throw new Error(`${path}.indexedAttributes[${i}]: '${name}' is not an attribute name; use a non-empty name without surrounding spaces, e.g. 'http.route'.`);
        }
      });
      const duplicate = indexedAttributes.find((name, i) => indexedAttributes.indexOf(name) !== i);
      if (duplicate !== undefined) {
        throw new Error(`${path}.indexedAttributes: '${duplicate}' is listed twice; list each attribute once.`);
      }
      if (indexAllAttributes && indexedAttributes.length > 0) {
        throw new Error(`${path}: indexAllAttributes is true and indexedAttributes lists ${indexedAttributes.length} attribute(s); set one or the other.`);
      }
    }
    if (endpoint !== undefined && !Token.isUnresolved(endpoint)) {
      let url: URL | undefined;
      try {
        url = new URL(endpoint);
      } catch {
        url = undefined;
      }
      if (!url || !['https:', 'http:'].includes(url.protocol)) {
        throw new Error(`${path}.endpoint: '${endpoint}' is not an http(s) URL; use one such as 'https://xray.eu-west-1.amazonaws.com'.`);
      }
    }

    const settings: { [key: string]: any } = {};
    if (region !== undefined) settings.region = region;
    if (endpoint !== undefined) settings.endpoint = endpoint;
    if (indexedAttributes?.length) settings.indexed_attributes = [...indexedAttributes];
    if (indexAllAttributes) settings.index_all_attributes = true;

    return {
      id: 'awsxray',
      settings,
      policyStatements: [new PolicyStatement({ actions: XRAY_WRITE_ACTIONS, resources: ['*'] })],
      isLayerDefault: Object.keys(settings).length === 0,
    };
  }
}
