import { Duration } from 'aws-cdk-lib';
import { Architecture, ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Instrumentation } from './instrumentation';
import { TraceExporter } from './trace-exporter';

/** Log levels of the collector extension. */
export enum CollectorLogLevel {
  /** Every export, with span counts. */
  DEBUG = 'debug',
  /** Start-up, drops and failures. */
  INFO = 'info',
  /** Drops and failures. */
  WARN = 'warn',
  /** Failures only. */
  ERROR = 'error',
}

/**
 * How a function is traced, whatever delivers the collector and the preload to it (layers or
 * a container image). Each setting means the same on every path: `OtelTracedFunction`,
 * `OtelTracing.addToFunction`, the `OtelTracing` Aspect and `OtelTracedDockerImageFunction`.
 */
export interface OtelTracingSettings {
  /**
   * The service name of the function's spans (`OTEL_SERVICE_NAME`), which names its segments
   * in X-Ray. Every OpenTelemetry SDK reads it, so it applies to functions of any runtime.
   *
   * @default - the function name, for every runtime: `functionName` when set, otherwise the
   * name Lambda generates, read at run time (`AWS_LAMBDA_FUNCTION_NAME`) by the preload for
   * Node.js and by the collector for other runtimes, whose SDK names spans `unknown_service`
   */
  readonly serviceName?: string;

  /**
   * The instrumentations the Node.js preload enables besides AWS Lambda's own, which is always
   * on. Those not listed are not loaded at all. Functions of other runtimes ignore it.
   *
   * @default [Instrumentation.HTTP, Instrumentation.UNDICI, Instrumentation.AWS_SDK]
   */
  readonly instrumentations?: Instrumentation[];

  /**
   * Where the collector extension sends spans.
   *
   * @default TraceExporter.xray() - AWS X-Ray in the function's Region
   */
  readonly exporter?: TraceExporter;

  /**
   * How long the collector may spend exporting an invocation's spans after the function has
   * answered. This time counts toward the function's duration, so it must be shorter than
   * the function's timeout; spans not delivered by then are dropped and counted in the log.
   * Unset, for a function whose timeout is 2 seconds or less, it is half the function's
   * timeout, so that the export always fits in it.
   *
   * @default Duration.seconds(2)
   */
  readonly collectorFlushTimeout?: Duration;

  /**
   * The collector's log level.
   *
   * @default CollectorLogLevel.INFO
   */
  readonly collectorLogLevel?: CollectorLogLevel;

  /**
   * Whether the Node.js preload adds the trace and span IDs to each console line written during
   * a traced invocation: with Lambda's JSON log format as the fields `traceId` (X-Ray form,
   * `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`) and `spanId`, with the text format as a tab and
   * `trace_id=<X-Ray trace ID> span_id=<span ID>` at the end of the line. `false` sets
   * `OTEL_NODE_LOG_CORRELATION=false`, leaving lines as the runtime writes them. Functions of
   * other runtimes ignore it.
   *
   * @default true
   */
  readonly logCorrelation?: boolean;
}

/** How a function is traced with layers: the settings, and the layers to use. */
export interface OtelTracingOptions extends OtelTracingSettings {
  /**
   * The collector layer to use: an `OtelCollectorLayer` (for example one shared across
   * stacks), or any layer version with the same content, such as one imported by ARN. It must
   * be built for the function's architecture; for a layer that is not an `OtelCollectorLayer`,
   * state its architecture with `collectorLayerArchitecture`.
   *
   * @default - one layer per stack and architecture, shared by every traced function in it
   */
  readonly collectorLayer?: ILayerVersion;

  /**
   * The architecture `collectorLayer` is built for. Needed when `collectorLayer` is not an
   * `OtelCollectorLayer` (for example imported with `LayerVersion.fromLayerVersionArn`), since
   * the construct cannot read it from such a layer; when given for an `OtelCollectorLayer`, it
   * must match the layer's.
   *
   * @default - the architecture of the `OtelCollectorLayer` given, or of the stack's layer
   */
  readonly collectorLayerArchitecture?: Architecture;

  /**
   * The preload layer to use for Node.js functions: an `OtelPreloadLayer`, or any layer
   * version with the same content, such as one imported by ARN. It serves both architectures.
   *
   * @default - one layer per stack, shared by every traced function in it
   */
  readonly preloadLayer?: ILayerVersion;
}

/** How the `OtelTracing` Aspect traces the functions it visits: the options, and which runtimes. */
export interface OtelTracingProps extends OtelTracingOptions {
  /**
   * Whether the Aspect traces Node.js functions only, leaving functions of other runtimes
   * (Python, Java, .NET, Ruby, custom runtimes) as they are.
   *
   * A function of another runtime gets the collector layer, its settings, the SDK environment
   * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`), active tracing and the permissions, and
   * an info annotation saying so: its spans appear only when it carries its own OpenTelemetry
   * SDK exporting OTLP/HTTP to the collector. Without one, the collector extension starts with
   * each execution environment and receives nothing. `true` skips such functions;
   * `OtelTracing.exclude()` skips one function, and `OtelTracing.addToFunction` traces one
   * whatever this setting.
   *
   * @default false - functions of every runtime are traced: a function of another runtime with
   * its own OpenTelemetry SDK is traced by the Aspect alone, and skipping it by default would
   * end its traces without a word; the info annotation names each such function
   */
  readonly nodejsOnly?: boolean;
}
