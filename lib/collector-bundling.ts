import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, BundlingOptions, DockerImage, FileSystem, ILocalBundling } from 'aws-cdk-lib';
import { Architecture, AssetCode, Code } from 'aws-cdk-lib/aws-lambda';
import { compareVersions, dockerEngineAvailable, exec, localGoVersion } from './util';

/** The collector's Go module, shipped in the package beside `lib/`. */
export const COLLECTOR_SOURCE_DIR = path.join(__dirname, '..', 'collector-go');

/**
 * The golang image of the Docker path. Its Go version is kept at or above the `go` directive of
 * `collector-go/go.mod` (a unit test checks it). The ECR Public mirror of the Docker library
 * avoids Docker Hub's pull limits.
 */
export const GO_BUILD_IMAGE = 'public.ecr.aws/docker/library/golang:1.26.8-bookworm';

/** Paths in the collector source that do not change the binary. */
const SOURCE_EXCLUDES = ['*_test.go', 'testdata', '.cache', 'bin', 'dist', '*.md'];

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
   * @default - the pinned golang image `GO_BUILD_IMAGE`
   */
  readonly dockerImage?: DockerImage;
}

/**
 * Builds the collector extension layer content from `collector-go/` with one command,
 * `bash <source>/build.sh <output>`, run by a local Go when one is suitable and in a golang
 * image otherwise. The output holds `extensions/otel-xray-collector` and
 * `collector-config/config.yaml`.
 */
export class CollectorBundling implements BundlingOptions {
  /**
   * The layer code: the bundled collector, hashed from its source and the architecture so an
   * unchanged collector is never rebuilt.
   */
  public static bundle(props: CollectorBundlingProps): AssetCode {
    return Code.fromAsset(COLLECTOR_SOURCE_DIR, {
      assetHashType: AssetHashType.CUSTOM,
      assetHash: collectorAssetHash(props.architecture),
      bundling: new CollectorBundling(props),
    });
  }

  public readonly image: DockerImage;
  public readonly command: string[];
  public readonly environment: { [key: string]: string };
  public readonly local?: ILocalBundling;

  constructor(props: CollectorBundlingProps) {
    const goarch = goArch(props.architecture);
    const buildEnvironment = { GOOS: 'linux', GOARCH: goarch, CGO_ENABLED: '0' };

    this.image = props.dockerImage ?? DockerImage.fromRegistry(GO_BUILD_IMAGE);
    this.command = buildCommand('/asset-input', '/asset-output');
    this.environment = {
      ...buildEnvironment,
      // The container runs as the host user: caches go where that user can write.
      HOME: '/tmp',
      GOCACHE: '/tmp/go-build',
      GOMODCACHE: '/tmp/go-mod',
      ...goProxyEnvironment(),
    };

    const requiredGo = requiredGoVersion();
    const forceDocker = props.forceDockerBundling ?? false;
    this.local = {
      tryBundle(outputDir: string): boolean {
        const found = forceDocker ? undefined : localGoVersion();
        if (found && compareVersions(found, requiredGo) >= 0) {
          const [cmd, ...args] = buildCommand(COLLECTOR_SOURCE_DIR, outputDir);
          exec(cmd, args, {
            env: { ...process.env, ...buildEnvironment, GOTOOLCHAIN: 'local' },
            cwd: COLLECTOR_SOURCE_DIR,
          });
          return true;
        }
        if (!dockerEngineAvailable()) {
          const goState = forceDocker
            ? 'forceDockerBundling is set'
            : found ? `found go ${found}, too old` : 'no `go` on the PATH';
          throw new Error(
            `Cannot build the OpenTelemetry collector layer for ${props.architecture.name}: ` +
            `it needs Go >= ${requiredGo} on the PATH (${goState}) or a running Docker engine ` +
            '(`docker version` got no answer from a server). ' +
            `Install Go ${requiredGo} or newer (https://go.dev/doc/install) or start Docker, then synthesize again; ` +
            'or pass a prebuilt layer with `OtelCollectorLayer` prop `code`.',
          );
        }
        return false;
      },
    };
  }
}

/** The single build command of both paths. */
export function buildCommand(inputDir: string, outputDir: string): string[] {
  return ['bash', `${inputDir}/build.sh`, outputDir];
}

/** `GOARCH` for a Lambda architecture. */
export function goArch(architecture: Architecture): string {
  switch (architecture.name) {
    case Architecture.X86_64.name: return 'amd64';
    case Architecture.ARM_64.name: return 'arm64';
    default:
      throw new Error(
        `Unsupported architecture '${architecture.name}' for the collector layer: use Architecture.X86_64 or Architecture.ARM_64.`,
      );
  }
}

/** The `go` directive of `collector-go/go.mod`: the oldest Go that builds the collector. */
export function requiredGoVersion(): string {
  const goMod = fs.readFileSync(path.join(COLLECTOR_SOURCE_DIR, 'go.mod'), 'utf-8');
  const match = /^go\s+(\d+\.\d+(?:\.\d+)?)\s*$/m.exec(goMod);
  if (!match) {
    throw new Error(`${path.join(COLLECTOR_SOURCE_DIR, 'go.mod')} has no 'go' directive`);
  }
  return match[1];
}

/** Hash of the collector's source, the build image and the architecture. */
export function collectorAssetHash(architecture: Architecture): string {
  return FileSystem.fingerprint(COLLECTOR_SOURCE_DIR, {
    exclude: SOURCE_EXCLUDES,
    extraHash: JSON.stringify({ architecture: architecture.name, image: GO_BUILD_IMAGE }),
  });
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
