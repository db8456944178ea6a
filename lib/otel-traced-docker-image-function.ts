import * as fs from 'fs';
import * as path from 'path';
import { AssetStaging, FileSystem, Stack } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { Architecture, AssetImageCodeProps, DockerImageCode, DockerImageFunction, FunctionOptions, Tracing } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { attachTracing, childPath, Delivery, Part } from './attach';
import { goArch } from './collector-bundling';
import { prebuiltCollectorDirectory } from './collector-prebuilt';
import { PRELOAD_LAYER_DIR } from './preload-layer';
import { OtelTracingSettings } from './tracing-options';

/** Properties of an {@link OtelTracedDockerImageFunction}. */
export interface OtelTracedDockerImageFunctionProps extends FunctionOptions, OtelTracingSettings {
  /**
   * The directory of the function's image: its Dockerfile and build context. The Dockerfile
   * copies the collector (and, for Node.js, the preload) from this construct's named build
   * contexts: see `OtelTracedDockerImageFunction.dockerfileInstructions()`.
   */
  readonly directory: string;

  /**
   * Options of the image build (Dockerfile name, build arguments, target, ...). The platform
   * defaults to the function's architecture; the build contexts `otel-collector` and
   * `otel-preload` are added to those given.
   *
   * @default - the `Dockerfile` in `directory`, built for the function's architecture
   */
  readonly imageOptions?: AssetImageCodeProps;

  /**
   * Whether the image runs a Node.js 22 or newer handler, which the preload traces. Set it to
   * `false` for other runtimes (Python, Java, ...), whose own OpenTelemetry SDK exports to the
   * collector: the image then copies the collector only.
   *
   * @default true
   */
  readonly preload?: boolean;
}

/**
 * A container-image Lambda function traced with OpenTelemetry into AWS X-Ray.
 *
 * Container images cannot use layers, so the image holds what the layers would: its Dockerfile
 * copies the prebuilt collector, and for Node.js the preload, from two named build contexts
 * this construct passes to `docker build` (`--build-context otel-collector=...`, which needs
 * BuildKit, the default builder since Docker 23). Synth checks that the Dockerfile does. The
 * function gets the same environment, active tracing and IAM permissions as an
 * `OtelTracedFunction`.
 *
 * @example
 * new OtelTracedDockerImageFunction(this, 'Api', { directory: 'image' });
 */
export class OtelTracedDockerImageFunction extends DockerImageFunction {
  /** The build context holding the collector's files, laid out as under `/opt`. */
  public static readonly COLLECTOR_BUILD_CONTEXT: string = 'otel-collector';

  /** The build context holding the preload's files, laid out as under `/opt`. */
  public static readonly PRELOAD_BUILD_CONTEXT: string = 'otel-preload';

  /**
   * The Dockerfile instructions that put the collector (and the preload) into the image, one
   * per line, to place after the `FROM` of the final stage.
   *
   * @param preload whether the image runs Node.js and takes the preload too
   */
  public static dockerfileInstructions(preload: boolean = true): string {
    const contexts = [OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT];
    if (preload) contexts.push(OtelTracedDockerImageFunction.PRELOAD_BUILD_CONTEXT);
    return contexts.map(name => `COPY --from=${name} / /opt/`).join('\n');
  }

  /** The service name given to the function's spans, when known at synth time. */
  public readonly serviceName?: string;

