import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture, Code, DockerImageCode, DockerImageFunction, Function as LambdaFunction, LayerVersion, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { OtelCollectorLayer, TraceExporter } from '../lib';
import { newStack, useCollectorFixture } from './helpers';

useCollectorFixture();

const PYTHON_CODE = Code.fromInline('def handler(event, context):\n    return {}\n');

function pythonFunction(stack: ReturnType<typeof newStack>, id: string, props: Partial<ConstructorParameters<typeof LambdaFunction>[2]> = {}) {
  return new LambdaFunction(stack, id, { runtime: Runtime.PYTHON_3_13, handler: 'index.handler', code: PYTHON_CODE, ...props });
}

describe('OtelCollectorLayer on its own', () => {
  test('is compatible with its architecture only and any runtime', () => {
    const stack = newStack();
    new OtelCollectorLayer(stack, 'Layer', { architecture: Architecture.ARM_64 });
    const layer = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::LayerVersion'))[0];
    expect(layer.Properties.CompatibleArchitectures).toEqual(['arm64']);
    expect(layer.Properties.CompatibleRuntimes).toBeUndefined();
  });

  test('forStack returns one layer per stack and architecture', () => {
    const stack = newStack();
    const a = OtelCollectorLayer.forStack(stack, Architecture.X86_64);
    expect(OtelCollectorLayer.forStack(stack, Architecture.X86_64)).toBe(a);
    expect(OtelCollectorLayer.forStack(stack, Architecture.ARM_64)).not.toBe(a);
  });

  test('addToFunction traces a Python function: layer, configuration, exactly one X-Ray statement', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Py', { architecture: Architecture.ARM_64, tracing: Tracing.ACTIVE });
    const layer = OtelCollectorLayer.addToFunction(fn);
    expect((layer as OtelCollectorLayer).architecture).toBe(Architecture.ARM_64);
    const template = Template.fromStack(stack);
    const [fnResource] = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fnResource.Properties.Layers).toHaveLength(1);
    expect(fnResource.Properties.Environment.Variables).toEqual({
      OPENTELEMETRY_COLLECTOR_CONFIG_URI: 'file:/opt/collector-config/config.yaml',
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([{ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' }]);
  });

  test('addToFunction renders exporter options', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Py');
    OtelCollectorLayer.addToFunction(fn, { exporter: TraceExporter.xray({ region: 'eu-central-1' }) });
    const [fnResource] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const uri: string = fnResource.Properties.Environment.Variables.OPENTELEMETRY_COLLECTOR_CONFIG_URI;
    expect(JSON.parse(uri.replace(/^yaml:/, '')).exporters.awsxray).toEqual({ region: 'eu-central-1', max_retries: 3 });
  });

  test('addToFunction refuses a container-image function and says what to do', () => {
    const stack = newStack();
    const fn = new DockerImageFunction(stack, 'Image', {
      code: DockerImageCode.fromImageAsset(path.join(__dirname, 'fixtures', 'image')),
    });
    expect(() => OtelCollectorLayer.addToFunction(fn)).toThrow(
      /the function is a container image, and container images cannot use layers. Copy the collector into the image instead: the layer's extensions\/otel-xray-collector to \/opt\/extensions\//);
  });

  test('addToFunction refuses a layer of the other architecture', () => {
    const stack = newStack();
    const fn = pythonFunction(stack, 'Py');
    const arm = new OtelCollectorLayer(stack, 'Arm', { architecture: Architecture.ARM_64 });
    expect(() => OtelCollectorLayer.addToFunction(fn, { collectorLayer: arm })).toThrow(
      /collectorLayer is built for arm64 but the function runs on x86_64/);
  });

  test('addToFunction names the limit when the function already has five layers', () => {
    const stack = newStack();
    const layers = [1, 2, 3, 4, 5].map(i => LayerVersion.fromLayerVersionArn(stack, `L${i}`, `arn:aws:lambda:eu-west-1:123456789012:layer:l${i}:1`));
    const fn = pythonFunction(stack, 'Py', { layers });
    expect(() => OtelCollectorLayer.addToFunction(fn)).toThrow(/it has 5 layer\(s\); with the collector layer that makes 6, and Lambda allows 5. Merge layers/);
  });
});
