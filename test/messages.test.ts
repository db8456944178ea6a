import * as path from 'path';
import { Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { CfnFunction, DockerImageCode, DockerImageFunction, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { Instrumentation, OtelCollectorLayer, OtelTracedFunction, OtelTracedFunctionProps, OtelTracing, TraceExporter } from '../lib';
import { HANDLER_ENTRY, newStack, nodeFunction, pythonFunction, useCollectorFixture } from './helpers';

/**
 * Every warning, info and error the library writes: one sentence after another, each naming the
 * function by its path, with no doubled punctuation where two texts are joined.
 */

useCollectorFixture();

/** Two stops or separators in a row (`..`, `. .`, `;.`, `:,`), or a space before one. */
const DOUBLED_PUNCTUATION = /\.\s*\.|[,;:]\s*[.,;:]|\.\s*[,;:]|\s[.,;:](?:\s|$)/;

function fourLayers(stack: Stack): LayerVersion[] {
  return [1, 2, 3, 4].map(i => LayerVersion.fromLayerVersionArn(stack, `Layer${i}`, `arn:aws:lambda:eu-west-1:123456789012:layer:l${i}:1`)) as LayerVersion[];
}

/** Each annotation of the stack: where it is, its level and its text. */
function annotations(stack: Stack): Array<{ path: string; level: string; message: string }> {
  const all = Annotations.fromStack(stack);
  return [
    ...all.findWarning('*', Match.anyValue()).map(a => ({ path: a.id, level: 'warning', message: String(a.entry.data) })),
    ...all.findInfo('*', Match.anyValue()).map(a => ({ path: a.id, level: 'info', message: String(a.entry.data) })),
  ];
}

function expectWellFormed(message: string, functionPath: string): void {
  expect(message).not.toMatch(DOUBLED_PUNCTUATION);
  expect(message).toContain(`'${functionPath}'`);
}

describe('warnings and infos of the Aspect and the constructs', () => {
  const stack = newStack();
  nodeFunction(stack, 'Node20', { runtime: Runtime.NODEJS_20_X });
  nodeFunction(stack, 'FourLayers', { layers: fourLayers(stack) });
  pythonFunction(stack, 'PyFiveLayers', {
    layers: [...fourLayers(new Construct(stack, 'More')), LayerVersion.fromLayerVersionArn(stack, 'Fifth', 'arn:aws:lambda:eu-west-1:123456789012:layer:l5:1')],
  });
  nodeFunction(stack, 'OtherTracer', { environment: { NODE_OPTIONS: '--require dd-trace/init' } });
  nodeFunction(stack, 'Wrapper', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument' } });
  nodeFunction(stack, 'ShortTimeout', { timeout: Duration.seconds(1) });
  new DockerImageFunction(stack, 'Image', { code: DockerImageCode.fromImageAsset(path.join(__dirname, 'fixtures', 'image')) });
  new CfnFunction(stack, 'Raw', { role: 'arn:aws:iam::123456789012:role/r', code: { zipFile: 'x' }, runtime: 'nodejs22.x', handler: 'index.handler' });
  pythonFunction(stack, 'Python');
  new NodejsFunction(stack, 'Bundled', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
  OtelTracing.addToFunction(new NodejsFunction(stack, 'Explicit', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X }), {
    instrumentations: [Instrumentation.IOREDIS],
  });
  // Neither this repository nor anything above the handler has mysql2.
  new OtelTracedFunction(stack, 'Traced', { entry: HANDLER_ENTRY, instrumentations: [Instrumentation.MYSQL2] });
  Aspects.of(stack).add(new OtelTracing({ instrumentations: [Instrumentation.PG], collectorFlushTimeout: Duration.seconds(2) }));
  const found = annotations(stack);

  const expected = ['Node20', 'FourLayers', 'PyFiveLayers', 'OtherTracer', 'Wrapper', 'ShortTimeout', 'Image', 'Raw', 'Python', 'Bundled', 'Explicit', 'Traced'];

  test('each situation that warns is covered', () => {
    expect([...new Set(found.map(a => a.path.split('/')[2]))].sort()).toEqual([...expected].sort());
  });

  test.each(expected)('%s: no doubled punctuation, and the function named by its path', (id) => {
    const mine = found.filter(a => a.path === `/TestStack/${id}` || a.path.startsWith(`/TestStack/${id}/`));
    expect(mine.length).toBeGreaterThan(0);
    for (const { message } of mine) {
      expectWellFormed(message, `TestStack/${id}`);
    }
  });

  test("the Aspect's own warnings say why and end with how to opt the function out", () => {
    const cannotTrace = found.filter(a => a.message.endsWith(`[ack: ${OtelTracing.WARNING_ID}]`));
    expect(cannotTrace.map(a => a.path.split('/')[2]).sort())
      .toEqual(['FourLayers', 'Image', 'Node20', 'OtherTracer', 'PyFiveLayers', 'Raw', 'ShortTimeout', 'Wrapper']);
    for (const { message } of cannotTrace) {
      expect(message).toMatch(/^not tracing Lambda function '[^']+': .+[^.\s]\. Opt it out with OtelTracing\.exclude\(\) to silence this warning\. \[ack: /);
    }
  });

  test('the NODE_OPTIONS of another tracer: one stop between the fix and the opt-out', () => {
    const [warning] = found.filter(a => a.path === '/TestStack/OtherTracer');
    expect(warning.message).toContain('instrumentations are chosen with the `instrumentations` prop. Opt it out with OtelTracing.exclude()');
  });
});

describe('errors of the explicit paths', () => {
  const cases: Array<[string, (stack: Stack) => void]> = [
    ['addToFunction, Node.js 20', s => OtelTracing.addToFunction(nodeFunction(s, 'Fn', { runtime: Runtime.NODEJS_20_X }))],
    ['addToFunction, another tracer', s => OtelTracing.addToFunction(nodeFunction(s, 'Fn', { environment: { NODE_OPTIONS: '-r dd-trace/init' } }))],
    ['addToFunction, a wrapper', s => OtelTracing.addToFunction(nodeFunction(s, 'Fn', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-handler' } }))],
    ['addToFunction, too many layers', s => OtelTracing.addToFunction(nodeFunction(s, 'Fn', { layers: fourLayers(s) }))],
    ['addToFunction, flush timeout', s => OtelTracing.addToFunction(nodeFunction(s, 'Fn'), { collectorFlushTimeout: Duration.seconds(3) })],
    ['addToFunction, empty service name', s => OtelTracing.addToFunction(nodeFunction(s, 'Fn'), { serviceName: ' ' })],
    ['addToFunction, a container image', s => OtelTracing.addToFunction(
      new DockerImageFunction(s, 'Fn', { code: DockerImageCode.fromImageAsset(path.join(__dirname, 'fixtures', 'image')) }))],
    ['OtelCollectorLayer.addToFunction, a container image', s => OtelCollectorLayer.addToFunction(
      new DockerImageFunction(s, 'Fn', { code: DockerImageCode.fromImageAsset(path.join(__dirname, 'fixtures', 'image')) }))],
    ...([
      ['OtelTracedFunction, Python', { runtime: Runtime.PYTHON_3_13 }],
      ['OtelTracedFunction, Node.js 20', { runtime: Runtime.NODEJS_20_X }],
      ['OtelTracedFunction, too many layers', { layers: [] as LayerVersion[] }],
      ['OtelTracedFunction, another tracer', { environment: { NODE_OPTIONS: '--import @opentelemetry/auto-instrumentations-node/register' } }],
      ['OtelTracedFunction, a wrapper', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument' } }],
      ['OtelTracedFunction, flush timeout', { collectorFlushTimeout: Duration.seconds(5), timeout: Duration.seconds(5) }],
      ['OtelTracedFunction, a bad Region', { exporter: TraceExporter.xray({ region: 'Ireland' }) }],
      ['OtelTracedFunction, an unknown instrumentation', { instrumentations: ['mongodb' as Instrumentation] }],
    ] as Array<[string, Partial<OtelTracedFunctionProps>]>).map(([name, props]): [string, (stack: Stack) => void] => [name, s => {
      const layers = props.layers !== undefined ? fourLayers(s) : undefined;
      new OtelTracedFunction(s, 'Fn', { entry: HANDLER_ENTRY, ...props, ...(layers ? { layers } : {}) });
    }]),
  ];

  test.each(cases)('%s', (_name, make) => {
    const stack = newStack();
    let message: string | undefined;
    try {
      make(stack);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBeDefined();
    expectWellFormed(message!, 'TestStack/Fn');
    expect(message).toMatch(/\.$|\n/);
  });
});
