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
    const { source } = synth();
    expect(source.dockerBuildContexts).toEqual({
      [OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT]: COLLECTOR_FIXTURE_DIR,
      [OtelTracedDockerImageFunction.PRELOAD_BUILD_CONTEXT]: PRELOAD_LAYER_DIR,
    });
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
    const { fn } = synth();
    const root = imageFilesystem(path.join(NODE_IMAGE, 'Dockerfile'), {
      [OtelTracedDockerImageFunction.COLLECTOR_BUILD_CONTEXT]: COLLECTOR_FIXTURE_DIR,
      [OtelTracedDockerImageFunction.PRELOAD_BUILD_CONTEXT]: PRELOAD_LAYER_DIR,
    });
    const importPath = fn.Environment.Variables.NODE_OPTIONS.split(' ')[1];
    const configPath = fn.Environment.Variables[C.env.configUri].replace(/^file:/, '');
    for (const file of [importPath, configPath, C.layerExtensionPath]) {
      expect(fs.existsSync(path.join(root, file))).toBe(true);
    }
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
