import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { OtelCollectorLayer } from '../lib';
import { ARCHITECTURES } from './helpers';
import * as bundling from '../lib/collector-bundling';
import { collectorSourceFingerprint, COLLECTOR_SOURCE_DIR, goArch, pinnedGoVersion, SOURCE_EXCLUDES } from '../lib/collector-bundling';
import { PREBUILT_COLLECTOR_DIR, prebuiltCollectorCode, PrebuiltManifest, sha256File } from '../lib/collector-prebuilt';
import * as util from '../lib/util';

/** ELF e_machine values: https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html */
const ELF_MACHINE: { [arch: string]: number } = { x86_64: 0x3e, arm64: 0xb7 };

const manifest: PrebuiltManifest = JSON.parse(fs.readFileSync(path.join(PREBUILT_COLLECTOR_DIR, 'manifest.json'), 'utf-8'));

afterEach(() => {
  jest.restoreAllMocks();
});

function synthLayerAsset(props: ConstructorParameters<typeof OtelCollectorLayer>[2]): { hash: string; dir: string } {
  const app = new App();
  const stack = new Stack(app, 'Prebuilt');
  new OtelCollectorLayer(stack, 'Layer', props);
  const assembly = app.synth();
  const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Prebuilt.assets.json'), 'utf-8'));
  const [[hash, asset]] = Object.entries<any>(assets.files).filter(([, f]) => f.source.packaging === 'zip');
  Template.fromStack(stack).resourceCountIs('AWS::Lambda::LayerVersion', 1);
  return { hash, dir: path.join(assembly.directory, asset.source.path) };
}

function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, 20, 0);
  fs.closeSync(fd);
  return header.readUInt16LE(18);
}

/** A copy of the collector source as the package ships it (no tests, no developer scripts). */
function copyShippedSource(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-source-'));
  const skipped = (name: string, relative: string) =>
    name.endsWith('_test.go') || ['testdata', '.gitignore', '.cache', 'out', 'test.sh', 'size-report.sh'].includes(name) ||
    relative === 'internal/testsupport' || name.endsWith('.md');
  const copy = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(COLLECTOR_SOURCE_DIR, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (skipped(entry.name, child)) {
        continue;
      }
      if (entry.isDirectory()) {
        fs.mkdirSync(path.join(dir, child));
        copy(child);
      } else {
        fs.copyFileSync(path.join(COLLECTOR_SOURCE_DIR, child), path.join(dir, child));
      }
    }
  };
  copy('');
  return dir;
}

function fakePrebuilt(mutate: (dir: string, manifest: any) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prebuilt-'));
  const copy: any = JSON.parse(JSON.stringify(manifest));
  for (const architecture of ARCHITECTURES) {
    const record = copy.layers[architecture.name];
    for (const relative of Object.keys(record.files)) {
      fs.mkdirSync(path.dirname(path.join(dir, architecture.name, relative)), { recursive: true });
      fs.writeFileSync(path.join(dir, architecture.name, relative), `content of ${relative}`);
      record.files[relative] = sha256File(path.join(dir, architecture.name, relative));
    }
  }
  mutate(dir, copy);
  if (copy !== undefined) {
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(copy));
  }
  return dir;
}

