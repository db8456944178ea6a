import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AssetHashType, BundlingOptions, DockerImage, DockerVolume, FileSystem, ILocalBundling } from 'aws-cdk-lib';
import { Architecture, AssetCode, Code } from 'aws-cdk-lib/aws-lambda';
import { compareVersions, dockerEngineAvailable, exec, localGoVersion } from './util';

/** The collector's Go module, shipped in the package beside `lib/`. */
export const COLLECTOR_SOURCE_DIR = path.join(__dirname, '..', 'collector-go');

/**
 * Paths in the collector source that do not change the binary, and are not shipped in the
 * package (tests, their stand-ins, developer scripts). The source fingerprint skips them, so a
 * clone and an installed package give the same fingerprint.
 */
export const SOURCE_EXCLUDES = [
  '*_test.go', 'testdata', 'internal/testsupport', 'test.sh', 'size-report.sh',
  '.gitignore', '.cache', 'out', 'bin', 'dist', '*.md',
];

/** The Docker Hub library's golang images, served by ECR Public (no Docker Hub pull limits). */
const GOLANG_IMAGE_REPOSITORY = 'public.ecr.aws/docker/library/golang';

/**
 * The golang image of the Docker path: the `toolchain` of `collector-go/go.mod`, the Go release
 * the shipped prebuilt collector is built with.
 */
export const GO_BUILD_IMAGE = goBuildImage(COLLECTOR_SOURCE_DIR);

/** Where the container finds the Go caches kept between Docker builds. */
const CONTAINER_GO_CACHE = '/go-cache';

/** Options for building the collector extension. */
export interface CollectorBundlingProps {
  /**
   * The instruction set the collector is built for (`GOARCH`).
   */
  readonly architecture: Architecture;

  /**
   * Build in Docker even when a suitable Go is on the PATH.
   *
   * @default false
   */
  readonly forceDockerBundling?: boolean;

  /**
   * The image of the Docker path.
   *
   * @default - the golang image of the source's `go.mod` toolchain
   */
  readonly dockerImage?: DockerImage;

  /**
   * The collector source: a directory in the layout of `collector-go/`.
   *
   * @default - the collector source shipped with this library
   */
  readonly sourceDirectory?: string;

  /**
   * The host directory that keeps Go's module and build caches between Docker builds.
   *
   * @default - `$XDG_CACHE_HOME/cdk-lambda-otel-xray/go`, else `~/.cache/cdk-lambda-otel-xray/go`
   */
  readonly goCacheDirectory?: string;
}

/**
 * Builds the collector extension layer content from `collector-go/` with one command,
 * `bash <source>/build.sh <output>`, run by a local Go when one is suitable and in a golang
 * image otherwise. The output holds `extensions/otel-xray-collector` and
 * `collector-config/config.yaml`.
 */
export class CollectorBundling implements BundlingOptions {
  /**
   * The layer code: the collector compiled from source. Its asset hash is the fingerprint of
   * the output, so a build that gives the prebuilt layer's bytes has the prebuilt layer's hash,
   * and the host's paths and caches never enter it.
   */
  public static bundle(props: CollectorBundlingProps): AssetCode {
    return Code.fromAsset(props.sourceDirectory ?? COLLECTOR_SOURCE_DIR, {
      assetHashType: AssetHashType.OUTPUT,
      bundling: new CollectorBundling(props),
    });
  }

  public readonly image: DockerImage;
  public readonly command: string[];
  public readonly environment: { [key: string]: string };
  public readonly local?: ILocalBundling;
  public readonly volumes: DockerVolume[];

  constructor(props: CollectorBundlingProps) {
    const goarch = goArch(props.architecture);
    const buildEnvironment = { GOOS: 'linux', GOARCH: goarch, CGO_ENABLED: '0' };
    const sourceDirectory = props.sourceDirectory ?? COLLECTOR_SOURCE_DIR;
    const goCacheDirectory = props.goCacheDirectory ?? defaultGoCacheDirectory();

    this.image = props.dockerImage ?? DockerImage.fromRegistry(goBuildImage(sourceDirectory));
    this.command = buildCommand('/asset-input', '/asset-output');
    // Go's module and build caches live on the host, so the next Docker build (a new cdk.out,
    // the other architecture) downloads and compiles only what changed.
    this.volumes = [{ hostPath: goCacheDirectory, containerPath: CONTAINER_GO_CACHE }];
    this.environment = {
      ...buildEnvironment,
      // The container runs as the host user, who owns the cache directory.
      HOME: '/tmp',
      GOCACHE: `${CONTAINER_GO_CACHE}/build`,
      GOMODCACHE: `${CONTAINER_GO_CACHE}/mod`,
      ...goProxyEnvironment(),
    };

    const requiredGo = requiredGoVersion(sourceDirectory);
    const forceDocker = props.forceDockerBundling ?? false;
    this.local = {
      tryBundle(outputDir: string): boolean {
        const found = forceDocker ? undefined : localGoVersion();
        if (found && compareVersions(found, requiredGo) >= 0) {
          const [cmd, ...args] = buildCommand(sourceDirectory, outputDir);
          exec(cmd, args, {
            env: { ...process.env, ...buildEnvironment, GOTOOLCHAIN: 'local' },
            cwd: sourceDirectory,
          });
          return true;
        }
        if (dockerEngineAvailable()) {
          // Created by the host user before Docker would create it as root.
          fs.mkdirSync(goCacheDirectory, { recursive: true });
          return false;
        }
        const goState = forceDocker
          ? 'forceDockerBundling is set'
          : found ? `found go ${found}, too old` : 'no `go` on the PATH';
        throw new Error(
          `Cannot build the OpenTelemetry collector layer for ${props.architecture.name} from ${sourceDirectory}: ` +
          `it needs Go >= ${requiredGo} on the PATH (${goState}) or a running Docker engine ` +
          '(`docker version` got no answer from a server). ' +
          `Install Go ${requiredGo} or newer (https://go.dev/doc/install) or start Docker, then synthesize again; ` +
          'or use the prebuilt collector (leave `buildFromSource`, `forceDockerBundling` and `sourceDirectory` unset), ' +
          'or pass layer content with `OtelCollectorLayer` prop `code`.',
        );
      },
    };
  }
}

