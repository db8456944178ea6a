import { Token } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { xrayWriteStatement } from './xray-permissions';

/** How the collector hands X-Ray segment documents over. */
export enum XRayDelivery {
  /**
   * `PutTraceSegments` calls to the X-Ray API, from the collector: each invocation's export
   * waits for X-Ray's answer (billed), and every segment X-Ray refuses or throttles is known,
   * retried or counted.
   */
  API = 'api',

  /**
   * UDP datagrams to the X-Ray daemon Lambda runs for the function (`AWS_XRAY_DAEMON_ADDRESS`),
   * one segment document each, nothing awaited: an invocation's export takes microseconds per
   * span, and the daemon, which is Lambda's, not a billed extension, sends the segments to X-Ray
   * with the function's role. X-Ray's per-segment answer is not seen: a segment it refuses or
   * throttles is lost at the daemon, uncounted. Needs Lambda's tracing on (`Tracing.ACTIVE` or
   * `Tracing.PASS_THROUGH`), which runs the daemon.
   */
  DAEMON = 'daemon',
}

/** Options of the collector's AWS X-Ray exporter. */
export interface XRayExporterOptions {
  /**
   * How segment documents reach X-Ray: through the X-Ray API, or through Lambda's X-Ray daemon.
   *
   * @default XRayDelivery.API
   */
  readonly delivery?: XRayDelivery;

  /**
   * The Region X-Ray segments are sent to. Only with `XRayDelivery.API`.
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
   * The X-Ray API endpoint, for example a VPC endpoint. Only with `XRayDelivery.API`.
   *
   * @default - the regional X-Ray endpoint
   */
  readonly endpoint?: string;
}

/** Options of an exporter to X-Ray's OpenTelemetry (OTLP) endpoint. */
export interface XRayOtlpExporterOptions {
  /**
   * The Region whose X-Ray OTLP endpoint receives the spans.
   *
   * @default - the function's own Region (`AWS_REGION`)
   */
  readonly region?: string;
}

/** Options of an exporter to any OTLP/HTTP backend. */
export interface OtlpExporterOptions {
  /**
   * The OTLP/HTTP traces URL, e.g. `https://otlp.example.com/v1/traces`.
   */
  readonly tracesEndpoint: string;

  /**
   * Headers sent with every export, e.g. an API key. They are stored in the function's
   * configuration in clear: prefer `${env:NAME}` references to variables you manage.
   *
   * @default - no extra header
   */
  readonly headers?: { [name: string]: string };
}

/** What a {@link TraceExporter} contributes to the collector and the function. */
export interface TraceExporterConfig {
  /** The exporter's id in the collector configuration, e.g. `awsxray`. */
  readonly id: string;

  /** The exporter's settings in the collector configuration. */
  readonly settings: { [key: string]: any };

  /**
   * Collector extensions the exporter needs (e.g. `sigv4auth`), by id.
   *
   * @default - none
   */
  readonly extensions?: { [id: string]: any };

  /** The IAM statements the function's role needs for this exporter. */
  readonly policyStatements: PolicyStatement[];

  /**
   * Whether these settings are exactly those of the configuration file in the collector layer,
   * so the function can use the file instead of an inline configuration.
   */
  readonly isLayerDefault: boolean;

  /**
   * Whether the exporter needs Lambda's tracing on (`Tracing.ACTIVE` or `Tracing.PASS_THROUGH`):
   * it hands segments to the X-Ray daemon Lambda runs only then.
   *
   * @default false
   */
  readonly needsLambdaTracing?: boolean;
}

/**
 * Where the collector extension sends the spans it receives.
 */
export abstract class TraceExporter {
  /**
   * The AWS X-Ray exporter: spans become X-Ray segments, sent with `PutTraceSegments` or handed
   * to Lambda's X-Ray daemon (`delivery`).
   */
  public static xray(options: XRayExporterOptions = {}): TraceExporter {
    return new XRayTraceExporter(options);
  }

  /**
   * X-Ray's OpenTelemetry endpoint (`https://xray.<region>.amazonaws.com/v1/traces`), signed
   * with SigV4. Needs CloudWatch Transaction Search enabled in the account; authorized as
   * `xray:PutTraceSegments`.
   */
  public static xrayOtlp(options: XRayOtlpExporterOptions = {}): TraceExporter {
    return new XRayOtlpTraceExporter(options);
  }

  /**
   * Any OTLP/HTTP backend. The function's role gets no permission for it.
   */
  public static otlp(options: OtlpExporterOptions): TraceExporter {
    return new OtlpTraceExporter(options);
  }