describe('the shipped prebuilt collector', () => {
  test.each(ARCHITECTURES)('%s: synth uses it without Go or Docker, with the hash a build would have', (architecture) => {
    const goVersion = jest.spyOn(util, 'localGoVersion');
    const docker = jest.spyOn(util, 'dockerEngineAvailable');
    const bundle = jest.spyOn(bundling.CollectorBundling, 'bundle');

    const { hash, dir } = synthLayerAsset({ architecture });

    expect(bundle).not.toHaveBeenCalled();
    expect(goVersion).not.toHaveBeenCalled();
    expect(docker).not.toHaveBeenCalled();
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const binary = path.join(dir, 'extensions', 'otel-xray-collector');
    expect(elfMachine(binary)).toBe(ELF_MACHINE[architecture.name]);
    expect(fs.statSync(binary).mode.toString(8).slice(-3)).toMatch(/^[75][75][75]$/); // executable by all
    expect(fs.readFileSync(path.join(dir, 'collector-config', 'config.yaml'), 'utf-8'))
      .toBe(fs.readFileSync(path.join(COLLECTOR_SOURCE_DIR, 'config', 'config.yaml'), 'utf-8'));
  });

  test('the manifest records the current source and the pinned Go', () => {
    expect(manifest.goVersion).toBe(pinnedGoVersion());
    for (const architecture of ARCHITECTURES) {
      expect(manifest.layers[architecture.name].sourceFingerprint).toBe(collectorSourceFingerprint(architecture));
    }
  });

  test('the source fingerprint ignores exactly the files the package does not ship', () => {
    const copy = copyShippedSource();
    for (const architecture of ARCHITECTURES) {
      expect(collectorSourceFingerprint(architecture, copy)).toBe(collectorSourceFingerprint(architecture));
    }
    expect(SOURCE_EXCLUDES).toEqual(expect.arrayContaining(['*_test.go', 'testdata', 'internal/testsupport', 'test.sh', 'size-report.sh']));
  });
});

describe('building from source instead', () => {
  function mockBundle(): jest.SpyInstance {
    return jest.spyOn(bundling.CollectorBundling, 'bundle').mockImplementation(({ architecture }) =>
      jest.requireActual('aws-cdk-lib/aws-lambda').Code.fromAsset(path.join(__dirname, 'fixtures', 'collector-layer'), {
        assetHash: `built-${architecture.name}`,
      }));
  }

  test('buildFromSource compiles the shipped source', () => {
    const bundle = mockBundle();
    const prebuilt = jest.spyOn(jest.requireActual('../lib/collector-prebuilt'), 'prebuiltCollectorCode');
    synthLayerAsset({ architecture: Architecture.ARM_64, buildFromSource: true });
    expect(prebuilt).not.toHaveBeenCalled();
    expect(bundle).toHaveBeenCalledWith(expect.objectContaining({ architecture: Architecture.ARM_64, sourceDirectory: undefined }));
  });

  test('forceDockerBundling implies building from source', () => {
    const bundle = mockBundle();
    synthLayerAsset({ architecture: Architecture.X86_64, forceDockerBundling: true });
    expect(bundle).toHaveBeenCalledWith(expect.objectContaining({ forceDockerBundling: true }));
  });

  test('an unchanged copy of the source still uses the prebuilt; a changed one is compiled', () => {
    const bundle = mockBundle();
    const copy = copyShippedSource();
    expect(synthLayerAsset({ sourceDirectory: copy }).hash).toBe(synthLayerAsset({}).hash);
    expect(bundle).not.toHaveBeenCalled();

    fs.appendFileSync(path.join(copy, 'main.go'), '\n// changed\n');
    synthLayerAsset({ sourceDirectory: copy });
    expect(bundle).toHaveBeenCalledWith(expect.objectContaining({ sourceDirectory: copy }));
  });

  test('a sourceDirectory without build.sh is refused', () => {
    expect(() => synthLayerAsset({ sourceDirectory: os.tmpdir() })).toThrow(
      `OtelCollectorLayer: sourceDirectory '${os.tmpdir()}' has no build.sh; give a directory laid out like this library's collector-go/`,
    );
  });

  test('an unknown architecture is refused before anything is read', () => {
    expect(() => synthLayerAsset({ architecture: Architecture.custom('riscv64') })).toThrow(/architecture 'riscv64' is not one the collector is built for/);
  });
});