  constructor(scope: Construct, id: string, props: OtelTracedDockerImageFunctionProps) {
    const where = `OtelTracedDockerImageFunction '${childPath(scope, id)}'`;
    const architecture = props.architecture ?? Architecture.X86_64;
    const preload = props.preload ?? true;
    const imageOptions = props.imageOptions ?? {};
    checkDockerfile(props.directory, imageOptions.file, preload, where);

    const contexts: { [name: string]: string } = { [OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT]: collectorDirectory(architecture, where) };
    if (preload) contexts[OtelTracedDockerImageFunction.PRELOAD_BUILD_CONTEXT] = PRELOAD_LAYER_DIR;
    for (const name of Object.keys(contexts)) {
      if (imageOptions.buildContexts?.[name] !== undefined) {
        throw new Error(`${where}: imageOptions.buildContexts sets '${name}', which this construct provides; rename your build context.`);
      }
    }
    // The contexts' content, not their paths (which differ between machines), goes into the asset hash.
    const contentHash = Object.values(contexts).map(dir => FileSystem.fingerprint(dir)).join(':');
    const stagedContexts = Object.fromEntries(Object.entries(contexts).map(([name, dir]) => [name, stagedBuildContext(scope, name, dir)]));

    const tracing = props.tracing ?? Tracing.ACTIVE;
    super(scope, id, {
      ...props,
      architecture,
      tracing,
      code: DockerImageCode.fromImageAsset(props.directory, {
        ...imageOptions,
        platform: imageOptions.platform ?? (architecture.name === Architecture.ARM_64.name ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64),
        buildContexts: { ...imageOptions.buildContexts, ...stagedContexts },
        extraHash: [imageOptions.extraHash, contentHash].filter(h => h !== undefined).join(':'),
        invalidation: { buildContexts: false, ...imageOptions.invalidation },
      }),
    });

    const attachment = attachTracing(this, props, { where, part: Part.ALL, delivery: Delivery.IMAGE, tracing, imagePreload: preload });
    this.serviceName = attachment.serviceName;
  }
}

/**
 * A build context staged into the cloud assembly beside the image's own directory, once per
 * stack and content, so that an assembly synthesized on one machine builds on another (a
 * pipeline publishing from `cdk.out`): the CDK CLI runs `docker build` in the image's staged
 * directory, from which the context is `../asset.<hash>`. With asset staging turned off
 * (`aws:cdk:disable-asset-staging`), the image is built from its source directory and so is
 * the context.
 */
function stagedBuildContext(scope: Construct, name: string, directory: string): string {
  const stack = Stack.of(scope);
  const id = `OtelBuildContext-${name}-${FileSystem.fingerprint(directory).slice(0, 16)}`;
  const existing = stack.node.tryFindChild(id);
  const staging = existing instanceof AssetStaging ? existing : new AssetStaging(stack, id, { sourcePath: directory });
  if (path.resolve(staging.absoluteStagedPath) === path.resolve(directory)) {
    return directory;
  }
  return path.posix.join('..', path.basename(staging.absoluteStagedPath));
}

/** The prebuilt collector of an architecture: an image cannot compile it at synth. */
function collectorDirectory(architecture: Architecture, where: string): string {
  goArch(architecture, where);
  const directory = prebuiltCollectorDirectory(architecture);
  if (directory === undefined) {
    throw new Error(
      `${where}: the prebuilt collector does not match the collector source of this copy of cdk-lambda-otel-xray, ` +
      'and an image takes the prebuilt one only; reinstall the package (in its repository: `npx projen build:collector`).',
    );
  }
  return directory;
}

/** The Dockerfile must copy from the build contexts, or the image holds no collector. */
function checkDockerfile(directory: string, file: string | undefined, preload: boolean, where: string): void {
  const dockerfile = path.join(directory, file ?? 'Dockerfile');
  if (!fs.existsSync(dockerfile)) {
    throw new Error(`${where}: directory '${directory}' has no ${file ?? 'Dockerfile'}; give the directory of the function's image, or set imageOptions.file.`);
  }
  const text = fs.readFileSync(dockerfile, 'utf-8');
  const names = [OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT, ...(preload ? [OtelTracedDockerImageFunction.PRELOAD_BUILD_CONTEXT] : [])];
  const missing = names.filter(name => !new RegExp(`^\\s*(COPY|ADD)\\s+(--\\S+\\s+)*--from=${name}\\s`, 'im').test(text));
  if (missing.length > 0) {
    throw new Error(
      `${where}: ${dockerfile} does not copy from the build context(s) ${missing.map(m => `'${m}'`).join(', ')}, so the image would hold no ` +
      `${missing.includes(OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT) ? 'collector' : 'preload'}. ` +
      `Add after the FROM of the final stage:\n${OtelTracedDockerImageFunction.dockerfileInstructions(preload)}` +
      (preload ? '\nor set preload: false for an image that does not run Node.js.' : ''),
    );
  }
}
