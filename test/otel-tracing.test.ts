import * as fs from 'fs';
import * as path from 'path';
import { Aspects, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  Architecture, CfnFunction, Code, DockerImageCode, DockerImageFunction, Function as LambdaFunction, FunctionProps, LayerVersion, Runtime,
  SingletonFunction, Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { CollectorLogLevel, Instrumentation, OtelCollectorLayer, OtelPreloadLayer, OtelTracedFunction, OtelTracing, OtelTracingOptions, TraceExporter } from '../lib';
import { contractValues, HANDLER_ENTRY, newStack, NODE_CODE, nodeFunction, PY_CODE, pythonFunction, useCollectorFixture } from './helpers';

useCollectorFixture();

const C = contractValues();
const XRAY_STATEMENT = { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' };

/** A construct of someone else's that makes its own function. */
class ThirdPartyApi extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new LambdaFunction(this, 'Handler', { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: NODE_CODE });
  }
}

/** The synthesized properties of the one function whose logical id starts with `prefix`. */
function fnProps(template: Template, prefix: string): any {
  const found = Object.entries<any>(template.findResources('AWS::Lambda::Function')).filter(([id]) => id.startsWith(prefix));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
}

function layerIds(template: Template): { collector: string[]; preload: string[] } {
  const ids = Object.keys(template.findResources('AWS::Lambda::LayerVersion'));
  return { collector: ids.filter(id => id.startsWith('OtelCollectorLayer')), preload: ids.filter(id => id.startsWith('OtelPreloadLayer')) };
}

/** Every statement of every policy attached to the role of the function `prefix`. */
function roleStatements(template: Template, prefix: string): any[] {
  const role = fnProps(template, prefix).Role['Fn::GetAtt'][0];
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter(p => p.Properties.Roles.some((r: any) => r.Ref === role))
    .flatMap(p => p.Properties.PolicyDocument.Statement);
}

function warnings(stack: Stack): Array<{ path: string; message: string }> {
  return Annotations.fromStack(stack).findWarning('*', Match.anyValue())
    .map(w => ({ path: w.id, message: String(w.entry.data) }));
}

function infos(stack: Stack): Array<{ path: string; message: string }> {
  return Annotations.fromStack(stack).findInfo('*', Match.anyValue())
    .map(w => ({ path: w.id, message: String(w.entry.data) }));
}

