import * as path from 'path';
import { Annotations, DockerImage, Stack } from 'aws-cdk-lib';
import { EnvironmentOptions, ILayerVersion, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { BundlingOptions, NodejsFunction, NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { attachTracing, childPath, Delivery, Part } from './attach';
import { DEFAULT_INSTRUMENTATIONS, Instrumentation, LIBRARY_PACKAGES } from './instrumentation';
import { mergeNodeOptions } from './node-options';
import { OtelPreloadLayer } from './preload-layer';
import { TraceExporter } from './trace-exporter';
import { OtelTracingOptions } from './tracing-options';
import { esbuildAvailable } from './util';
import { layerLimitProblem, packageAvailable, validateExecWrapper, validateInstrumentations, validateLayerCount, validateRuntime } from './validation';

/**
 * Properties of an {@link OtelTracedFunction}: those of a NodejsFunction, plus how it is
 * traced (the same options as `OtelTracing`).
 */
export interface OtelTracedFunctionProps extends NodejsFunctionProps, OtelTracingOptions {
}

/**
 * A NodejsFunction traced with OpenTelemetry into AWS X-Ray.
 *
 * It adds the collector extension layer and the Node.js preload layer, loads the preload
 * through `NODE_OPTIONS`, turns on active tracing and grants the X-Ray write permissions: what
 * `OtelTracing.addToFunction` adds to any Node.js function.
 * Environment variables are set in this order, later ones winning:
 * 1. this construct's defaults and typed props: the preload's `OTEL_SERVICE_NAME`,
 *    `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_NODE_ENABLED_INSTRUMENTATIONS`, and the collector's
 *    configuration URI (`OtelCollectorLayer.CONFIG_URI_ENV`), flush timeout and log level;
 * 2. the `environment` prop and later `addEnvironment()` calls.
 * `NODE_OPTIONS` is the exception: the preload's `--import` is added to whatever it holds,
 * never twice.
 *
 * A library instrumentation (`Instrumentation.PG`, `MYSQL2`, `IOREDIS`, `REDIS`, `GRAPHQL`)
 * hooks its library as Node.js loads it from `node_modules`, which it cannot do inside the
 * esbuild bundle: each chosen library is added to `bundling.nodeModules` (after the modules
 * given there, once; not when `bundling.nodeModules` or `bundling.externalModules` already
 * covers it), so that NodejsFunction installs it beside the bundle, at the version of the
 * project's lock file. A chosen instrumentation whose library the project has neither installed
 * nor listed in a `package.json` gets a warning (`LIBRARY_NOT_FOUND_WARNING_ID`) and changes
 * nothing in the bundle.
 *
 * @example
 * new OtelTracedFunction(this, 'Api', { entry: 'src/api.ts' });
 */
export class OtelTracedFunction extends NodejsFunction {
  /**
   * The warning id of a chosen library instrumentation whose library the function's project does
   * not have, for `Annotations.acknowledgeWarning`.
   */
  public static readonly LIBRARY_NOT_FOUND_WARNING_ID: string = 'cdk-lambda-otel-xray:instrumentedLibraryNotFound';

  /** The collector extension layer attached to this function. */
  public readonly collectorLayer: ILayerVersion;

  /** The preload layer attached to this function. */
  public readonly preloadLayer: ILayerVersion;

  /** The service name given to the function's spans, when known at synth time. */
  public readonly serviceName?: string;

  /** Layers attached so far; undefined while the function is being constructed. */
  private layerCount?: number;

  constructor(scope: Construct, id: string, props: OtelTracedFunctionProps = {}) {
    const where = `OtelTracedFunction '${childPath(scope, id)}'`;
    const runtime = props.runtime ?? Runtime.NODEJS_24_X;
    // Checked before bundling, so that bad props fail fast; the attach path checks again.
    validateRuntime(runtime, where);
    validateLayerCount(props.layers, where);
    validateExecWrapper(props.environment, where);
    mergeNodeOptions(props.environment?.NODE_OPTIONS, OtelPreloadLayer.NODE_OPTION, `${where}: environment.NODE_OPTIONS`);
    validateEsbuild(scope, props.bundling, where);
    (props.exporter ?? TraceExporter.xray()).bind(`${where}: exporter`);
    const instrumentations = validateInstrumentations(props.instrumentations ?? DEFAULT_INSTRUMENTATIONS, where);
    const libraries = libraryBundling(instrumentations, props);

    const tracing = props.tracing ?? Tracing.ACTIVE;
    super(scope, id, {
      ...props,
      runtime,
      bundling: skippedBundlingImage(scope, esmBundlingDefaults(libraries.bundling)),
      tracing,
    });
    for (const { instrumentation, packages } of libraries.missing) {
      const member = `Instrumentation.${enumMemberName(instrumentation)}`;
      Annotations.of(this).addWarningV2(OtelTracedFunction.LIBRARY_NOT_FOUND_WARNING_ID,
        `${where}: instrumentations includes ${member}, but the function's project does not have ${packages.join(' or ')}: ` +
        `not installed (node_modules) and not listed in a package.json, looking up from ${libraries.directories.join(', ')}. ` +
        `The instrumentation traces nothing without it. Add ${packages[0]} to the dependencies of the function's package.json ` +
        `(npm install ${packages[0]}), or remove ${member} from instrumentations.`);
    }

    const attachment = attachTracing(this, props, { where, part: Part.ALL, delivery: Delivery.LAYERS, tracing });
    this.collectorLayer = attachment.collectorLayer!;
    this.preloadLayer = attachment.preloadLayer!;
    this.serviceName = attachment.serviceName;
    this.layerCount = (props.layers?.length ?? 0) + 2;
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
    const problem = layerLimitProblem(this.layerCount, layers.length, 'the layers added', 'counting the collector and preload layers, it has');
    if (problem !== undefined) {
      throw new Error(`OtelTracedFunction '${this.node.path}': ${problem}.`);
    }
    super.addLayers(...layers);
    this.layerCount += layers.length;
  }

  /**
   * Adds an environment variable. `NODE_OPTIONS` keeps the preload's `--import`, added to the
   * value when the app is synthesized, as on every traced function.
   */
  public addEnvironment(key: string, value: string, options?: EnvironmentOptions): this {
    return super.addEnvironment(key, value, options);
  }
}

/** What the chosen library instrumentations change in the bundling, and which libraries are missing. */
interface LibraryBundling {
  readonly bundling: BundlingOptions | undefined;
  readonly missing: Array<{ instrumentation: Instrumentation; packages: string[] }>;
  readonly directories: string[];
}

/**
 * Adds the packages of the chosen library instrumentations that the project has to
 * `bundling.nodeModules`, after the user's, unless `nodeModules` or `externalModules` (whose
 * patterns may end in `*`, as esbuild's do) already covers them. A package `externalModules`
 * covers is provided some other way (a layer): it is neither added nor looked for.
 */
function libraryBundling(instrumentations: Instrumentation[], props: OtelTracedFunctionProps): LibraryBundling {
  const bundling = props.bundling;
  const directories = projectDirectories(props);
  const handled = [...(bundling?.nodeModules ?? []), ...(bundling?.externalModules ?? [])];
  const covered = (name: string) => handled.some(pattern => pattern === name || (pattern.includes('*') && globMatches(pattern, name)));
  const added: string[] = [];
  const missing: LibraryBundling['missing'] = [];
  for (const instrumentation of instrumentations) {
    const packages = LIBRARY_PACKAGES[instrumentation];
    if (packages === undefined || packages.required.some(covered)) {
      continue;
    }
    const available = packages.required.filter(name => packageAvailable(name, directories));
    if (available.length === 0) {
      missing.push({ instrumentation, packages: packages.required });
      continue;
    }
    added.push(...packages.unbundled.filter(name => available.includes(name) && !covered(name) && !added.includes(name)));
  }
  if (added.length === 0) {
    return { bundling, missing, directories };
  }
  return { bundling: { ...bundling, nodeModules: [...(bundling?.nodeModules ?? []), ...added] }, missing, directories };
}

/**
 * Where the function's packages come from: the directories of its entry, `projectRoot` and
 * `depsLockFilePath` as given, else the working directory (from which NodejsFunction looks for
 * the lock file); each is searched up to the root.
 */
function projectDirectories(props: OtelTracedFunctionProps): string[] {
  const directories = [
    props.entry === undefined ? undefined : path.dirname(path.resolve(props.entry)),
    props.projectRoot === undefined ? undefined : path.resolve(props.projectRoot),
    props.depsLockFilePath === undefined ? undefined : path.dirname(path.resolve(props.depsLockFilePath)),
  ].filter((dir): dir is string => dir !== undefined);
  return directories.length > 0 ? [...new Set(directories)] : [process.cwd()];
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.split('*').map(part => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`).test(name);
}

function enumMemberName(value: Instrumentation): string {
  return Object.entries(Instrumentation).find(([, v]) => v === value)?.[0] ?? value;
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