describe('a broken prebuilt is a synth error naming the file and the fix', () => {
  const fix = /Reinstall cdk-lambda-otel-xray .*or compile the collector instead with `OtelCollectorLayer` prop `buildFromSource: true`/;

  test('a consistent prebuilt is accepted (the cases below differ from it by one fault)', () => {
    const dir = fakePrebuilt(() => undefined);
    expect(prebuiltCollectorCode(Architecture.X86_64, COLLECTOR_SOURCE_DIR, dir)).toBeDefined();
  });

  test('missing manifest', () => {
    const dir = fakePrebuilt(d => fs.rmSync(path.join(d, 'x86_64'), { recursive: true }));
    fs.rmSync(path.join(dir, 'manifest.json'));
    expect(() => prebuiltCollectorCode(Architecture.X86_64, COLLECTOR_SOURCE_DIR, dir))
      .toThrow(new RegExp(`manifest ${dir}/manifest.json is missing`));
    expect(() => prebuiltCollectorCode(Architecture.X86_64, COLLECTOR_SOURCE_DIR, dir)).toThrow(fix);
  });

  test('manifest that is not JSON', () => {
    const dir = fakePrebuilt(() => undefined);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"layers": ');
    expect(() => prebuiltCollectorCode(Architecture.X86_64, COLLECTOR_SOURCE_DIR, dir)).toThrow(/manifest .*manifest.json is not valid JSON/);
  });

  test('no entry for the architecture', () => {
    const dir = fakePrebuilt((_, m) => delete m.layers.arm64);
    expect(() => prebuiltCollectorCode(Architecture.ARM_64, COLLECTOR_SOURCE_DIR, dir))
      .toThrow(new RegExp(`${dir}/manifest.json has no prebuilt collector for architecture 'arm64'.*Reinstall`));
  });

  test('a missing binary', () => {
    const dir = fakePrebuilt(d => fs.rmSync(path.join(d, 'arm64', 'extensions', 'otel-xray-collector')));
    expect(() => prebuiltCollectorCode(Architecture.ARM_64, COLLECTOR_SOURCE_DIR, dir))
      .toThrow(new RegExp(`the prebuilt collector file ${dir}/arm64/extensions/otel-xray-collector is missing.*Reinstall`));
  });

  test('a binary whose bytes differ from the recorded checksum', () => {
    const dir = fakePrebuilt(d => fs.appendFileSync(path.join(d, 'x86_64', 'extensions', 'otel-xray-collector'), 'x'));
    expect(() => prebuiltCollectorCode(Architecture.X86_64, COLLECTOR_SOURCE_DIR, dir))
      .toThrow(new RegExp(`the prebuilt collector file ${dir}/x86_64/extensions/otel-xray-collector is corrupt: its SHA-256 is [0-9a-f]{64}, the manifest records [0-9a-f]{64}`));
  });
});

describe('reproducible: a rebuild from the shipped source gives the same bytes', () => {
  const goVersion = util.localGoVersion();
  const maybe = goVersion ? test : test.skip;

  maybe.each(ARCHITECTURES)('%s: the layer compiled at synth has the prebuilt layer\'s asset hash', (architecture) => {
    const prebuilt = synthLayerAsset({ architecture });
    const built = synthLayerAsset({ architecture, buildFromSource: true });
    expect(built.hash).toBe(prebuilt.hash);
    for (const relative of Object.keys(manifest.layers[architecture.name].files)) {
      expect(sha256File(path.join(built.dir, relative))).toBe(sha256File(path.join(prebuilt.dir, relative)));
    }
  });

  maybe.each(ARCHITECTURES)('%s: build.sh in another directory with the pinned Go', (architecture) => {
    // Another directory than the repository's: the build must not depend on where it runs.
    const source = copyShippedSource();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'collector-rebuild-'));
    const goroot = spawnSync('go', ['env', 'GOROOT'], {
      encoding: 'utf-8', env: { ...process.env, GOTOOLCHAIN: `go${pinnedGoVersion()}` },
    }).stdout.trim();
    const build = spawnSync('bash', [path.join(source, 'build.sh'), out], {
      encoding: 'utf-8',
      env: { ...process.env, PATH: `${goroot}/bin:${process.env.PATH}`, GOARCH: goArch(architecture) },
    });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    const record = manifest.layers[architecture.name];
    for (const [relative, sha] of Object.entries(record.files)) {
      expect([relative, sha256File(path.join(out, relative))]).toEqual([relative, sha]);
      expect(sha256File(path.join(PREBUILT_COLLECTOR_DIR, architecture.name, relative))).toBe(sha);
    }
  });
});
