import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture, Tracing } from 'aws-cdk-lib/aws-lambda';
import { Instrumentation, OtelTracedDockerImageFunction, OtelTracing } from '../lib';
import { COLLECTOR_FIXTURE_DIR, contractValues, useCollectorFixture } from './helpers';
import { PRELOAD_LAYER_DIR } from '../lib/preload-layer';

useCollectorFixture();

const C = contractValues();
const NODE_IMAGE = path.join(__dirname, 'fixtures', 'traced-image');
const PYTHON_IMAGE = path.join(__dirname, 'fixtures', 'traced-image-py');

/** Synthesizes a stack with one traced image function; returns its template and image asset source. */
function synth(props: Partial<ConstructorParameters<typeof OtelTracedDockerImageFunction>[2]> = {}) {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'otel-image-')) });
  const stack = new Stack(app, 'ImageStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  new OtelTracedDockerImageFunction(stack, 'Api', { directory: NODE_IMAGE, ...props });
  const assembly = app.synth();
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'ImageStack.assets.json'), 'utf-8'));
  const images = Object.values<any>(manifest.dockerImages);
  expect(images).toHaveLength(1);
  const [fn] = Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return { fn: fn.Properties, template: Template.fromStack(stack), source: images[0].source, assemblyDir: assembly.directory };
}

/** Whether two directories hold the same files with the same bytes. */
function sameTree(a: string, b: string): boolean {
  const files = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).filter(f => fs.statSync(path.join(dir, f)).isFile()).sort();
  const listed = files(a);
  return JSON.stringify(listed) === JSON.stringify(files(b)) &&
    listed.every(f => fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))));
}

/**
 * Lays out a root filesystem as `COPY --from=<context> / /opt/` does in the image: every
 * build context's content under /opt.
 */
function imageFilesystem(dockerfile: string, contexts: { [name: string]: string }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-image-root-'));
  for (const match of fs.readFileSync(dockerfile, 'utf-8').matchAll(/^COPY --from=(\S+) \/ \/opt\/$/gm)) {
    fs.cpSync(contexts[match[1]], path.join(root, 'opt'), { recursive: true });
  }
  return root;
}