describe('the OtelTracing Aspect', () => {
  const stack = newStack();
  nodeFunction(stack, 'PlainCjs');
  new NodejsFunction(stack, 'Bundled', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
  new ThirdPartyApi(stack, 'ThirdParty');
  pythonFunction(stack, 'Python', { functionName: 'orders-py' });
  nodeFunction(stack, 'Own', { environment: { OTEL_SERVICE_NAME: 'mine', NODE_OPTIONS: '--enable-source-maps' }, tracing: Tracing.PASS_THROUGH });
  new OtelTracedFunction(stack, 'AlreadyTraced', { entry: HANDLER_ENTRY });
  Aspects.of(stack).add(new OtelTracing());
  const template = Template.fromStack(stack);
  const { collector, preload } = layerIds(template);

  test('one collector layer and one preload layer serve every function of the stack', () => {
    expect(collector).toHaveLength(1);
    expect(preload).toHaveLength(1);
  });

  test.each(['PlainCjs', 'Bundled', 'ThirdParty'])('%s, a Node.js function, gets both layers, the environment, active tracing, exactly the X-Ray statement', (id) => {
    const props = fnProps(template, id);
    expect(props.Layers).toEqual([{ Ref: collector[0] }, { Ref: preload[0] }]);
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    expect(props.Environment.Variables).toEqual({
      NODE_OPTIONS: `--import ${C.preloadImportPath}`,
      [C.env.otlpEndpoint]: C.otlpHttpEndpoint,
      [C.env.instrumentations]: 'http,undici,aws-sdk',
      [C.env.configUri]: C.defaultConfigUri,
    });
    expect(roleStatements(template, id)).toEqual([XRAY_STATEMENT]);
  });

  test('a Python function gets the collector, the SDK environment, active tracing and the statement', () => {
    const props = fnProps(template, 'Python');
    expect(props.Layers).toEqual([{ Ref: collector[0] }]);
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    expect(props.Environment.Variables).toEqual({
      [C.env.otlpEndpoint]: C.otlpHttpEndpoint,
      [C.env.serviceName]: 'orders-py',
      [C.env.configUri]: C.defaultConfigUri,
    });
    expect(roleStatements(template, 'Python')).toEqual([XRAY_STATEMENT]);
  });

  test("the function's own environment and tracing mode win; NODE_OPTIONS gets the preload after its flags", () => {
    const props = fnProps(template, 'Own');
    expect(props.TracingConfig).toEqual({ Mode: 'PassThrough' });
    expect(props.Environment.Variables[C.env.serviceName]).toBe('mine');
    expect(props.Environment.Variables.NODE_OPTIONS).toBe(`--enable-source-maps --import ${C.preloadImportPath}`);
  });

  test('an OtelTracedFunction is left as it is', () => {
    const props = fnProps(template, 'AlreadyTraced');
    expect(props.Layers).toEqual([{ Ref: collector[0] }, { Ref: preload[0] }]);
    expect(props.Environment.Variables.NODE_OPTIONS).toBe(`--import ${C.preloadImportPath}`);
    expect(roleStatements(template, 'AlreadyTraced')).toEqual([XRAY_STATEMENT]);
  });

  test('no warning when every function can be traced', () => {
    expect(warnings(stack)).toEqual([]);
  });

  test('the Python function, and it alone, gets an info: its runtime, and that its own SDK must export to the collector', () => {
    expect(infos(stack)).toEqual([{
      path: '/TestStack/Python',
      message: "OtelTracing: function 'TestStack/Python' runs python3.13, which the Node.js preload does not serve, so it gets the collector layer only: " +
        `its spans appear only if it carries its own OpenTelemetry SDK exporting OTLP/HTTP to the collector at ${C.otlpHttpEndpoint} ` +
        `(the ${C.env.otlpEndpoint} it is given). Without one the collector receives nothing: ` +
        'set nodejsOnly on the OtelTracing Aspect, or opt the function out with OtelTracing.exclude().',
    }]);
  });
});

describe('the service name when none is known at synth time', () => {
  test.each([
    ['Node.js', (scope: Construct) => nodeFunction(scope, 'Fn')],
    ['Python', (scope: Construct) => pythonFunction(scope, 'Fn')],
    ['a custom runtime', (scope: Construct) => new LambdaFunction(scope, 'Fn', {
      runtime: Runtime.PROVIDED_AL2023, handler: 'bootstrap', code: Code.fromAsset(path.join(__dirname, 'fixtures', 'handlers')),
    })],
  ])('%s: OTEL_SERVICE_NAME is left unset, for the preload or the collector to name the spans from AWS_LAMBDA_FUNCTION_NAME', (_name, make) => {
    const stack = newStack();
    make(stack);
    Aspects.of(stack).add(new OtelTracing());
    const variables = fnProps(Template.fromStack(stack), 'Fn').Environment.Variables;
    expect(variables[C.env.otlpEndpoint]).toBe(C.otlpHttpEndpoint);
    expect(variables).not.toHaveProperty(C.env.serviceName);
  });

  test('the README and the serviceName default say the fallback holds for every runtime', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    const row = readme.split('\n').find(line => line.startsWith('| `serviceName` |'));
    expect(row).toMatch(/AWS_LAMBDA_FUNCTION_NAME.*for every runtime/);
    expect(row).toMatch(/by the collector for other runtimes/);
    const options = fs.readFileSync(path.join(__dirname, '..', 'lib', 'tracing-options.ts'), 'utf-8');
    expect(options).toMatch(/@default - the function name, for every runtime[^@]*by the collector for other runtimes/);
  });
});

