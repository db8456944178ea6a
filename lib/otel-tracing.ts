import * as path from 'path';
import { Annotations, AssetStaging, CfnResource, CustomResourceProviderBase, IAspect, Stack } from 'aws-cdk-lib';
import { CfnFunction, Function as LambdaFunction, IFunction, ILayerVersion, Runtime, RuntimeFamily, SingletonFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { IConstruct } from 'constructs';
import { attachTracing, CannotTrace, Delivery, isExcluded, isTraced, markExcluded, Part, sentence } from './attach';
import { COLLECTOR_OTLP_HTTP_ENDPOINT, PRELOAD_OTLP_ENDPOINT_ENV } from './contract.generated';
import { DEFAULT_INSTRUMENTATIONS, Instrumentation, LIBRARY_PACKAGES } from './instrumentation';
import { OtelTracingOptions, OtelTracingProps } from './tracing-options';

/** What `OtelTracing.addToFunction` attached to a function. */
export interface OtelTracingAttachment {
  /** The collector extension layer added. */
  readonly collectorLayer: ILayerVersion;

  /**
   * The preload layer added, for a Node.js function.
   *
   * @default - none: the function's runtime is not Node.js
   */
  readonly preloadLayer?: ILayerVersion;

  /**
   * The service name given to the function's spans, when known at synth time.
   *
   * @default - the name Lambda generates, read at run time
   */
  readonly serviceName?: string;
}

/**
 * Traces existing Lambda functions with OpenTelemetry into AWS X-Ray, with the same result as
 * `OtelTracedFunction`.
 *
 * As an Aspect, it traces every Lambda function under the scope it is added to, including
 * functions made by other constructs and `SingletonFunction`s:
 *
 * ```ts
 * Aspects.of(this).add(new OtelTracing()); // in a stack; or Aspects.of(app) for the whole app
 * ```
 *
 * What each function gets depends on its runtime:
 * - Node.js 22 and 24: the collector and preload layers, `NODE_OPTIONS` (merged with the
 *   function's), the `OTEL_*` environment, active tracing and the X-Ray write permissions;
 * - any other runtime (Python, Java, .NET, Ruby, custom runtimes): the collector layer, its
 *   configuration, `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME` for the function's own
 *   OpenTelemetry SDK, active tracing and the permissions, with an info annotation naming the
 *   function: its spans appear only when it carries its own OpenTelemetry SDK exporting to the
 *   collector. `nodejsOnly` leaves these functions as they are.
 *
 * The function's own environment values win over these defaults. A function already traced
 * (an `OtelTracedFunction`, or one passed to `addToFunction`) is left as it is. A function that
 * cannot be traced (a Node.js runtime the preload does not list, too many layers, another tracer in
 * `NODE_OPTIONS`, a container image, a function defined only as a `CfnFunction`) gets a warning
 * naming the reason, and synth goes on; `OtelTracing.exclude()` opts a function, or a whole
 * scope, out. CDK's own handler functions (custom resource providers, `AwsCustomResource`,
 * `BucketDeployment`, the `Provider` framework, log retention) are left as they are, without a
 * warning.
 *
 * A library instrumentation (`Instrumentation.PG`, `MYSQL2`, `IOREDIS`, `REDIS`, `GRAPHQL`)
 * traces its library only when the function loads it from `node_modules`, not from an esbuild
 * bundle. The bundle of an existing `NodejsFunction` cannot be changed here, so such a function
 * gets a warning (`BUNDLED_LIBRARY_WARNING_ID`) naming the instrumentations and the fix: list
 * the libraries in its `bundling.nodeModules`, or define it as an `OtelTracedFunction`, which
 * does so.
 */
export class OtelTracing implements IAspect {
  /** The warning id of a function the Aspect cannot trace, for `Annotations.acknowledgeWarning`. */
  public static readonly WARNING_ID: string = 'cdk-lambda-otel-xray:cannotTrace';

  /**
   * The warning id of a `NodejsFunction` traced with library instrumentations, whose libraries
   * must be left out of its bundle, for `Annotations.acknowledgeWarning` once they are.
   */
  public static readonly BUNDLED_LIBRARY_WARNING_ID: string = 'cdk-lambda-otel-xray:instrumentedLibraryBundled';

  /**
   * Traces one function now, as the Aspect would, and fails on what the Aspect would only warn
   * about. Accepts a `Function` (including a `NodejsFunction`) or a `SingletonFunction`.
   *
   * A function already traced (by an earlier call, an `OtelTracedFunction` or the Aspect) is
   * left as it is, and what it was given is returned: tracing applied twice is tracing applied
   * once. A function given the collector alone (`OtelCollectorLayer.addToFunction`) keeps that
   * collector layer and gets the rest. A layer the function lists already is not added again.
   */
  public static addToFunction(fn: IFunction, options: OtelTracingOptions = {}): OtelTracingAttachment {
    const where = `OtelTracing.addToFunction('${fn.node.path}')`;
    const target = underlyingFunction(fn);
    if (target === undefined) {
      throw new Error(
        `${where}: the function is neither a lambda.Function nor a SingletonFunction (for example it is imported), ` +
        'so its layers and environment cannot be changed; pass the construct that defines it.',
      );
    }
    const already = isTraced(target);
    const attachment = attachTracing(target, options, { where, part: Part.ALL, delivery: Delivery.LAYERS });
    if (attachment.preload && !already) warnBundledLibraries(target, options, where);
    return { collectorLayer: attachment.collectorLayer!, preloadLayer: attachment.preloadLayer, serviceName: attachment.serviceName };
  }

  /**
   * Opts a function, or every function under a scope, out of the Aspect. For a
   * `SingletonFunction`, its one underlying function is opted out.
   */
  public static exclude(scope: IConstruct): void {
    markExcluded(scope);
    if (scope instanceof SingletonFunction) {
      const inner = underlyingFunction(scope);
      if (inner !== undefined) markExcluded(inner);
    }
  }

  private readonly options: OtelTracingProps;

  /**
   * @param options how every function is traced (the same options as `OtelTracedFunction`'s),
   * and which runtimes
   */
  constructor(options: OtelTracingProps = {}) {
    this.options = options;
  }

  /** Traces `node` when it is a Lambda function. */
  public visit(node: IConstruct): void {
    if (isExcluded(node) || isCdkHandler(node)) {
      return;
    }
    if (node instanceof SingletonFunction) {
      const inner = underlyingFunction(node);
      if (inner !== undefined && !isExcluded(inner) && !isCdkHandler(inner)) this.trace(inner);
      return;
    }
    if (node instanceof LambdaFunction) {
      this.trace(node);
      return;
    }
    if (isStandaloneFunctionResource(node)) {
      warn(node, `not tracing Lambda function '${node.node.path}': it is defined as a CloudFormation resource only (no lambda.Function), ` +
        'whose layers and environment this library cannot change; define it as a lambda.Function to trace it');
    }
  }

  private trace(fn: LambdaFunction): void {
    if (isTraced(fn)) {
      return;
    }
    if (this.options.nodejsOnly === true && !mayRunNodejs(fn)) {
      return;
    }
    const where = `OtelTracing: function '${fn.node.path}'`;
    try {
      const attachment = attachTracing(fn, this.options, { where, part: Part.ALL, delivery: Delivery.LAYERS });
      if (attachment.preload) {
        warnBundledLibraries(fn, this.options, where);
      } else {
        Annotations.of(fn).addInfo(
          `${where} runs ${fn.runtime.name}, which the Node.js preload does not serve, so it gets the collector layer only: ` +
          'its spans appear only if it carries its own OpenTelemetry SDK exporting OTLP/HTTP to the collector at ' +
          `${COLLECTOR_OTLP_HTTP_ENDPOINT} (the ${PRELOAD_OTLP_ENDPOINT_ENV} it is given). Without one the collector receives nothing: ` +
          'set nodejsOnly on the OtelTracing Aspect, or opt the function out with OtelTracing.exclude().');
      }
    } catch (e) {
      if (e instanceof CannotTrace) {
        warn(fn, `not tracing Lambda function '${fn.node.path}': ${e.reason}`);
        return;
      }
      throw e;
    }
  }
}

function warn(node: IConstruct, message: string): void {
  Annotations.of(node).addWarningV2(OtelTracing.WARNING_ID, `${sentence(message)} Opt it out with OtelTracing.exclude() to silence this warning.`);
}

/** Whether the function may run Node.js: its runtime is Node.js, or unknown (a container image). */
function mayRunNodejs(fn: LambdaFunction): boolean {
  return fn.runtime.family === RuntimeFamily.NODEJS || fn.runtime === Runtime.FROM_IMAGE;
}

/**
 * Warns, on a NodejsFunction, that the libraries of the chosen library instrumentations must be
 * left out of its bundle, which only its own `bundling.nodeModules` can do.
 */
function warnBundledLibraries(fn: LambdaFunction, options: OtelTracingOptions, where: string): void {
  if (!(fn instanceof NodejsFunction)) {
    return;
  }
  const chosen = [...new Set(options.instrumentations ?? DEFAULT_INSTRUMENTATIONS)]
    .filter(name => (LIBRARY_PACKAGES[name]?.unbundled.length ?? 0) > 0);
  if (chosen.length === 0) {
    return;
  }
  const members = chosen.map(name => `Instrumentation.${Object.entries(Instrumentation).find(([, v]) => v === name)?.[0] ?? name}`);
  const packages = chosen.flatMap(name => LIBRARY_PACKAGES[name].unbundled).map(name => `'${name}'`);
  Annotations.of(fn).addWarningV2(OtelTracing.BUNDLED_LIBRARY_WARNING_ID,
    `${where}: the function is a NodejsFunction, whose esbuild bundle cannot be changed once it is defined, and ${members.join(', ')} ` +
    'trace their library only when it is loaded from node_modules, not from the bundle. ' +
    `Add ${packages.join(', ')} to the function's bundling.nodeModules (those it uses), or define it as an OtelTracedFunction, which does so; ` +
    `if they are there already, acknowledge this warning (${OtelTracing.BUNDLED_LIBRARY_WARNING_ID}).`);
}

/** The lambda.Function behind a function construct, when this library can change it. */
function underlyingFunction(fn: IFunction | IConstruct): LambdaFunction | undefined {
  if (fn instanceof LambdaFunction) {
    return fn;
  }
  if (fn instanceof SingletonFunction) {
    // A SingletonFunction creates (or finds) its one Function at the stack's root and keeps it
    // in a private field, which no public member exposes.
    const inner = (fn as any).lambdaFunction;
    return inner instanceof LambdaFunction ? inner : undefined;
  }
  return undefined;
}

/** Where aws-cdk-lib is installed: its own handlers' code lies under it. */
const CDK_LIBRARY_DIR = path.dirname(require.resolve('aws-cdk-lib/package.json'));

/**
 * Whether a function (or a function resource) is one of CDK's own handlers: a custom resource
 * provider (`CustomResourceProvider`: bucket auto-delete, cross-Region references, ...), or a
 * function whose code is an asset of aws-cdk-lib or an `@aws-cdk` package (`AwsCustomResource`,
 * `BucketDeployment`, the custom resource `Provider` framework, log retention). They are CDK's
 * machinery, not the app's: the Aspect neither traces nor warns about them.
 */
function isCdkHandler(node: IConstruct): boolean {
  const owner = node instanceof LambdaFunction ? node : isStandaloneFunctionResource(node) ? node.node.scope : undefined;
  if (owner === undefined || owner instanceof Stack) {
    return false;
  }
  if (owner instanceof CustomResourceProviderBase) {
    return true;
  }
  const staging = owner.node.tryFindChild('Code')?.node.tryFindChild('Stage');
  return staging instanceof AssetStaging && isCdkSource(staging.sourcePath);
}

function isCdkSource(sourcePath: string): boolean {
  const relative = path.relative(CDK_LIBRARY_DIR, sourcePath);
  return (!relative.startsWith('..') && !path.isAbsolute(relative)) || /[\\/]node_modules[\\/](aws-cdk-lib|@aws-cdk)[\\/]/.test(sourcePath);
}

/** A Lambda function resource with no lambda.Function around it (an L1, or a custom resource provider). */
function isStandaloneFunctionResource(node: IConstruct): boolean {
  if (node instanceof CfnFunction) {
    return !(node.node.scope instanceof LambdaFunction);
  }
  return node instanceof CfnResource && node.cfnResourceType === CfnFunction.CFN_RESOURCE_TYPE_NAME;
}
