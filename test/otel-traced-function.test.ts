import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Architecture, LayerVersion, Code, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { CollectorLogLevel, Instrumentation, OtelCollectorLayer, OtelTracedFunction, TraceExporter } from '../lib';
import { HANDLER_ENTRY, newStack, useCollectorFixture } from './helpers';
import { CollectorBundling } from '../lib/collector-bundling';
import * as util from '../lib/util';

useCollectorFixture();

function layerLogicalIds(template: Template): { collector: string[]; preload: string[] } {
  const layers = template.findResources('AWS::Lambda::LayerVersion');
  const ids = Object.keys(layers);
  return {
    collector: ids.filter(id => id.startsWith('OtelCollectorLayer')),
    preload: ids.filter(id => id.startsWith('OtelPreloadLayer')),
  };
}

describe('OtelTracedFunction defaults', () => {
  const stack = newStack();
  new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY });
  const template = Template.fromStack(stack);
  const { collector, preload } = layerLogicalIds(template);

  test('attaches exactly the collector and the preload layer, in that order', () => {
    expect(collector).toHaveLength(1);
    expect(preload).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Layers: [{ Ref: collector[0] }, { Ref: preload[0] }],
    });
  });

  test('the collector layer is x86_64 only, the preload layer serves Node.js 22 and 24 on both architectures', () => {
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleArchitectures: ['x86_64'],
      Description: Match.stringLikeRegexp('OpenTelemetry Collector'),
    });
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleArchitectures: ['x86_64', 'arm64'],
      CompatibleRuntimes: ['nodejs22.x', 'nodejs24.x'],
    });
  });

  test('sets exactly the tracing environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--import /opt/nodejs/otel-preload/init.mjs',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
          OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici,aws-sdk',
          OPENTELEMETRY_COLLECTOR_CONFIG_URI: 'file:/opt/collector-config/config.yaml',
        },
      },
    });
  });

  test('leaves OTEL_SERVICE_NAME to the preload, which reads the generated function name', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties.Environment.Variables).not.toHaveProperty('OTEL_SERVICE_NAME');
  });

  test('grants exactly xray:PutTraceSegments and xray:PutTelemetryRecords, once', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('masked snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });
});

describe('layers are shared', () => {
  test('two functions of one architecture share one collector layer and one preload layer', () => {
    const stack = newStack();
    new OtelTracedFunction(stack, 'A', { entry: HANDLER_ENTRY });
    new OtelTracedFunction(stack, 'B', { entry: HANDLER_ENTRY });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
    const { collector, preload } = layerLogicalIds(template);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties.Layers).toEqual([{ Ref: collector[0] }, { Ref: preload[0] }]);
    }
  });

  test('x86_64 and arm64 functions get different collector builds and one preload', () => {
    const stack = newStack();
    const x86 = new OtelTracedFunction(stack, 'X86', { entry: HANDLER_ENTRY, architecture: Architecture.X86_64 });
    const arm = new OtelTracedFunction(stack, 'Arm', { entry: HANDLER_ENTRY, architecture: Architecture.ARM_64 });
    expect(x86.collectorLayer).not.toBe(arm.collectorLayer);
    expect(x86.preloadLayer).toBe(arm.preloadLayer);
    expect((arm.collectorLayer as OtelCollectorLayer).architecture).toBe(Architecture.ARM_64);

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 3);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'] });
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64'] });
    const assets = Object.values(template.findResources('AWS::Lambda::LayerVersion'))
      .map((layer: any) => JSON.stringify(layer.Properties.Content.S3Key));
    expect(new Set(assets).size).toBe(3);
  });

  test('a given collector layer is used instead of the stack one', () => {
    const stack = newStack();
    const shared = new OtelCollectorLayer(stack, 'Shared', { architecture: Architecture.ARM_64 });
    const fn = new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, architecture: Architecture.ARM_64, collectorLayer: shared });
    expect(fn.collectorLayer).toBe(shared);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::LayerVersion', 2);
  });

  test('a collector layer can carry prebuilt content', () => {
    const stack = newStack();
    const prebuilt = new OtelCollectorLayer(stack, 'Prebuilt', {
      code: Code.fromAsset(path.join(__dirname, 'fixtures', 'collector-layer')),
    });
    new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, collectorLayer: prebuilt });
    expect(jest.mocked(CollectorBundling.bundle)).not.toHaveBeenCalled();
  });
});