describe('OtelTracedDockerImageFunction', () => {
  test('the image is built with the collector and the preload as named build contexts, for the function\'s platform', () => {
    const { source, assemblyDir } = synth();
    // Staged beside the image's directory, and named from it: docker build runs in that directory.
    expect(source.dockerBuildContexts).toEqual({
      [OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT]: expect.stringMatching(/^\.\.\/asset\.[0-9a-f]{64}$/),
      [OtelTracedDockerImageFunction.PRELOAD_BUILD_CONTEXT]: expect.stringMatching(/^\.\.\/asset\.[0-9a-f]{64}$/),
    });
    const imageDir = path.join(assemblyDir, source.directory);
    expect(sameTree(path.join(imageDir, source.dockerBuildContexts['otel-collector']), COLLECTOR_FIXTURE_DIR)).toBe(true);
    expect(sameTree(path.join(imageDir, source.dockerBuildContexts['otel-preload']), PRELOAD_LAYER_DIR)).toBe(true);
    expect(source.platform).toBe('linux/amd64');
    expect(synth({ architecture: Architecture.ARM_64 }).source.platform).toBe('linux/arm64');
  });

  test('the image asset hash depends on the contexts\' content, not on where they are', () => {
    const a = synth().source.directory;
    expect(synth().source.directory).toBe(a);
  });

  test('the function gets the tracing environment, active tracing and exactly the X-Ray statement; no layers', () => {
    const { fn, template } = synth({ instrumentations: [Instrumentation.UNDICI], serviceName: 'image-api' });
    expect(fn.PackageType).toBe('Image');
    expect(fn.Layers).toBeUndefined();
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.Environment.Variables).toEqual({
      NODE_OPTIONS: `--import ${C.preloadImportPath}`,
      [C.env.otlpEndpoint]: C.otlpHttpEndpoint,
      [C.env.instrumentations]: 'undici',
      [C.env.serviceName]: 'image-api',
      [C.env.configUri]: C.defaultConfigUri,
    });
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy')).flatMap(p => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([{ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' }]);
  });

  test('an image of another runtime takes the collector only', () => {
    const { fn, source } = synth({ directory: PYTHON_IMAGE, preload: false, tracing: Tracing.PASS_THROUGH });
    expect(Object.keys(source.dockerBuildContexts)).toEqual([OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT]);
    expect(fn.TracingConfig).toEqual({ Mode: 'PassThrough' });
    expect(fn.Environment.Variables).toEqual({ [C.env.otlpEndpoint]: C.otlpHttpEndpoint, [C.env.configUri]: C.defaultConfigUri });
  });

  test('the image, laid out as its Dockerfile copies the contexts, holds every path the environment names', () => {
    const { fn, source, assemblyDir } = synth();
    const imageDir = path.join(assemblyDir, source.directory);
    const root = imageFilesystem(path.join(imageDir, 'Dockerfile'), Object.fromEntries(
      Object.entries<string>(source.dockerBuildContexts).map(([name, dir]) => [name, path.resolve(imageDir, dir)])));
    const importPath = fn.Environment.Variables.NODE_OPTIONS.split(' ')[1];
    const configPath = fn.Environment.Variables[C.env.configUri].replace(/^file:/, '');
    for (const file of [importPath, configPath, C.layerExtensionPath]) {
      expect(fs.existsSync(path.join(root, file))).toBe(true);
    }
  });

  test('the cloud assembly holds everything the image build names: moved to another machine, it still builds', () => {
    const { assemblyDir } = synth({ architecture: Architecture.ARM_64 });
    const moved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'otel-moved-')), 'cdk.out');
    fs.cpSync(assemblyDir, moved, { recursive: true });
    fs.rmSync(assemblyDir, { recursive: true, force: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(moved, 'ImageStack.assets.json'), 'utf-8'));
    const [image] = Object.values<any>(manifest.dockerImages);
    expect(path.isAbsolute(image.source.directory)).toBe(false);
    const imageDir = path.join(moved, image.source.directory);
    expect(fs.existsSync(path.join(imageDir, image.source.dockerFile ?? 'Dockerfile'))).toBe(true);
    for (const dir of Object.values<string>(image.source.dockerBuildContexts)) {
      expect(path.isAbsolute(dir)).toBe(false);
      expect(path.resolve(imageDir, dir).startsWith(moved + path.sep)).toBe(true);
    }
    const contexts = image.source.dockerBuildContexts;
    expect(fs.existsSync(path.join(imageDir, contexts['otel-collector'], C.layerExtensionPath.replace(/^\/opt\//, '')))).toBe(true);
    expect(fs.existsSync(path.join(imageDir, contexts['otel-preload'], C.preloadImportPath.replace(/^\/opt\//, '')))).toBe(true);
  });

  test('with asset staging turned off, the contexts are their source directories, as the image is', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'otel-image-')), context: { 'aws:cdk:disable-asset-staging': true } });
    const stack = new Stack(app, 'ImageStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    new OtelTracedDockerImageFunction(stack, 'Api', { directory: NODE_IMAGE });
    const manifest = JSON.parse(fs.readFileSync(path.join(app.synth().directory, 'ImageStack.assets.json'), 'utf-8'));
    const [image] = Object.values<any>(manifest.dockerImages);
    expect(image.source.dockerBuildContexts).toEqual({ 'otel-collector': COLLECTOR_FIXTURE_DIR, 'otel-preload': PRELOAD_LAYER_DIR });
  });

  test('two image functions of a stack share the staged contexts', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'otel-image-')) });
    const stack = new Stack(app, 'ImageStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    new OtelTracedDockerImageFunction(stack, 'A', { directory: NODE_IMAGE });
    new OtelTracedDockerImageFunction(stack, 'B', { directory: PYTHON_IMAGE, preload: false });
    const manifest = JSON.parse(fs.readFileSync(path.join(app.synth().directory, 'ImageStack.assets.json'), 'utf-8'));
    const contexts = Object.values<any>(manifest.dockerImages).map(image => image.source.dockerBuildContexts);
    expect(contexts).toHaveLength(2);
    expect(contexts.map(c => c['otel-collector'])).toEqual([contexts[0]['otel-collector'], contexts[0]['otel-collector']]);
    // Three contexts used, two staged: the collector's once for both functions.
    const staged = stack.node.children.map(c => c.node.id).filter(id => id.startsWith('OtelBuildContext-')).sort();
    expect(staged).toEqual([expect.stringMatching(/^OtelBuildContext-otel-collector-/), expect.stringMatching(/^OtelBuildContext-otel-preload-/)]);
  });

  test('a Dockerfile that does not copy from the contexts is refused with the lines to add', () => {
    expect(() => synth({ directory: path.join(__dirname, 'fixtures', 'image') })).toThrow(
      "OtelTracedDockerImageFunction 'ImageStack/Api': " + path.join(__dirname, 'fixtures', 'image', 'Dockerfile') +
      " does not copy from the build context(s) 'otel-collector', 'otel-preload', so the image would hold no collector. " +
      'Add after the FROM of the final stage:\nCOPY --from=otel-collector / /opt/\nCOPY --from=otel-preload / /opt/\n' +
      'or set preload: false for an image that does not run Node.js.');
    expect(() => synth({ directory: PYTHON_IMAGE })).toThrow(/does not copy from the build context\(s\) 'otel-preload', so the image would hold no preload/);
  });

  test('a directory without a Dockerfile, and a build context of the same name as ours', () => {
    expect(() => synth({ directory: __dirname })).toThrow(/directory '.*' has no Dockerfile; give the directory of the function's image, or set imageOptions.file/);
    expect(() => synth({ imageOptions: { buildContexts: { 'otel-preload': '/tmp' } } })).toThrow(
      /imageOptions.buildContexts sets 'otel-preload', which this construct provides; rename your build context/);
  });

  test('the Aspect leaves it as it is', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    new OtelTracedDockerImageFunction(stack, 'Api', { directory: NODE_IMAGE });
    Aspects.of(stack).add(new OtelTracing());
    const [fn] = Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Layers).toBeUndefined();
  });

  test('dockerfileInstructions is what the README\'s container recipe copies', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    expect(readme).toContain(OtelTracedDockerImageFunction.dockerfileInstructions());
    expect(readme).toContain(OtelTracedDockerImageFunction.dockerfileInstructions(false));
  });
});
