import { IResolveContext, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Architecture, CfnFunction, Function as LambdaFunction, ILayerVersion, LayerVersion, Runtime, RuntimeFamily, Tracing } from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { collectorArchitectureProblem } from './collector-bundling';
import { collectorConfigUri } from './collector-config';
import { COLLECTOR_STACK_LAYER_ID_PREFIX, OtelCollectorLayer } from './collector-layer';
import {
  COLLECTOR_CONFIG_URI_ENV, COLLECTOR_FLUSH_TIMEOUT_ENV, COLLECTOR_LOG_LEVEL_ENV, COLLECTOR_OTLP_HTTP_ENDPOINT,
  PRELOAD_ENABLED_INSTRUMENTATIONS_ENV, PRELOAD_LOG_CORRELATION_ENV, PRELOAD_OTLP_ENDPOINT_ENV, PRELOAD_SERVICE_NAME_ENV,
} from './contract.generated';
import { DEFAULT_INSTRUMENTATIONS } from './instrumentation';
import { mergeNodeOptions } from './node-options';
import { OtelPreloadLayer, PRELOAD_STACK_LAYER_ID } from './preload-layer';
import { TraceExporter } from './trace-exporter';
import { OtelTracingOptions } from './tracing-options';
import {
  environmentSize, execWrapperProblem, flushTimeoutSetting, layerLimitProblem, MAX_ENVIRONMENT_BYTES, preloadRuntimeProblem, validateInstrumentations,
} from './validation';
import { addRoleStatement, xrayWriteStatement } from './xray-permissions';

/**
 * The one attach path: given a function, adds what its runtime needs to be traced. Used by
 * `OtelTracedFunction`, `OtelTracing.addToFunction`, the `OtelTracing` Aspect,
 * `OtelTracedDockerImageFunction` and (collector part only) `OtelCollectorLayer.addToFunction`.
 */

/**
 * A reason a function cannot be traced that lies in the function, not in the tracing options:
 * the Aspect turns it into a warning on the function and goes on; every other path throws it.
 */
export class CannotTrace extends Error {
  /** Why, as a clause without a final stop, to end a sentence or go on with another. */
  public readonly reason: string;

  constructor(where: string, reason: string) {
    const clause = withoutFinalStop(reason);
    super(`${where}: ${sentence(clause)}`);
    this.reason = clause;
    this.name = 'CannotTrace';
  }
}

/** The path a construct `id` will have under `scope`, to name it in messages before it exists. */
export function childPath(scope: IConstruct, id: string): string {
  return scope.node.path === '' ? id : `${scope.node.path}/${id}`;
}

/** Text ending in one full stop, whether or not it ended in one already. */
export function sentence(text: string): string {
  return `${withoutFinalStop(text)}.`;
}

/** Text without the full stops (and spaces) it ends with. */
function withoutFinalStop(text: string): string {
  return text.replace(/[\s.]+$/, '');
}

/** How the collector and the preload reach the function. */
export enum Delivery {
  /** As layers (zip functions). */
  LAYERS = 'layers',
  /** Already in the container image. */
  IMAGE = 'image',
}

/** What the attach path adds. */
export enum Part {
  /** The collector alone: layer, its configuration and settings, the exporter's IAM. */
  COLLECTOR = 'collector',
  /**
   * Everything the runtime needs: the collector; for the Node.js runtimes the preload lists the preload, its
   * environment and `NODE_OPTIONS`; for every runtime the OTLP endpoint and service name the
   * OpenTelemetry SDKs read, and active tracing.
   */
  ALL = 'all',
}

export interface AttachContext {
  /** Names the caller and the function in messages. */
  readonly where: string;
  readonly part: Part;
  readonly delivery: Delivery;
  /** Lambda's tracing mode, set when the function has none. @default Tracing.ACTIVE */
  readonly tracing?: Tracing;
  /** For an image, whether it holds the preload (the runtime of an image is unknown). */
  readonly imagePreload?: boolean;
}