describe('environment', () => {
  function variables(props: ConstructorParameters<typeof OtelTracedFunction>[2]): { [key: string]: string } {
    const stack = newStack();
    new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, ...props });
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
    return fn.Properties.Environment.Variables;
  }

  test('NODE_OPTIONS keeps the user\'s flags and adds the preload after them', () => {
    expect(variables({ environment: { NODE_OPTIONS: '--enable-source-maps --max-old-space-size=256' } }).NODE_OPTIONS)
      .toBe('--enable-source-maps --max-old-space-size=256 --import /opt/nodejs/otel-preload/init.mjs');
  });

  test('NODE_OPTIONS that already loads the preload is not changed', () => {
    const options = '--import /opt/nodejs/otel-preload/init.mjs --enable-source-maps';
    expect(variables({ environment: { NODE_OPTIONS: options } }).NODE_OPTIONS).toBe(options);
  });

  test('addEnvironment(NODE_OPTIONS) keeps the preload', () => {
    const stack = newStack();
    const fn = new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY });
    fn.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
    fn.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps --import /opt/nodejs/otel-preload/init.mjs' }) },
    });
  });

  test('the user\'s values win over the defaults', () => {
    const env = variables({
      serviceName: 'from-prop',
      environment: { OTEL_SERVICE_NAME: 'from-env', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9999', OTEL_LOG_LEVEL: 'debug' },
    });
    expect(env.OTEL_SERVICE_NAME).toBe('from-env');
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:9999');
    expect(env.OTEL_LOG_LEVEL).toBe('debug');
  });

  test('serviceName, else functionName, becomes OTEL_SERVICE_NAME', () => {
    expect(variables({ serviceName: 'checkout' }).OTEL_SERVICE_NAME).toBe('checkout');
    expect(variables({ functionName: 'checkout-fn' }).OTEL_SERVICE_NAME).toBe('checkout-fn');
  });

  test('instrumentations choose what the preload loads', () => {
    expect(variables({ instrumentations: [Instrumentation.AWS_SDK] }).OTEL_NODE_ENABLED_INSTRUMENTATIONS).toBe('aws-sdk');
    expect(variables({ instrumentations: [Instrumentation.HTTP, Instrumentation.HTTP] }).OTEL_NODE_ENABLED_INSTRUMENTATIONS).toBe('http');
  });

  test('collector settings become its environment', () => {
    const env = variables({ collectorFlushTimeout: Duration.millis(750), collectorLogLevel: CollectorLogLevel.DEBUG, timeout: Duration.seconds(5) });
    expect(env.OTEL_XRAY_COLLECTOR_FLUSH_TIMEOUT).toBe('750ms');
    expect(env.OTEL_XRAY_COLLECTOR_LOG_LEVEL).toBe('debug');
  });

  test('Token-valued durations pass through unchecked, in their own unit', () => {
    const stack = newStack();
    const flushSeconds = new CfnParameter(stack, 'FlushSeconds', { type: 'Number' });
    const timeoutSeconds = new CfnParameter(stack, 'TimeoutSeconds', { type: 'Number' });
    new OtelTracedFunction(stack, 'Tokens', {
      entry: HANDLER_ENTRY,
      collectorFlushTimeout: Duration.seconds(flushSeconds.valueAsNumber),
      timeout: Duration.seconds(timeoutSeconds.valueAsNumber),
    });
    new OtelTracedFunction(stack, 'TokenTimeout', {
      entry: HANDLER_ENTRY,
      collectorFlushTimeout: Duration.millis(500),
      timeout: Duration.seconds(timeoutSeconds.valueAsNumber),
    });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const byId = (prefix: string) => Object.entries<any>(functions).find(([id]) => id.startsWith(prefix))![1].Properties;
    expect(byId('Tokens').Environment.Variables.OTEL_XRAY_COLLECTOR_FLUSH_TIMEOUT).toEqual({ 'Fn::Join': ['', [{ Ref: 'FlushSeconds' }, 's']] });
    expect(byId('Tokens').Timeout).toEqual({ Ref: 'TimeoutSeconds' });
    expect(byId('TokenTimeout').Environment.Variables.OTEL_XRAY_COLLECTOR_FLUSH_TIMEOUT).toBe('500ms');
  });

  test('X-Ray exporter options are rendered into an inline collector configuration', () => {
    const uri = variables({ exporter: TraceExporter.xray({ region: 'us-west-2', indexedAttributes: ['http.route', 'tenant'] }) })
      .OPENTELEMETRY_COLLECTOR_CONFIG_URI;
    expect(uri.startsWith('yaml:')).toBe(true);
    expect(JSON.parse(uri.slice('yaml:'.length))).toEqual({
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:4318', max_request_body_size: 4194304, idle_timeout: '0s' } } } },
      exporters: { awsxray: { region: 'us-west-2', max_retries: 3, indexed_attributes: ['http.route', 'tenant'] } },
      service: { pipelines: { traces: { receivers: ['otlp'], exporters: ['awsxray'] } } },
    });
  });

  test('an inline configuration without a region keeps the function\'s Region', () => {
    const uri = variables({ exporter: TraceExporter.xray({ indexAllAttributes: true }) }).OPENTELEMETRY_COLLECTOR_CONFIG_URI;
    expect(JSON.parse(uri.slice('yaml:'.length)).exporters.awsxray).toEqual({ region: '${env:AWS_REGION}', max_retries: 3, index_all_attributes: true });
  });

  function esmBundle(bundling: Omit<NonNullable<ConstructorParameters<typeof OtelTracedFunction>[2]>['bundling'], 'format'> = {}): string {
    const app = new App();
    const stack = new Stack(app, 'EsmCjs');
    new OtelTracedFunction(stack, 'Esm', {
      entry: path.join(__dirname, 'fixtures', 'handlers', 'uses-cjs.ts'),
      bundling: { ...bundling, format: OutputFormat.ESM },
    });
    const assembly = app.synth();
    return fs.readdirSync(assembly.directory)
      .map(dir => path.join(assembly.directory, dir, 'index.mjs'))
      .find(file => fs.existsSync(file))!;
  }

  test('an ESM bundle with a CommonJS dependency loads and answers', () => {
    const bundle = esmBundle();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e',
      `const { handler } = await import(${JSON.stringify(bundle)}); console.log(JSON.stringify(await handler()));`], { encoding: 'utf-8' });
    expect(JSON.parse(out)).toEqual({ statusCode: 200, body: Buffer.from('traced').toString('base64') });
  });

  test('an ESM banner the user sets is kept', () => {
    const code = fs.readFileSync(esmBundle({ banner: '/* mine */' }), 'utf-8');
    expect(code.startsWith('/* mine */')).toBe(true);
    expect(code).not.toContain('createRequire');
  });

  test('ESM bundling keeps the preload and the handler export', () => {
    const stack = newStack();
    new OtelTracedFunction(stack, 'Esm', { entry: HANDLER_ENTRY, bundling: { format: OutputFormat.ESM } });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--import /opt/nodejs/otel-preload/init.mjs' }) },
    });
  });
});