describe('nodejsOnly', () => {
  function synth(nodejsOnly: boolean | undefined) {
    const stack = newStack();
    nodeFunction(stack, 'Node');
    pythonFunction(stack, 'Python');
    new LambdaFunction(stack, 'Custom', { runtime: Runtime.PROVIDED_AL2023, handler: 'bootstrap', code: Code.fromAsset(path.join(__dirname, 'fixtures', 'handlers')) });
    Aspects.of(stack).add(new OtelTracing({ nodejsOnly }));
    return { stack, template: Template.fromStack(stack) };
  }

  test('true: functions of other runtimes are left as they are, without a word; Node.js functions are traced', () => {
    const { stack, template } = synth(true);
    for (const id of ['Python', 'Custom']) {
      const props = fnProps(template, id);
      expect(props.Layers).toBeUndefined();
      expect(props.Environment).toBeUndefined();
      expect(props.TracingConfig).toBeUndefined();
    }
    expect(fnProps(template, 'Node').Layers).toHaveLength(2);
    expect(warnings(stack)).toEqual([]);
    expect(infos(stack)).toEqual([]);
  });

  test('unset (false): every runtime is traced, each function of another runtime named in an info', () => {
    const { stack, template } = synth(undefined);
    expect(fnProps(template, 'Python').Layers).toHaveLength(1);
    expect(fnProps(template, 'Custom').Layers).toHaveLength(1);
    expect(infos(stack).map(i => i.path)).toEqual(['/TestStack/Python', '/TestStack/Custom']);
    expect(infos(stack)[1].message).toMatch(/^OtelTracing: function 'TestStack\/Custom' runs provided.al2023, which the Node.js preload does not serve/);
  });

  test('a container image (runtime unknown) is still warned about', () => {
    const stack = newStack();
    new DockerImageFunction(stack, 'Image', { code: DockerImageCode.fromImageAsset(path.join(__dirname, 'fixtures', 'image')) });
    Aspects.of(stack).add(new OtelTracing({ nodejsOnly: true }));
    Template.fromStack(stack);
    expect(warnings(stack).map(w => w.path)).toEqual(['/TestStack/Image']);
  });

  test('OtelTracing.addToFunction traces a Python function whatever the Aspect says', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Python');
    OtelTracing.addToFunction(fn);
    Aspects.of(stack).add(new OtelTracing({ nodejsOnly: true }));
    const props = fnProps(Template.fromStack(stack), 'Python');
    expect(props.Layers).toHaveLength(1);
    expect(props.Environment.Variables[C.env.otlpEndpoint]).toBe(C.otlpHttpEndpoint);
  });
});

describe('SingletonFunction', () => {
  test('its one function is traced once, even when the Aspect covers only the wrapper', () => {
    const stack = newStack();
    const scope = new Construct(stack, 'Scope');
    const props = { uuid: '6c2b7f3e-0a4c-4d7e-9a53-4a4d9e7e1f10', runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: NODE_CODE };
    new SingletonFunction(scope, 'A', props);
    new SingletonFunction(scope, 'B', props);
    Aspects.of(scope).add(new OtelTracing());
    const template = Template.fromStack(stack);
    const { collector, preload } = layerIds(template);
    const [fn] = Object.values<any>(template.findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Layers).toEqual([{ Ref: collector[0] }, { Ref: preload[0] }]);
    expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe(`--import ${C.preloadImportPath}`);
  });

  test('OtelTracing.addToFunction accepts one', () => {
    const stack = newStack();
    const fn = new SingletonFunction(stack, 'S', { uuid: '0f3f1a86-2b1c-4d85-8f0b-0c8d0b1f4a11', runtime: Runtime.PYTHON_3_13, handler: 'index.handler', code: PY_CODE });
    const attached = OtelTracing.addToFunction(fn);
    expect(attached.preloadLayer).toBeUndefined();
    const [resource] = Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(resource.Properties.Layers).toHaveLength(1);
  });
});

