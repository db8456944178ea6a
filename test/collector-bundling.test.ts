import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Architecture, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import {
  buildCommand, collectorSourceFingerprint, CollectorBundling, CollectorBundlingProps, COLLECTOR_SOURCE_DIR, defaultGoCacheDirectory,
  GO_BUILD_IMAGE, goArch, pinnedGoVersion, requiredGoVersion,
} from '../lib/collector-bundling';
import * as util from '../lib/util';

/** ELF e_machine values: https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html */
const ELF_MACHINE: { [arch: string]: number } = { x86_64: 0x3e, arm64: 0xb7 };

function synthLayer(architecture: Architecture, props: Partial<CollectorBundlingProps> = {}): string {
  const app = new App();
  const stack = new Stack(app, 'Build');
  new LayerVersion(stack, 'Layer', { code: CollectorBundling.bundle({ architecture, ...props }) });
  const assembly = app.synth();
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Build.assets.json'), 'utf-8'));
  const [asset] = Object.values<any>(manifest.files).filter(f => f.source.packaging === 'zip');
  return path.join(assembly.directory, asset.source.path);
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('one build command for both paths', () => {
  test('is build.sh with the output directory', () => {
    expect(buildCommand('/asset-input', '/asset-output')).toEqual(['bash', '/asset-input/build.sh', '/asset-output']);
    expect(fs.existsSync(path.join(COLLECTOR_SOURCE_DIR, 'build.sh'))).toBe(true);
  });

  test.each([[Architecture.X86_64, 'amd64'], [Architecture.ARM_64, 'arm64']])('%s builds GOARCH=%s', (architecture, goarch) => {
    expect(goArch(architecture)).toBe(goarch);
    expect(new CollectorBundling({ architecture }).environment).toMatchObject({ GOOS: 'linux', GOARCH: goarch, CGO_ENABLED: '0' });
  });

  test('the golang image is the toolchain of go.mod, at least its go directive', () => {
    const imageGo = /golang:(\d+\.\d+\.\d+)-bookworm$/.exec(GO_BUILD_IMAGE)![1];
    expect(imageGo).toBe(pinnedGoVersion());
    expect(util.compareVersions(imageGo, requiredGoVersion())).toBeGreaterThanOrEqual(0);
  });

  test('an unknown architecture is refused with the supported ones', () => {
    expect(() => goArch(Architecture.custom('riscv64'))).toThrow(
      "OtelCollectorLayer: architecture 'riscv64' is not one the collector is built for (x86_64, arm64); use Architecture.X86_64 or Architecture.ARM_64.",
    );
  });

  test('the source fingerprint depends on the architecture and is stable', () => {
    expect(collectorSourceFingerprint(Architecture.X86_64)).toBe(collectorSourceFingerprint(Architecture.X86_64));
    expect(collectorSourceFingerprint(Architecture.X86_64)).not.toBe(collectorSourceFingerprint(Architecture.ARM_64));
  });
});

describe('Docker path (no suitable Go)', () => {
  // The host's module proxy settings are passed on; the exact command below is for a host without them.
  const proxyKeys = ['GOPROXY', 'GOPRIVATE', 'GONOSUMDB', 'GOINSECURE', 'GOFLAGS'];
  const savedProxy: { [key: string]: string | undefined } = {};
  beforeEach(() => proxyKeys.forEach(key => {
    savedProxy[key] = process.env[key];
    delete process.env[key];
  }));
  afterEach(() => proxyKeys.forEach(key => {
    if (savedProxy[key] !== undefined) {
      process.env[key] = savedProxy[key];
    }
  }));

  test('the host\'s GOPROXY reaches the container', () => {
    process.env.GOPROXY = 'https://proxy.example.com';
    expect(new CollectorBundling({ architecture: Architecture.X86_64 }).environment.GOPROXY).toBe('https://proxy.example.com');
  });

  test.each([[Architecture.X86_64, 'amd64'], [Architecture.ARM_64, 'arm64']])('%s runs exactly this docker command', (architecture, goarch) => {
    jest.spyOn(util, 'localGoVersion').mockReturnValue(undefined);
    jest.spyOn(util, 'dockerEngineAvailable').mockReturnValue(true);
    const calls: string[][] = [];
    // The module object itself (not an ES namespace copy), as aws-cdk-lib requires it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const childProcess = require('child_process');
    const realSpawnSync = childProcess.spawnSync;
    jest.spyOn(childProcess, 'spawnSync').mockImplementation(((cmd: string, args: string[], options: any) => {
      if (cmd !== 'docker') {
        return realSpawnSync(cmd, args, options);
      }
      calls.push(args);
      if (args[0] === 'run') {
        // Stand in for the container: leave an output so staging accepts it.
        const mount = args.find(a => a.endsWith(':/asset-output:delegated'))!;
        const outputDir = mount.slice(0, -':/asset-output:delegated'.length);
        fs.mkdirSync(path.join(outputDir, 'extensions'), { recursive: true });
        fs.writeFileSync(path.join(outputDir, 'extensions', 'otel-xray-collector'), '');
      }
      return { status: 0, stdout: Buffer.from(''), stderr: Buffer.from(''), pid: 0, output: [], signal: null };
    }) as any);

    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'go-cache-'));
    fs.rmdirSync(cacheDir);
    synthLayer(architecture, { goCacheDirectory: cacheDir });

    const run = calls.find(a => a[0] === 'run')!;
    const outputMount = run.find(a => a.endsWith(':/asset-output:delegated'))!;
    const { uid, gid } = os.userInfo();
    expect(run).toEqual([
      'run', '--rm', '-u', `${uid}:${gid}`,
      '-v', `${COLLECTOR_SOURCE_DIR}:/asset-input:delegated`,
      '-v', outputMount,
      '-v', `${cacheDir}:/go-cache:delegated`,
      '--env', 'GOOS=linux',
      '--env', `GOARCH=${goarch}`,
      '--env', 'CGO_ENABLED=0',
      '--env', 'HOME=/tmp',
      '--env', 'GOCACHE=/go-cache/build',
      '--env', 'GOMODCACHE=/go-cache/mod',
      '-w', '/asset-input',
      GO_BUILD_IMAGE,
      'bash', '/asset-input/build.sh', '/asset-output',
    ]);
    // The host user owns the cache before Docker mounts it, so the next build finds it.
    expect(fs.statSync(cacheDir).isDirectory()).toBe(true);
  });

  test('the cache lives under XDG_CACHE_HOME, else ~/.cache', () => {
    const saved = process.env.XDG_CACHE_HOME;
    try {
      process.env.XDG_CACHE_HOME = '/var/cache/me';
      expect(defaultGoCacheDirectory()).toBe('/var/cache/me/cdk-lambda-otel-xray/go');
      delete process.env.XDG_CACHE_HOME;
      expect(defaultGoCacheDirectory()).toBe(path.join(os.homedir(), '.cache', 'cdk-lambda-otel-xray', 'go'));
    } finally {
      if (saved === undefined) {
        delete process.env.XDG_CACHE_HOME;
      } else {
        process.env.XDG_CACHE_HOME = saved;
      }
    }
    expect(new CollectorBundling({ architecture: Architecture.X86_64 }).volumes).toEqual([
      { hostPath: defaultGoCacheDirectory(), containerPath: '/go-cache' },
    ]);
  });

  test('forceDockerBundling skips a suitable local Go', () => {
    const goVersion = jest.spyOn(util, 'localGoVersion');
    jest.spyOn(util, 'dockerEngineAvailable').mockReturnValue(true);
    const bundling = new CollectorBundling({ architecture: Architecture.X86_64, forceDockerBundling: true });
    expect(bundling.local!.tryBundle('/tmp/unused', { image: bundling.image })).toBe(false);
    expect(goVersion).not.toHaveBeenCalled();
  });
});