describe('IAM', () => {
  function statements(tracing?: Tracing): any[] {
    const stack = newStack();
    new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, tracing });
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
  }
  const XRAY_STATEMENT = { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' };

  test.each([Tracing.ACTIVE, Tracing.PASS_THROUGH, Tracing.DISABLED])('with tracing %s the role gets exactly the X-Ray write statement', (tracing) => {
    expect(statements(tracing)).toEqual([XRAY_STATEMENT]);
  });

  test('tracing can be turned down to PassThrough', () => {
    const stack = newStack();
    new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, tracing: Tracing.PASS_THROUGH });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'PassThrough' } });
  });
});

describe('bad input fails at synth with the prop, the value and the fix', () => {
  const stack = newStack();
  const fn = (id: string, props: Partial<ConstructorParameters<typeof OtelTracedFunction>[2]>) =>
    () => new OtelTracedFunction(stack, id, { entry: HANDLER_ENTRY, ...props });

  test('a runtime of another family', () => {
    expect(fn('Py', { runtime: Runtime.PYTHON_3_12 })).toThrow(
      /OtelTracedFunction 'TestStack\/Py': runtime python3.12 is not a Node.js runtime; use Runtime.NODEJS_22_X or Runtime.NODEJS_24_X/);
  });

  test('Node.js older than 22', () => {
    expect(fn('Node20', { runtime: Runtime.NODEJS_20_X })).toThrow(
      /OtelTracedFunction 'TestStack\/Node20': runtime nodejs20.x is older than Node.js 22.*use Runtime.NODEJS_22_X or Runtime.NODEJS_24_X/);
  });

  test('more than 5 layers once ours are added', () => {
    const extra = [1, 2, 3, 4].map(i => LayerVersion.fromLayerVersionArn(stack, `L${i}`, `arn:aws:lambda:eu-west-1:123456789012:layer:l${i}:1`));
    expect(fn('TooMany', { layers: extra })).toThrow(
      "OtelTracedFunction 'TestStack/TooMany': layers holds 4 layer(s); with the collector and preload layers that makes 6, and Lambda allows 5. " +
      "Merge layers, or move their content into the function's code.");
    const ok = new OtelTracedFunction(stack, 'Three', { entry: HANDLER_ENTRY, layers: extra.slice(0, 3) });
    expect(() => ok.addLayers(extra[3])).toThrow(
      "OtelTracedFunction 'TestStack/Three': counting the collector and preload layers, it has 5 layer(s); with the layers added that makes 6, " +
      'and Lambda allows 5.');
  });

  test('another preload in NODE_OPTIONS', () => {
    expect(fn('Adot', { environment: { NODE_OPTIONS: '--require @opentelemetry/auto-instrumentations-node/register' } })).toThrow(
      /environment.NODE_OPTIONS: '--require @opentelemetry\/auto-instrumentations-node\/register' loads another tracer.*Remove it from NODE_OPTIONS/);
    expect(fn('Import', { environment: { NODE_OPTIONS: '--import=/opt/otel/wrapper.mjs' } })).toThrow(
      /'--import \/opt\/otel\/wrapper.mjs' loads another tracer/);
  });

  test('an OpenTelemetry exec wrapper', () => {
    expect(fn('Wrapper', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-handler' } })).toThrow(
      /environment.AWS_LAMBDA_EXEC_WRAPPER is '\/opt\/otel-handler'.*remove it/);
  });

  test('malformed exporter options', () => {
    expect(fn('Region', { exporter: TraceExporter.xray({ region: 'Ireland' }) })).toThrow(
      /OtelTracedFunction 'TestStack\/Region': exporter.region: 'Ireland' is not an AWS Region name; use one such as 'us-east-1'/);
    expect(fn('Attr', { exporter: TraceExporter.xray({ indexedAttributes: ['ok', ' '] }) })).toThrow(
      /exporter.indexedAttributes\[1\]: ' ' is not an attribute name/);
    expect(fn('Dup', { exporter: TraceExporter.xray({ indexedAttributes: ['a', 'a'] }) })).toThrow(/'a' is listed twice/);
    expect(fn('Both', { exporter: TraceExporter.xray({ indexedAttributes: ['a'], indexAllAttributes: true }) })).toThrow(
      /indexAllAttributes is true and indexedAttributes lists 1 attribute\(s\); set one or the other/);
    expect(fn('Endpoint', { exporter: TraceExporter.xray({ endpoint: 'xray.local' }) })).toThrow(
      /exporter.endpoint: 'xray.local' is not an http\(s\) URL/);
  });

  test('an unknown instrumentation, named with the valid ones', () => {
    expect(fn('Instr', { instrumentations: [Instrumentation.PG, 'mongodb' as Instrumentation] })).toThrow(
      "OtelTracedFunction 'TestStack/Instr': instrumentations[1] is 'mongodb', which the preload does not know; use one of " +
      "'http', 'undici', 'aws-sdk', 'pg', 'mysql2', 'ioredis', 'redis', 'prisma', 'graphql' (the Instrumentation enum), or remove it.");
  });

  test('a collector layer of the other architecture', () => {
    const armLayer = new OtelCollectorLayer(stack, 'ArmLayer', { architecture: Architecture.ARM_64 });
    expect(fn('Mismatch', { collectorLayer: armLayer })).toThrow(
      /collectorLayer is built for arm64 but the function runs on x86_64/);
  });

  test('a flush timeout not shorter than the function timeout', () => {
    expect(fn('Flush', { collectorFlushTimeout: Duration.seconds(3) })).toThrow(
      /collectorFlushTimeout \(3 seconds\) is not shorter than the function's timeout \(3 seconds\).*lower collectorFlushTimeout or raise timeout/);
    expect(fn('Zero', { collectorFlushTimeout: Duration.seconds(0) })).toThrow(/collectorFlushTimeout is 0 seconds; give a positive duration/);
  });

  test('an empty service name', () => {
    expect(fn('Empty', { serviceName: ' ' })).toThrow(/serviceName is empty/);
  });
});

describe('esbuild: never a silent fall back to Docker', () => {
  afterEach(() => jest.restoreAllMocks());

  test('without an esbuild the function is refused, saying how to install one', () => {
    jest.spyOn(util, 'esbuildAvailable').mockReturnValue(false);
    const stack = newStack();
    expect(() => new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY })).toThrow(
      "OtelTracedFunction 'TestStack/Api': esbuild was not found, so NodejsFunction would bundle the handler in Docker. " +
      'Install esbuild where the CDK app finds it: `npm install --global esbuild@0.28.2`',
    );
  });

  test('a stack whose bundling is skipped (unit tests) needs no esbuild', () => {
    const available = jest.spyOn(util, 'esbuildAvailable').mockReturnValue(false);
    // NodejsFunction without an esbuild builds its Docker image up front, even when bundling is
    // skipped: it finds none when its cached detection says so (the Python app test runs this for real).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Bundling } = require(path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')), 'aws-lambda-nodejs', 'lib', 'bundling.js'));
    const saved = Bundling.esbuildInstallation;
    Bundling.esbuildInstallation = false;
    const dockerCalls: string[][] = [];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const childProcess = require('child_process');
    const realSpawnSync = childProcess.spawnSync;
    jest.spyOn(childProcess, 'spawnSync').mockImplementation(((cmd: string, args: string[], options: any) => {
      if (cmd === 'esbuild') {
        return { status: 1, error: new Error('spawnSync esbuild ENOENT'), stdout: Buffer.from(''), stderr: Buffer.from(''), pid: 0, output: [], signal: null };
      }
      if (cmd === 'docker') {
        dockerCalls.push(args);
        return { status: 127, stdout: Buffer.from(''), stderr: Buffer.from('docker: not found'), pid: 0, output: [], signal: null };
      }
      return realSpawnSync(cmd, args, options);
    }) as any);
    try {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      const stack = new Stack(app, 'Skipped');
      new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY, depsLockFilePath: path.join(__dirname, '..', 'package-lock.json') });
      Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
    } finally {
      Bundling.esbuildInstallation = saved;
    }
    expect(available).not.toHaveBeenCalled();
    expect(dockerCalls).toEqual([]);
  });

  test('the esbuild of this package is found the way NodejsFunction looks for it', () => {
    expect(util.esbuildAvailable()).toBe(true);
  });
});