/** What was attached. */
export interface Attachment {
  readonly collectorLayer?: ILayerVersion;
  readonly preloadLayer?: ILayerVersion;
  readonly serviceName?: string;
  readonly preload: boolean;
}

const TRACED = Symbol.for('cdk-lambda-otel-xray.traced');
const EXCLUDED = Symbol.for('cdk-lambda-otel-xray.excluded');

/** What the attach path gave a function, and which part. */
interface Traced {
  readonly part: Part;
  readonly attachment: Attachment;
}

function tracedAs(fn: IConstruct): Traced | undefined {
  return (fn as any)[TRACED];
}

/** Whether a function was already traced by this library (fully, or the collector alone). */
export function isTraced(fn: IConstruct): boolean {
  return tracedAs(fn) !== undefined;
}

/** Marks a construct and everything under it as not to be traced by the Aspect. */
export function markExcluded(scope: IConstruct): void {
  Object.defineProperty(scope, EXCLUDED, { value: true, configurable: true });
}

/** Whether the construct or one of its scopes was excluded. */
export function isExcluded(node: IConstruct): boolean {
  return node.node.scopes.some(scope => (scope as any)[EXCLUDED] === true);
}

/** The function's environment as synthesized so far (values resolved), or a reason it cannot be read. */
function readEnvironment(fn: LambdaFunction, where: string): { [key: string]: unknown } {
  const cfn = fn.node.defaultChild as CfnFunction;
  try {
    const resolved = Stack.of(fn).resolve(cfn.environment);
    return resolved?.variables ?? {};
  } catch (e) {
    throw new CannotTrace(where,
      `its environment cannot be read at synth time (${withoutFinalStop((e as Error).message)}); give its environment values that resolve at synth`);
  }
}

/** The function's layers so far, each as its resolved ARN (a string or an intrinsic), to compare. */
function layerKeys(fn: LambdaFunction, where: string): string[] {
  const cfn = fn.node.defaultChild as CfnFunction;
  try {
    const resolved = Stack.of(fn).resolve(cfn.layers);
    return Array.isArray(resolved) ? resolved.map(arn => JSON.stringify(arn)) : [];
  } catch (e) {
    throw new CannotTrace(where,
      `its layers cannot be read at synth time (${withoutFinalStop((e as Error).message)}); give it layers whose ARNs resolve at synth`);
  }
}

/** A layer as `layerKeys` lists it. */
function layerKey(fn: LambdaFunction, layer: ILayerVersion): string {
  return JSON.stringify(Stack.of(fn).resolve(layer.layerVersionArn));
}

/** The architecture of a collector layer: its own, or the one the user states; a mismatch is an error. */
function collectorArchitecture(layer: ILayerVersion, stated: Architecture | undefined, where: string): Architecture {
  if (layer instanceof OtelCollectorLayer) {
    if (stated !== undefined && stated.name !== layer.architecture.name) {
      throw new Error(
        `${where}: collectorLayerArchitecture is ${stated.name} but collectorLayer is an OtelCollectorLayer built for ${layer.architecture.name}; ` +
        'leave collectorLayerArchitecture unset (it is read from the layer), or pass a layer built for the other architecture.',
      );
    }
    return layer.architecture;
  }
  if (stated === undefined) {
    throw new Error(
      `${where}: collectorLayer '${layer.node.path}' is not an OtelCollectorLayer, so its architecture cannot be known at synth; ` +
      'state it with collectorLayerArchitecture (Architecture.X86_64 or Architecture.ARM_64).',
    );
  }
  return stated;
}

/**
 * Adds to `fn` what its runtime needs to be traced, as `context.part` says. Everything is
 * checked before the function is changed: a `CannotTrace` leaves it as it was.
 *
 * @throws CannotTrace for what lies in the function (runtime, layers, another tracer)
 * @throws Error for a bad option (exporter, flush timeout, layer architecture, service name)
 */