describe('neither Go nor Docker', () => {
  test('says exactly what to install', () => {
    jest.spyOn(util, 'localGoVersion').mockReturnValue(undefined);
    jest.spyOn(util, 'dockerEngineAvailable').mockReturnValue(false);
    expect(() => synthLayer(Architecture.ARM_64)).toThrow(
      new RegExp(`Cannot build the OpenTelemetry collector layer for arm64 from .*collector-go: it needs Go >= ${requiredGoVersion().replace(/\./g, '\\.')} ` +
        'on the PATH \\(no `go` on the PATH\\) or a running Docker engine.*Install Go .* or start Docker'));
  });

  test('names a Go that is too old', () => {
    jest.spyOn(util, 'localGoVersion').mockReturnValue('1.20.3');
    jest.spyOn(util, 'dockerEngineAvailable').mockReturnValue(false);
    expect(() => synthLayer(Architecture.X86_64)).toThrow(/\(found go 1\.20\.3, too old\)/);
  });
});

describe('local path (real go build)', () => {
  const goVersion = util.localGoVersion();
  const maybe = goVersion ? test : test.skip;

  maybe.each([Architecture.X86_64, Architecture.ARM_64])('%s: the layer holds an executable ELF of that architecture and the config', (architecture) => {
    const dockerCheck = jest.spyOn(util, 'dockerEngineAvailable');
    const assetDir = synthLayer(architecture);
    expect(dockerCheck).not.toHaveBeenCalled();

    const binary = path.join(assetDir, 'extensions', 'otel-xray-collector');
    const stat = fs.statSync(binary);
    expect(stat.mode.toString(8).slice(-3)).toMatch(/^[75][75][75]$/); // executable by all
    const header = Buffer.alloc(20);
    const fd = fs.openSync(binary, 'r');
    fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    expect(header.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(header[4]).toBe(2); // ELFCLASS64
    expect(header.readUInt16LE(18)).toBe(ELF_MACHINE[architecture.name]);
    expect(fs.readFileSync(path.join(assetDir, 'collector-config', 'config.yaml'), 'utf-8')).toMatch(/awsxray/);
  });
});
