import { DockerImage, Duration, Stack, Token } from 'aws-cdk-lib';
import { Architecture, EnvironmentOptions, ILayerVersion, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { BundlingOptions, NodejsFunction, NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { collectorConfigUri } from './collector-config';
import { OtelCollectorLayer } from './collector-layer';
import {
  COLLECTOR_FLUSH_TIMEOUT_ENV, COLLECTOR_LOG_LEVEL_ENV, PRELOAD_ENABLED_INSTRUMENTATIONS_ENV, PRELOAD_OTLP_ENDPOINT_ENV, PRELOAD_SERVICE_NAME_ENV,
} from './contract.generated';
import { DEFAULT_INSTRUMENTATIONS, Instrumentation } from './instrumentation';
import { mergeNodeOptions } from './node-options';
import { OtelPreloadLayer } from './preload-layer';
import { TraceExporter } from './trace-exporter';
import { esbuildAvailable } from './util';
import {
  flushTimeoutSetting, MAX_LAYERS, validateCollectorArchitecture, validateExecWrapper, validateInstrumentations, validateLayerCount, validateRuntime,
} from './validation';


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

/** Properties of an {@link OtelTracedFunction}: those of a NodejsFunction, plus tracing. */
export interface OtelTracedFunctionProps extends NodejsFunctionProps {
  /**
   * The service name of the function's spans (`OTEL_SERVICE_NAME`), which names its segments
   * in X-Ray.
   *
   * @default - the function name: `functionName` when set, otherwise the name Lambda
   * generates, read at run time
   */
  readonly serviceName?: string;

  /**
   * The instrumentations to enable besides AWS Lambda's own, which is always on.
   * Those not listed are not loaded at all.
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
   * The collector layer to use, for example one shared across stacks or prebuilt.
   * It must be built for the function's architecture.
   *
   * @default - one layer per stack and architecture, shared by every traced function in it
   */
  readonly collectorLayer?: OtelCollectorLayer;

  /**
   * How long the collector may spend exporting an invocation's spans after the function has
   * answered. This time counts toward the function's duration, so it must be shorter than
   * `timeout`; spans not delivered by then are dropped and counted in the log.
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
   * The preload layer to use.
   *
   * @default - one layer per stack, shared by every traced function in it
   */
  readonly preloadLayer?: OtelPreloadLayer;
}

/**
 * A NodejsFunction traced with OpenTelemetry into AWS X-Ray.
 *
 * It adds the collector extension layer and the Node.js preload layer, loads the preload
 * through `NODE_OPTIONS`, turns on active tracing and grants the X-Ray write permissions.
 * Environment variables are set in this order, later ones winning:
 * 1. this construct's defaults and typed props: the preload's `OTEL_SERVICE_NAME`,
 *    `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_NODE_ENABLED_INSTRUMENTATIONS`, and the collector's
 *    configuration URI (`OtelCollectorLayer.CONFIG_URI_ENV`), flush timeout and log level;
 * 2. the `environment` prop and later `addEnvironment()` calls.
 * `NODE_OPTIONS` is the exception: the preload's `--import` is added to whatever it holds,
 * never twice.
 *
 * @example
 * new OtelTracedFunction(this, 'Api', { entry: 'src/api.ts' });
 */
export class OtelTracedFunction extends NodejsFunction {
  /** The collector extension layer attached to this function. */
  public readonly collectorLayer: OtelCollectorLayer;

  /** The preload layer attached to this function. */
  public readonly preloadLayer: OtelPreloadLayer;

  /** The service name given to the function's spans, when known at synth time. */
  public readonly serviceName?: string;

  /** Layers attached so far; undefined while the base class is being constructed. */
  private layerCount?: number;

  constructor(scope: Construct, id: string, props: OtelTracedFunctionProps = {}) {
    const where = `OtelTracedFunction '${id}'`;
    const runtime = props.runtime ?? Runtime.NODEJS_24_X;
    validateRuntime(runtime, where);
    validateLayerCount(props.layers, where);
    validateExecWrapper(props.environment, where);
    validateEsbuild(scope, props.bundling, where);

    const exporter = (props.exporter ?? TraceExporter.xray()).bind(`${where}: exporter`);
    const instrumentations = validateInstrumentations(props.instrumentations ?? DEFAULT_INSTRUMENTATIONS, where);
    const serviceName = props.serviceName ?? props.functionName;
    if (serviceName !== undefined && !Token.isUnresolved(serviceName) && serviceName.trim().length === 0) {
      throw new Error(`${where}: serviceName is empty; give a name, or leave it unset to use the function name.`);
    }

    const defaults: { [key: string]: string } = {
      [PRELOAD_OTLP_ENDPOINT_ENV]: OtelCollectorLayer.OTLP_HTTP_ENDPOINT,
      [PRELOAD_ENABLED_INSTRUMENTATIONS_ENV]: instrumentations.join(','),
      [OtelCollectorLayer.CONFIG_URI_ENV]: collectorConfigUri(exporter),
    };
    if (serviceName !== undefined) {
      defaults[PRELOAD_SERVICE_NAME_ENV] = serviceName;
    }
    if (props.collectorFlushTimeout !== undefined) {
      defaults[COLLECTOR_FLUSH_TIMEOUT_ENV] = flushTimeoutSetting(props.collectorFlushTimeout, props.timeout, where);
    }
    if (props.collectorLogLevel !== undefined) {
      defaults[COLLECTOR_LOG_LEVEL_ENV] = props.collectorLogLevel;
    }
    const environment = {
      ...defaults,
      ...props.environment,
      NODE_OPTIONS: mergeNodeOptions(props.environment?.NODE_OPTIONS, OtelPreloadLayer.NODE_OPTION, `${where}: environment.NODE_OPTIONS`),
    };

    super(scope, id, {
      ...props,
      runtime,
      environment,
      bundling: skippedBundlingImage(scope, esmBundlingDefaults(props.bundling)),
      tracing: props.tracing ?? Tracing.ACTIVE,
    });

    const architecture = props.architecture ?? Architecture.X86_64;
    this.collectorLayer = props.collectorLayer ?? OtelCollectorLayer.forStack(this, architecture);
    validateCollectorArchitecture(this.collectorLayer, architecture, where);
    this.preloadLayer = props.preloadLayer ?? OtelPreloadLayer.forStack(this);
    super.addLayers(this.collectorLayer, this.preloadLayer);
    this.layerCount = (props.layers?.length ?? 0) + 2;
    this.serviceName = serviceName;

    // Identical to the statement active tracing adds; CDK merges the two into one.
    exporter.policyStatements.forEach(statement => this.addToRolePolicy(statement));
  }

  /**
   * Adds layers after the function is created, keeping within Lambda's limit of five together
   * with the two tracing layers.
   */
  public addLayers(...layers: ILayerVersion[]): void {
    if (this.layerCount === undefined) {
      super.addLayers(...layers);
      return;
    }
    const total = this.layerCount + layers.length;
    if (total > MAX_LAYERS) {
      throw new Error(
        `OtelTracedFunction '${this.node.id}': adding ${layers.length} layer(s) makes ${total}, including the collector and preload layers; ` +
        `Lambda allows ${MAX_LAYERS}. Merge layers, or move their content into the function's bundle.`,
      );
    }
    super.addLayers(...layers);
    this.layerCount = total;
  }

  /**
   * Adds an environment variable. `NODE_OPTIONS` keeps the preload's `--import`.
   */
  public addEnvironment(key: string, value: string, options?: EnvironmentOptions): this {
    if (key === 'NODE_OPTIONS' && this.preloadLayer !== undefined) {
      return super.addEnvironment(key, mergeNodeOptions(value, OtelPreloadLayer.NODE_OPTION, `OtelTracedFunction '${this.node.id}': addEnvironment('NODE_OPTIONS')`), options);
    }
    return super.addEnvironment(key, value, options);
  }
}

/**
 * An ES module bundle has no `require`, so a CommonJS dependency bundled into it fails at import
 * ("Dynamic require of ... is not supported"). For ESM output, unless set: prefer dependencies'
 * ES module builds, and give the rest a `require` made with `createRequire`.
 */
const ESM_REQUIRE_BANNER = "import { createRequire as __otelCreateRequire } from 'module'; const require = __otelCreateRequire(import.meta.url);";

function esmBundlingDefaults(bundling: BundlingOptions | undefined): BundlingOptions | undefined {
  if (bundling?.format !== OutputFormat.ESM) {
    return bundling;
  }
  return {
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    ...bundling,
  };
}

/**
 * NodejsFunction falls back to Docker, silently, when it finds no esbuild: npm users get it
 * with this package, users of other languages install it. Bundling in Docker stays available
 * on request (`bundling.forceDockerBundling`), and a stack whose bundling is skipped (unit
 * tests, `cdk synth --exclusively` of another stack) needs none.
 */
function validateEsbuild(scope: Construct, bundling: BundlingOptions | undefined, where: string): void {
  if (bundling?.forceDockerBundling || !Stack.of(scope).bundlingRequired || esbuildAvailable()) {
    return;
  }
  throw new Error(
    `${where}: esbuild was not found, so NodejsFunction would bundle the handler in Docker. ` +
    'Install esbuild where the CDK app finds it: `npm install --global esbuild@0.28.2` (any esbuild 0.x on the PATH), ' +
    'or `npm install esbuild` in a TypeScript or JavaScript app. To bundle in Docker instead, set `bundling: { forceDockerBundling: true }`.',
  );
}

/**
 * Without an esbuild, NodejsFunction builds its bundling image (`docker build`) as it is
 * constructed, even in a stack whose bundling is skipped. The image is never used there, so a
 * placeholder that is never pulled spares unit tests a Docker engine.
 */
function skippedBundlingImage(scope: Construct, bundling: BundlingOptions | undefined): BundlingOptions | undefined {
  if (Stack.of(scope).bundlingRequired || bundling?.dockerImage !== undefined) {
    return bundling;
  }
  return { ...bundling, dockerImage: DockerImage.fromRegistry('placeholder-never-pulled') };
}