/** The single build command of both paths. */
export function buildCommand(inputDir: string, outputDir: string): string[] {
  return ['bash', `${inputDir}/build.sh`, outputDir];
}

/** The collector is built for these architectures, as `GOARCH`. */
const GOARCH: { [architecture: string]: string } = { [Architecture.X86_64.name]: 'amd64', [Architecture.ARM_64.name]: 'arm64' };

/** Why the collector cannot serve an architecture, as a clause with the fix, or `undefined` when it can. */
export function collectorArchitectureProblem(architecture: Architecture): string | undefined {
  if (GOARCH[architecture.name] !== undefined) {
    return undefined;
  }
  return `architecture '${architecture.name}' is not one the collector is built for (${Object.keys(GOARCH).join(', ')}); ` +
    'use Architecture.X86_64 or Architecture.ARM_64';
}

/**
 * `GOARCH` for a Lambda architecture.
 *
 * @param where names the construct in the error for an architecture the collector is not built for
 */
export function goArch(architecture: Architecture, where: string = 'OtelCollectorLayer'): string {
  const problem = collectorArchitectureProblem(architecture);
  if (problem !== undefined) {
    throw new Error(`${where}: ${problem}.`);
  }
  return GOARCH[architecture.name];
}

/** The `go` directive of the source's `go.mod`: the oldest Go that builds the collector. */
export function requiredGoVersion(sourceDirectory: string = COLLECTOR_SOURCE_DIR): string {
  return goModDirective(sourceDirectory, 'go');
}

/** The `toolchain` directive of the source's `go.mod`: the Go release builds are made with. */
export function pinnedGoVersion(sourceDirectory: string = COLLECTOR_SOURCE_DIR): string {
  return goModDirective(sourceDirectory, 'toolchain').replace(/^go/, '');
}

/** The golang image that builds the source: its pinned Go release on Debian bookworm. */
export function goBuildImage(sourceDirectory: string = COLLECTOR_SOURCE_DIR): string {
  return `${GOLANG_IMAGE_REPOSITORY}:${pinnedGoVersion(sourceDirectory)}-bookworm`;
}

/**
 * The fingerprint of a collector source for one architecture: its files (without those that do
 * not change the binary), the build image and the architecture. The prebuilt layer records the
 * fingerprint it was built from; a source with another fingerprint is compiled.
 */
export function collectorSourceFingerprint(architecture: Architecture, sourceDirectory: string = COLLECTOR_SOURCE_DIR): string {
  return FileSystem.fingerprint(sourceDirectory, {
    exclude: SOURCE_EXCLUDES,
    extraHash: JSON.stringify({ architecture: architecture.name, image: goBuildImage(sourceDirectory) }),
  });
}

/** Where Docker builds keep Go's caches on the host. */
export function defaultGoCacheDirectory(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'cdk-lambda-otel-xray', 'go');
}

function goModDirective(sourceDirectory: string, directive: 'go' | 'toolchain'): string {
  const file = path.join(sourceDirectory, 'go.mod');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: the collector source directory must be a Go module laid out like collector-go/ (go.mod, build.sh, main.go).`);
  }
  const pattern = directive === 'go' ? /^go\s+(\d+\.\d+(?:\.\d+)?)\s*$/m : /^toolchain\s+(go\d+\.\d+\.\d+)\s*$/m;
  const match = pattern.exec(fs.readFileSync(file, 'utf-8'));
  if (!match) {
    throw new Error(`${file} has no '${directive}' directive; add one (for example \`${directive === 'go' ? 'go 1.26.0' : 'toolchain go1.26.8'}\`).`);
  }
  return match[1];
}

/** Module proxy settings of the host, passed on to the container. */
function goProxyEnvironment(): { [key: string]: string } {
  const env: { [key: string]: string } = {};
  for (const key of ['GOPROXY', 'GOPRIVATE', 'GONOSUMDB', 'GOINSECURE', 'GOFLAGS']) {
    const value = process.env[key];
    if (value) {
      env[key] = value;
    }
  }
  return env;
}