  /** The exporter's contribution, validated; `path` names it in error messages. */
  public abstract bind(path: string): TraceExporterConfig;
}

/** AWS Region names, e.g. `eu-west-1`, `us-gov-west-1`, `ap-southeast-5`. */
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function validateRegion(region: string | undefined, path: string): void {
  if (region !== undefined && !Token.isUnresolved(region) && !REGION_PATTERN.test(region)) {
    throw new Error(`${path}.region: '${region}' is not an AWS Region name; use one such as 'us-east-1', or leave it unset to use the function's Region.`);
  }
}

function validateUrl(value: string | undefined, field: string, example: string): void {
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !['https:', 'http:'].includes(url.protocol)) {
    throw new Error(`${field}: '${value}' is not an http(s) URL; use one such as '${example}'.`);
  }
}

class XRayTraceExporter extends TraceExporter {
  constructor(private readonly options: XRayExporterOptions) {
    super();
  }

  public bind(path: string): TraceExporterConfig {
    const { region, indexedAttributes, indexAllAttributes, endpoint } = this.options;
    const delivery = this.options.delivery ?? XRayDelivery.API;
    if (!Object.values(XRayDelivery).includes(delivery)) {
      throw new Error(`${path}.delivery: '${delivery}' is not a delivery; use XRayDelivery.API or XRayDelivery.DAEMON.`);
    }
    if (delivery === XRayDelivery.DAEMON) {
      for (const [name, value] of Object.entries({ region, endpoint })) {
        if (value !== undefined) {
          throw new Error(`${path}.${name}: '${value}' applies to the X-Ray API, but delivery is XRayDelivery.DAEMON, whose daemon sends to the function's own Region; remove ${name}, or use XRayDelivery.API.`);
        }
      }
    }
    validateRegion(region, path);
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
    validateUrl(endpoint, `${path}.endpoint`, 'https://xray.eu-west-1.amazonaws.com');

    const settings: { [key: string]: any } = {};
    if (region !== undefined) settings.region = region;
    if (endpoint !== undefined) settings.endpoint = endpoint;
    if (indexedAttributes?.length) settings.indexed_attributes = [...indexedAttributes];
    if (indexAllAttributes) settings.index_all_attributes = true;

    if (delivery === XRayDelivery.DAEMON) {
      // The daemon uploads with the function's role: the same two actions.
      return { id: 'awsxray_daemon', settings, policyStatements: [xrayWriteStatement()], isLayerDefault: false, needsLambdaTracing: true };
    }
    return {
      id: 'awsxray',
      settings,
      policyStatements: [xrayWriteStatement()],
      isLayerDefault: Object.keys(settings).length === 0,
    };
  }
}

class XRayOtlpTraceExporter extends TraceExporter {
  constructor(private readonly options: XRayOtlpExporterOptions) {
    super();
  }

  public bind(path: string): TraceExporterConfig {
    validateRegion(this.options.region, path);
    const region = this.options.region ?? '${env:AWS_REGION}';
    return {
      id: 'otlphttp/xray',
      settings: {
        // https://docs.aws.amazon.com/xray/latest/devguide/xray-opentelemetry.html
        traces_endpoint: `https://xray.${region}.amazonaws.com/v1/traces`,
        auth: { authenticator: 'sigv4auth' },
      },
      extensions: { sigv4auth: { region, service: 'xray' } },
      // The OTLP endpoint is authorized as xray:PutTraceSegments.
      policyStatements: [xrayWriteStatement()],
      isLayerDefault: false,
    };
  }
}

class OtlpTraceExporter extends TraceExporter {
  constructor(private readonly options: OtlpExporterOptions) {
    super();
  }

  public bind(path: string): TraceExporterConfig {
    const { tracesEndpoint, headers } = this.options;
    if (tracesEndpoint === undefined) {
      throw new Error(`${path}.tracesEndpoint is missing; give the backend's OTLP/HTTP traces URL, e.g. 'https://otlp.example.com/v1/traces'.`);
    }
    validateUrl(tracesEndpoint, `${path}.tracesEndpoint`, 'https://otlp.example.com/v1/traces');
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw new Error(`${path}.headers: '${name}' is not an HTTP header name; use letters, digits and '-', e.g. 'x-api-key'.`);
      }
      if (typeof value !== 'string' || /[\r\n]/.test(value)) {
        throw new Error(`${path}.headers['${name}']: the value must be a string on one line.`);
      }
    }
    const settings: { [key: string]: any } = { traces_endpoint: tracesEndpoint };
    if (headers && Object.keys(headers).length > 0) settings.headers = { ...headers };
    return { id: 'otlphttp', settings, policyStatements: [], isLayerDefault: false };
  }
}