export function attachTracing(fn: LambdaFunction, options: OtelTracingOptions, context: AttachContext): Attachment {
  const { where, part, delivery } = context;
  const all = part === Part.ALL;

  // Tracing applied twice is tracing applied once; the collector alone can be completed.
  const previous = tracedAs(fn);
  if (previous !== undefined && (previous.part === Part.ALL || part === Part.COLLECTOR)) {
    return previous.attachment;
  }

  // What the runtime allows.
  if (delivery === Delivery.LAYERS && fn.runtime === Runtime.FROM_IMAGE) {
    throw new CannotTrace(where,
      'the function is a container image, and container images cannot use layers. Build it with OtelTracedDockerImageFunction, ' +
      'which puts the collector and the preload into the image, or copy them into the image yourself (see the README, "Container-image functions")');
  }
  let preload = false;
  if (all) {
    if (delivery === Delivery.IMAGE) {
      preload = context.imagePreload ?? true;
    } else {
      preload = fn.runtime.family === RuntimeFamily.NODEJS;
      const problem = preload ? preloadRuntimeProblem(fn.runtime) : undefined;
      if (problem !== undefined) {
        throw new CannotTrace(where, problem);
      }
    }
  }

  const existing = readEnvironment(fn, where);
  const wrapperProblem = all ? execWrapperProblem(existing.AWS_LAMBDA_EXEC_WRAPPER) : undefined;
  if (wrapperProblem !== undefined) {
    throw new CannotTrace(where, wrapperProblem);
  }
  let nodeOptions: string | undefined;
  if (preload) {
    const current = existing.NODE_OPTIONS;
    if (current !== undefined && typeof current !== 'string') {
      throw new CannotTrace(where, 'environment.NODE_OPTIONS is not known at synth time, so the preload cannot be added to it; give it as a plain string');
    }
    try {
      nodeOptions = mergeNodeOptions(current, OtelPreloadLayer.NODE_OPTION, `${where}: environment.NODE_OPTIONS`);
    } catch (e) {
      throw new CannotTrace(where, (e as Error).message.slice(`${where}: `.length));
    }
  }

  // Layers already on the function (by an earlier call, or listed by the user) are not added again.
  const present = delivery === Delivery.LAYERS ? layerKeys(fn, where) : [];
  const earlierCollector = previous?.attachment.collectorLayer;
  const otherCollector = options.collectorLayer !== undefined && earlierCollector !== undefined &&
    layerKey(fn, options.collectorLayer) !== layerKey(fn, earlierCollector);
  if (otherCollector) {
    throw new Error(
      `${where}: the function already has the collector layer '${earlierCollector!.node.path}' (from OtelCollectorLayer.addToFunction), ` +
      `and collectorLayer is another one, '${options.collectorLayer!.node.path}'; a function takes one collector. ` +
      'Leave collectorLayer unset, or pass the same layer to both calls.');
  }
  const onFunction = (layer: ILayerVersion | undefined) => layer !== undefined && present.includes(layerKey(fn, layer));
  const needCollector = delivery === Delivery.LAYERS && earlierCollector === undefined &&
    !onFunction(options.collectorLayer ?? existingStackLayer(fn, `${COLLECTOR_STACK_LAYER_ID_PREFIX}${fn.architecture.name}`));
  const needPreload = delivery === Delivery.LAYERS && preload &&
    !onFunction(options.preloadLayer ?? existingStackLayer(fn, PRELOAD_STACK_LAYER_ID));
  const needed = (needCollector ? 1 : 0) + (needPreload ? 1 : 0);
  const which = needCollector && needPreload ? 'the collector and preload layers' : needCollector ? 'the collector layer' : 'the preload layer';
  const layerProblem = layerLimitProblem(present.length, needed, which);
  if (layerProblem !== undefined) {
    throw new CannotTrace(where, layerProblem);
  }

  const architectureProblem = needCollector && options.collectorLayer === undefined ? collectorArchitectureProblem(fn.architecture) : undefined;
  if (architectureProblem !== undefined) {
    throw new CannotTrace(where, `its ${architectureProblem}`);
  }
  if (needCollector) checkLayerRegion(fn, options.collectorLayer, 'collectorLayer', where);
  if (needPreload) checkLayerRegion(fn, options.preloadLayer, 'preloadLayer', where);

  // The options (errors, not reasons: they are the caller's).
  const exporter = (options.exporter ?? TraceExporter.xray()).bind(`${where}: exporter`);
  const defaults: { [key: string]: string } = { [COLLECTOR_CONFIG_URI_ENV]: collectorConfigUri(exporter) };
  const flushTimeout = flushTimeoutSetting(options.collectorFlushTimeout, fn.timeout, where,
    message => new CannotTrace(where, message.slice(`${where}: `.length)));
  if (flushTimeout !== undefined) {
    defaults[COLLECTOR_FLUSH_TIMEOUT_ENV] = flushTimeout;
  }
  if (options.collectorLogLevel !== undefined) {
    defaults[COLLECTOR_LOG_LEVEL_ENV] = options.collectorLogLevel;
  }
  let serviceName: string | undefined;
  if (all) {
    defaults[PRELOAD_OTLP_ENDPOINT_ENV] = COLLECTOR_OTLP_HTTP_ENDPOINT;
    serviceName = options.serviceName ?? (fn.node.defaultChild as CfnFunction).functionName;
    if (serviceName !== undefined && !Token.isUnresolved(serviceName) && serviceName.trim().length === 0) {
      throw new Error(`${where}: serviceName is empty; give a name, or leave it unset to use the function name.`);
    }
    if (serviceName !== undefined) {
      defaults[PRELOAD_SERVICE_NAME_ENV] = serviceName;
    }
  }
  if (preload) {
    const instrumentations = validateInstrumentations(options.instrumentations ?? DEFAULT_INSTRUMENTATIONS, where);
    defaults[PRELOAD_ENABLED_INSTRUMENTATIONS_ENV] = instrumentations.join(',');
    // On by default in the preload: only the opt-out is written.
    if (options.logCorrelation === false) {
      defaults[PRELOAD_LOG_CORRELATION_ENV] = 'false';
    }
  }
  const added = Object.fromEntries(Object.entries(defaults).filter(([key]) => !(key in existing)));
  if (nodeOptions !== undefined && nodeOptions !== existing.NODE_OPTIONS) {
    added.NODE_OPTIONS = nodeOptions;
  }
  const resolvedAdded = Stack.of(fn).resolve(added) ?? {};
  const tooLarge = environmentTooLarge({ ...existing, ...resolvedAdded }, Object.keys(resolvedAdded), false);
  if (tooLarge !== undefined) {
    throw new CannotTrace(where, tooLarge);
  }

  if (exporter.needsLambdaTracing && !lambdaTracingOn(fn, all ? context.tracing ?? Tracing.ACTIVE : undefined)) {
    throw new CannotTrace(where,
      'its tracing is off, and the exporter\'s delivery XRayDelivery.DAEMON hands segments to the X-Ray daemon, which Lambda runs only with tracing on; ' +
      'set the function\'s tracing to Tracing.ACTIVE (or Tracing.PASS_THROUGH), or use XRayDelivery.API');
  }

  let collectorLayer: ILayerVersion | undefined;
  let preloadLayer: ILayerVersion | undefined;
  if (delivery === Delivery.LAYERS) {
    collectorLayer = earlierCollector ?? options.collectorLayer ?? OtelCollectorLayer.forStack(fn, fn.architecture);
    const architecture = collectorArchitecture(collectorLayer, options.collectorLayerArchitecture, where);
    if (architecture.name !== fn.architecture.name) {
      throw new Error(
        `${where}: collectorLayer is built for ${architecture.name} but the function runs on ${fn.architecture.name}; ` +
        `use a layer built with architecture ${fn.architecture.name}, or leave collectorLayer unset.`,
      );
    }
    if (preload) {
      preloadLayer = options.preloadLayer ?? OtelPreloadLayer.forStack(fn);
    }
  }

  // Every check passed: change the function.
  const layers = [needCollector ? collectorLayer : undefined, needPreload ? preloadLayer : undefined]
    .filter((layer): layer is ILayerVersion => layer !== undefined);
  if (layers.length > 0) {
    fn.addLayers(...layers);
  }
  for (const [key, value] of Object.entries(added)) {
    fn.addEnvironment(key, value);
  }
  validateEnvironmentAtSynth(fn, where);
  if (preload) {
    keepPreloadInNodeOptions(fn, where);
  }
  exporter.policyStatements.forEach(statement => addRoleStatement(fn, statement));
  if (all) {
    setTracing(fn, context.tracing ?? Tracing.ACTIVE);
  }
  const attachment: Attachment = { collectorLayer, preloadLayer, serviceName, preload };
  Object.defineProperty(fn, TRACED, { value: { part, attachment } satisfies Traced, configurable: true });
  return attachment;
}