describe('what the Aspect cannot trace is a warning naming the function and the reason; synth goes on', () => {
  const stack = newStack();
  nodeFunction(stack, 'Node20', { runtime: Runtime.NODEJS_20_X });
  const layers = [1, 2, 3, 4].map(i => LayerVersion.fromLayerVersionArn(stack, `L${i}`, `arn:aws:lambda:eu-west-1:123456789012:layer:l${i}:1`));
  nodeFunction(stack, 'FourLayers', { layers });
  pythonFunction(stack, 'PyFiveLayers', { layers: [...layers, LayerVersion.fromLayerVersionArn(stack, 'L5', 'arn:aws:lambda:eu-west-1:123456789012:layer:l5:1')] });
  pythonFunction(stack, 'PyFourLayers', { layers });
  nodeFunction(stack, 'OtherTracer', { environment: { NODE_OPTIONS: '--require dd-trace/init' } });
  nodeFunction(stack, 'Wrapper', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument' } });
  new DockerImageFunction(stack, 'Image', { code: DockerImageCode.fromImageAsset(path.join(__dirname, 'fixtures', 'image')) });
  new CfnFunction(stack, 'Raw', { role: 'arn:aws:iam::123456789012:role/r', code: { zipFile: 'x' }, runtime: 'nodejs22.x', handler: 'index.handler' });
  Aspects.of(stack).add(new OtelTracing());
  const template = Template.fromStack(stack);
  const found = warnings(stack);

  test.each([
    ['Node20', /not tracing Lambda function 'TestStack\/Node20': runtime nodejs20.x is older than Node.js 22, which the preload needs; use Runtime.NODEJS_22_X/],
    ['FourLayers', /'TestStack\/FourLayers': it has 4 layer\(s\); with the collector and preload layers that makes 6, and Lambda allows 5/],
    ['PyFiveLayers', /'TestStack\/PyFiveLayers': it has 5 layer\(s\); with the collector layer that makes 6/],
    ['OtherTracer', /'TestStack\/OtherTracer': environment.NODE_OPTIONS: '--require dd-trace\/init' loads another tracer/],
    ['Wrapper', /'TestStack\/Wrapper': environment.AWS_LAMBDA_EXEC_WRAPPER is '\/opt\/otel-instrument', another OpenTelemetry set-up/],
    ['Image', /'TestStack\/Image': the function is a container image, and container images cannot use layers. Build it with OtelTracedDockerImageFunction/],
    ['Raw', /'TestStack\/Raw': it is defined as a CloudFormation resource only/],
  ])('%s', (id, message) => {
    const mine = found.filter(w => w.path.startsWith(`/TestStack/${id}`));
    expect(mine).toHaveLength(1);
    expect(mine[0].message).toMatch(message);
    expect(mine[0].message).toMatch(/Opt it out with OtelTracing.exclude\(\) to silence this warning. \[ack: cdk-lambda-otel-xray:cannotTrace\]$/);
  });

  test('a function that cannot be traced is left untouched', () => {
    for (const id of ['Node20', 'OtherTracer', 'Wrapper']) {
      const props = fnProps(template, id);
      expect(props.Layers).toBeUndefined();
      expect(props.TracingConfig).toBeUndefined();
    }
    expect(fnProps(template, 'FourLayers').Layers).toHaveLength(4);
  });

  test('a Python function with four layers still takes the collector', () => {
    expect(fnProps(template, 'PyFourLayers').Layers).toHaveLength(5);
  });

  test('a flush timeout not shorter than a function\'s timeout: that function is warned about, the others traced', () => {
    const s = newStack();
    nodeFunction(s, 'Short', { timeout: Duration.seconds(1) });
    nodeFunction(s, 'Long', { timeout: Duration.seconds(10) });
    Aspects.of(s).add(new OtelTracing({ collectorFlushTimeout: Duration.seconds(2) }));
    const t = Template.fromStack(s);
    expect(warnings(s).map(w => w.message)).toEqual([
      expect.stringMatching(/'TestStack\/Short': collectorFlushTimeout \(2 seconds\) is not shorter than the function's timeout \(1 second\)/),
    ]);
    expect(fnProps(t, 'Long').Environment.Variables[C.env.flushTimeout]).toBe('2000ms');
  });
});

describe('an architecture the collector is not built for', () => {
  const RISCV = Architecture.custom('riscv64');

  test('the Aspect warns on that function, naming it, and traces the others', () => {
    const stack = newStack();
    pythonFunction(stack, 'Riscv', { architecture: RISCV });
    nodeFunction(stack, 'Node');
    Aspects.of(stack).add(new OtelTracing());
    const template = Template.fromStack(stack);
    expect(fnProps(template, 'Riscv').Layers).toBeUndefined();
    expect(fnProps(template, 'Node').Layers).toHaveLength(2);
    expect(warnings(stack)).toEqual([{
      path: '/TestStack/Riscv',
      message: "not tracing Lambda function 'TestStack/Riscv': its architecture 'riscv64' is not one the collector is built for (x86_64, arm64); " +
        'use Architecture.X86_64 or Architecture.ARM_64. Opt it out with OtelTracing.exclude() to silence this warning. ' +
        `[ack: ${OtelTracing.WARNING_ID}]`,
    }]);
  });

  test('OtelTracing.addToFunction fails naming the function', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Riscv', { architecture: RISCV });
    expect(() => OtelTracing.addToFunction(fn)).toThrow(
      "OtelTracing.addToFunction('TestStack/Riscv'): its architecture 'riscv64' is not one the collector is built for (x86_64, arm64)");
  });
});

describe('the flush timeout always fits in the function\'s timeout', () => {
  function flushSetting(props: Partial<FunctionProps>, options: OtelTracingOptions = {}, how: 'call' | 'aspect' = 'call'): string | undefined {
    const stack = newStack();
    const fn = nodeFunction(stack, 'Fn', props);
    if (how === 'call') OtelTracing.addToFunction(fn, options);
    else Aspects.of(stack).add(new OtelTracing(options));
    return fnProps(Template.fromStack(stack), 'Fn').Environment.Variables[C.env.flushTimeout];
  }

  test.each<[string, Duration | undefined, string | undefined]>([
    ['Lambda\'s default timeout (3 s): the collector\'s default, not written', undefined, undefined],
    ['a 10 s timeout: the collector\'s default', Duration.seconds(10), undefined],
    ['a timeout equal to the default flush timeout (2 s): half of it', Duration.seconds(2), '1000ms'],
    ['a 1 s timeout: half of it', Duration.seconds(1), '500ms'],
  ])('unset, %s', (_name, timeout, expected) => {
    expect(flushSetting({ timeout })).toBe(expected);
    expect(flushSetting({ timeout }, {}, 'aspect')).toBe(expected);
  });

  test('given, it must be shorter than the timeout, whatever the default does', () => {
    expect(flushSetting({ timeout: Duration.seconds(1) }, { collectorFlushTimeout: Duration.millis(900) })).toBe('900ms');
    expect(() => flushSetting({ timeout: Duration.seconds(1) }, { collectorFlushTimeout: Duration.seconds(1) })).toThrow(
      /collectorFlushTimeout \(1 second\) is not shorter than the function's timeout \(1 second\)/);
    expect(() => flushSetting({ timeout: Duration.seconds(1) }, { collectorFlushTimeout: Duration.seconds(2) })).toThrow(
      /collectorFlushTimeout \(2 seconds\) is not shorter than the function's timeout \(1 second\)/);
  });

  test('OtelTracedFunction and OtelCollectorLayer.addToFunction follow the same rule', () => {
    const stack = newStack();
    new OtelTracedFunction(stack, 'Traced', { entry: HANDLER_ENTRY, timeout: Duration.seconds(1) });
    OtelCollectorLayer.addToFunction(pythonFunction(stack, 'Collector', { timeout: Duration.seconds(2) }));
    const template = Template.fromStack(stack);
    expect(fnProps(template, 'Traced').Environment.Variables[C.env.flushTimeout]).toBe('500ms');
    expect(fnProps(template, 'Collector').Environment.Variables[C.env.flushTimeout]).toBe('1000ms');
  });

  test('a timeout known only at deploy time leaves the collector\'s default', () => {
    const stack = newStack();
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number' }).valueAsNumber;
    const fn = nodeFunction(stack, 'Fn', { timeout: Duration.seconds(seconds) });
    OtelTracing.addToFunction(fn);
    expect(fnProps(Template.fromStack(stack), 'Fn').Environment.Variables[C.env.flushTimeout]).toBeUndefined();
  });
});

describe('opting out', () => {
  test('an excluded function, and every function under an excluded scope, is neither traced nor warned about', () => {
    const stack = newStack();
    const skipped = nodeFunction(stack, 'Skipped');
    const legacy = new Construct(stack, 'Legacy');
    nodeFunction(legacy, 'Old', { runtime: Runtime.NODEJS_20_X });
    pythonFunction(legacy, 'Py');
    nodeFunction(stack, 'Traced');
    OtelTracing.exclude(skipped);
    OtelTracing.exclude(legacy);
    Aspects.of(stack).add(new OtelTracing());
    const template = Template.fromStack(stack);
    expect(warnings(stack)).toEqual([]);
    expect(fnProps(template, 'Skipped').Layers).toBeUndefined();
    expect(fnProps(template, 'LegacyOld').Layers).toBeUndefined();
    expect(fnProps(template, 'LegacyPy').Layers).toBeUndefined();
    expect(fnProps(template, 'Traced').Layers).toHaveLength(2);
  });

  test('excluding a SingletonFunction excludes its function', () => {
    const stack = newStack();
    const single = new SingletonFunction(stack, 'S', { uuid: '1b0f6d5e-4f2a-4c1d-8e55-6a7b8c9d0e12', runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: NODE_CODE });
    OtelTracing.exclude(single);
    Aspects.of(stack).add(new OtelTracing());
    const [fn] = Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Layers).toBeUndefined();
  });
});

describe('every option means the same on each path', () => {
  const options: OtelTracingOptions = {
    serviceName: 'checkout',
    instrumentations: [Instrumentation.AWS_SDK],
    exporter: TraceExporter.xray({ region: 'us-west-2', indexedAttributes: ['tenant'] }),
    collectorFlushTimeout: Duration.millis(800),
    collectorLogLevel: CollectorLogLevel.DEBUG,
  };

  function synth(path_: 'construct' | 'call' | 'aspect'): { env: any; statements: any[]; tracing: any } {
    const stack = newStack();
    const common = { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X, timeout: Duration.seconds(5) };
    if (path_ === 'construct') {
      new OtelTracedFunction(stack, 'Fn', { ...common, ...options });
    } else {
      const fn = new NodejsFunction(stack, 'Fn', common);
      if (path_ === 'call') OtelTracing.addToFunction(fn, options);
      else Aspects.of(stack).add(new OtelTracing(options));
    }
    const template = Template.fromStack(stack);
    const props = fnProps(template, 'Fn');
    return { env: props.Environment.Variables, statements: roleStatements(template, 'Fn'), tracing: props.TracingConfig };
  }

  test('OtelTracedFunction, OtelTracing.addToFunction and the Aspect synthesize the same function', () => {
    const construct = synth('construct');
    expect(construct.env).toEqual(expect.objectContaining({
      [C.env.serviceName]: 'checkout',
      [C.env.instrumentations]: 'aws-sdk',
      [C.env.flushTimeout]: '800ms',
      [C.env.logLevel]: 'debug',
    }));
    expect(JSON.parse(construct.env[C.env.configUri].replace(/^yaml:/, '')).exporters.awsxray).toEqual({ region: 'us-west-2', max_retries: 3, indexed_attributes: ['tenant'] });
    expect(synth('call')).toEqual(construct);
    expect(synth('aspect')).toEqual(construct);
  });

  test('OtelCollectorLayer.addToFunction takes the collector settings too', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Py', { timeout: Duration.seconds(5) });
    OtelCollectorLayer.addToFunction(fn, { collectorFlushTimeout: Duration.millis(800), collectorLogLevel: CollectorLogLevel.WARN });
    expect(fnProps(Template.fromStack(stack), 'Py').Environment.Variables).toEqual({
      [C.env.configUri]: C.defaultConfigUri,
      [C.env.flushTimeout]: '800ms',
      [C.env.logLevel]: 'warn',
    });
  });
});

describe('OtelTracing.addToFunction fails where the Aspect warns', () => {
  test('an unsupported runtime', () => {
    const stack = newStack();
    const fn = nodeFunction(stack, 'Node20', { runtime: Runtime.NODEJS_20_X });
    expect(() => OtelTracing.addToFunction(fn)).toThrow(
      "OtelTracing.addToFunction('TestStack/Node20'): runtime nodejs20.x is older than Node.js 22, which the preload needs; use Runtime.NODEJS_22_X or Runtime.NODEJS_24_X");
  });

  test('an imported function', () => {
    const stack = newStack();
    const fn = LambdaFunction.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:123456789012:function:f');
    expect(() => OtelTracing.addToFunction(fn)).toThrow(/neither a lambda.Function nor a SingletonFunction.*pass the construct that defines it/);
  });

  test('a bad option is an error on every path, the Aspect included', () => {
    const stack = newStack();
    nodeFunction(stack, 'Fn');
    Aspects.of(stack).add(new OtelTracing({ exporter: TraceExporter.xray({ region: 'Ireland' }) }));
    expect(() => Template.fromStack(stack)).toThrow(/OtelTracing: function 'TestStack\/Fn': exporter.region: 'Ireland' is not an AWS Region name/);
  });
});

describe('layers as ILayerVersion', () => {
  const COLLECTOR_ARN = 'arn:aws:lambda:eu-west-1:123456789012:layer:otel-xray-collector-arm64:3';
  const PRELOAD_ARN = 'arn:aws:lambda:eu-west-1:123456789012:layer:otel-preload:7';

  test('imported by ARN, with the architecture stated', () => {
    const stack = newStack();
    const collector = LayerVersion.fromLayerVersionArn(stack, 'Collector', COLLECTOR_ARN);
    const preload = LayerVersion.fromLayerVersionArn(stack, 'Preload', PRELOAD_ARN);
    new OtelTracedFunction(stack, 'Fn', {
      entry: HANDLER_ENTRY,
      architecture: Architecture.ARM_64,
      collectorLayer: collector,
      collectorLayerArchitecture: Architecture.ARM_64,
      preloadLayer: preload,
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 0);
    expect(fnProps(template, 'Fn').Layers).toEqual([COLLECTOR_ARN, PRELOAD_ARN]);
  });

  test('imported, without the architecture: an error saying to state it', () => {
    const stack = newStack();
    const fn = nodeFunction(stack, 'Fn');
    const collector = LayerVersion.fromLayerVersionArn(stack, 'Collector', COLLECTOR_ARN);
    expect(() => OtelTracing.addToFunction(fn, { collectorLayer: collector })).toThrow(
      "OtelTracing.addToFunction('TestStack/Fn'): collectorLayer 'TestStack/Collector' is not an OtelCollectorLayer, so its architecture cannot be known at synth; " +
      'state it with collectorLayerArchitecture (Architecture.X86_64 or Architecture.ARM_64).');
  });

  test('a stated architecture other than the function\'s', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Fn');
    const collector = LayerVersion.fromLayerVersionArn(stack, 'Collector', COLLECTOR_ARN);
    expect(() => OtelCollectorLayer.addToFunction(fn, { collectorLayer: collector, collectorLayerArchitecture: Architecture.ARM_64 })).toThrow(
      /collectorLayer is built for arm64 but the function runs on x86_64; use a layer built with architecture x86_64, or leave collectorLayer unset/);
  });

  test('a stated architecture other than the OtelCollectorLayer\'s own', () => {
    const stack = newStack();
    const arm = new OtelCollectorLayer(stack, 'Arm', { architecture: Architecture.ARM_64 });
    expect(() => new OtelTracedFunction(stack, 'Fn', {
      entry: HANDLER_ENTRY, architecture: Architecture.ARM_64, collectorLayer: arm, collectorLayerArchitecture: Architecture.X86_64,
    })).toThrow(/collectorLayerArchitecture is x86_64 but collectorLayer is an OtelCollectorLayer built for arm64/);
  });

  test('the Aspect uses the layers given, for every function', () => {
    const stack = newStack();
    const preload = new OtelPreloadLayer(stack, 'MyPreload');
    nodeFunction(stack, 'A');
    nodeFunction(stack, 'B');
    Aspects.of(stack).add(new OtelTracing({ preloadLayer: preload }));
    const template = Template.fromStack(stack);
    const { preload: stackPreload } = layerIds(template);
    expect(stackPreload).toEqual([]);
    for (const id of ['A', 'B']) {
      expect(fnProps(template, id).Layers[1]).toEqual({ Ref: expect.stringMatching(/^MyPreload/) });
    }
  });
});