/**
 * Lambda attaches layers of the function's own Region only. A layer given as an option must
 * be in it, when both Regions are known at synth: the Region in the layer's ARN, else of the
 * stack that defines it.
 */
function checkLayerRegion(fn: LambdaFunction, layer: ILayerVersion | undefined, prop: string, where: string): void {
  if (layer === undefined) {
    return;
  }
  const functionRegion = Stack.of(fn).region;
  const arnRegion = Token.isUnresolved(layer.layerVersionArn) ? undefined : /^arn:[^:]+:lambda:([^:]+):/.exec(layer.layerVersionArn)?.[1];
  const layerRegion = arnRegion ?? layer.env.region;
  if (Token.isUnresolved(functionRegion) || Token.isUnresolved(layerRegion) || layerRegion === functionRegion) {
    return;
  }
  throw new CannotTrace(where,
    `${prop} '${layer.node.path}' is in ${layerRegion} but the function is in ${functionRegion}, and Lambda attaches layers of the ` +
    `function's own Region only; give a layer published in ${functionRegion}, or leave ${prop} unset to use the stack's own`);
}

/** The stack's shared layer of that id, if it was made already (looked up, never created). */
function existingStackLayer(fn: LambdaFunction, id: string): ILayerVersion | undefined {
  const child = Stack.of(fn).node.tryFindChild(id);
  return child instanceof LayerVersion ? child : undefined;
}

/** The variables this library may set (`NODE_OPTIONS` aside, which it shares with the function). */
const TRACING_VARIABLES = [
  COLLECTOR_CONFIG_URI_ENV, COLLECTOR_FLUSH_TIMEOUT_ENV, COLLECTOR_LOG_LEVEL_ENV,
  PRELOAD_OTLP_ENDPOINT_ENV, PRELOAD_SERVICE_NAME_ENV, PRELOAD_ENABLED_INSTRUMENTATIONS_ENV, PRELOAD_LOG_CORRELATION_ENV,
];

/**
 * Lambda's limit on the environment: why `variables` break it, or `undefined` when they fit.
 * `tracingKeys` are the variables this library adds, whose share the reason states.
 */
function environmentTooLarge(variables: { [key: string]: unknown }, tracingKeys: string[], synthesized: boolean): string | undefined {
  const { bytes, unresolved } = environmentSize(variables);
  if (bytes <= MAX_ENVIRONMENT_BYTES) {
    return undefined;
  }
  const others = Object.fromEntries(Object.entries(variables).filter(([key]) => !tracingKeys.includes(key)));
  const ours = bytes - environmentSize(others).bytes;
  const estimate = unresolved.length === 0 ? '' :
    `, counting only the literal text of ${unresolved.join(', ')}, whose value is known at deploy time`;
  return `its environment ${synthesized ? 'is' : 'would be'} ${bytes} bytes (the JSON of its variables${estimate}), ` +
    `${ours} of them for tracing (${tracingKeys.join(', ')}), and Lambda allows ${MAX_ENVIRONMENT_BYTES} (4 KB). ` +
    'Shorten the function\'s own variables, or move large values to SSM Parameter Store or Secrets Manager and read them at run time; ' +
    'a large exporter configuration (indexedAttributes, headers) counts too';
}

const SIZE_VALIDATED = Symbol.for('cdk-lambda-otel-xray.environmentSizeValidated');

/**
 * Checks Lambda's limit again on the environment as synthesized, which variables added after
 * tracing (`addEnvironment`) may have grown.
 */
function validateEnvironmentAtSynth(fn: LambdaFunction, where: string): void {
  if ((fn as any)[SIZE_VALIDATED] === true) {
    return;
  }
  Object.defineProperty(fn, SIZE_VALIDATED, { value: true, configurable: true });
  fn.node.addValidation({
    validate: () => {
      const variables = readEnvironment(fn, where);
      const tracingKeys = Object.keys(variables).filter(key => TRACING_VARIABLES.includes(key) || key === 'NODE_OPTIONS');
      const reason = environmentTooLarge(variables, tracingKeys, true);
      return reason === undefined ? [] : [`${where}: ${sentence(reason)}`];
    },
  });
}

const PRELOAD_KEPT = Symbol.for('cdk-lambda-otel-xray.preloadKept');

/**
 * `addEnvironment('NODE_OPTIONS', ...)` after tracing replaces the value, which would drop the
 * preload's `--import` and leave the function silently untraced. The function's environment is
 * rendered through a value that adds the preload to whatever `NODE_OPTIONS` holds at synth;
 * what cannot take it (another tracer, a value known only at deploy time) fails synth.
 */
function keepPreloadInNodeOptions(fn: LambdaFunction, where: string): void {
  if ((fn as any)[PRELOAD_KEPT] === true) {
    return;
  }
  Object.defineProperty(fn, PRELOAD_KEPT, { value: true, configurable: true });
  const cfn = fn.node.defaultChild as CfnFunction;
  const rendered = cfn.environment;
  const merge = (environment: any): { merged?: any; problem?: string } => {
    const current = environment?.variables?.NODE_OPTIONS;
    if (current !== undefined && typeof current !== 'string') {
      return { problem: `${where}: NODE_OPTIONS is not known at synth time, so the preload cannot be added to it; give it as a plain string.` };
    }
    try {
      const value = mergeNodeOptions(current, OtelPreloadLayer.NODE_OPTION, `${where}: environment.NODE_OPTIONS`);
      return { merged: value === current ? environment : { ...environment, variables: { ...environment?.variables, NODE_OPTIONS: value } } };
    } catch (e) {
      return { problem: (e as Error).message };
    }
  };
  cfn.environment = Lazy.uncachedAny({
    produce: (context: IResolveContext) => {
      const environment = context.resolve(rendered);
      return merge(environment).merged ?? environment;
    },
  });
  fn.node.addValidation({
    validate: () => {
      const problem = merge(Stack.of(fn).resolve(rendered)).problem;
      return problem === undefined ? [] : [problem];
    },
  });
}

/**
 * Whether Lambda's tracing will be on for the function: its own mode, else the one tracing sets
 * (`setting`, for a function that gets the whole of tracing). A mode given as a Token counts as on.
 */
function lambdaTracingOn(fn: LambdaFunction, setting: Tracing | undefined): boolean {
  const configured = (fn.node.defaultChild as CfnFunction).tracingConfig;
  if (configured !== undefined) {
    if (Token.isUnresolved(configured)) return true;
    const mode = (configured as CfnFunction.TracingConfigProperty).mode;
    return mode === undefined || Token.isUnresolved(mode) || mode !== 'Disabled';
  }
  return setting !== undefined && setting !== Tracing.DISABLED;
}

/**
 * Lambda's tracing mode, when the function has none (a Function records none for
 * `Tracing.DISABLED` or an unset `tracing`), with the statement Lambda needs to send its own
 * segments: the one a Function adds for its `tracing` prop, which CDK merges with the exporter's.
 */
function setTracing(fn: LambdaFunction, tracing: Tracing): void {
  const cfn = fn.node.defaultChild as CfnFunction;
  if (tracing === Tracing.DISABLED || cfn.tracingConfig !== undefined) {
    return;
  }
  cfn.tracingConfig = { mode: tracing };
  addRoleStatement(fn, xrayWriteStatement());
}
