import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { OtelPreloadLayer, OtelTracedFunction, OtelTracing } from '../lib';
import { HANDLER_ENTRY, newStack, useCollectorFixture } from './helpers';

/**
 * The runtime rule has one list, the preload layer's compatible runtimes: a Node.js runtime it
 * does not list (older, or newer than this version knows) is refused clearly on the explicit
 * paths and warned about by the Aspect, never CDK's generic layer error, never failing the
 * other functions.
 */

useCollectorFixture();

const NODE_CODE = Code.fromInline('exports.handler = async () => ({ ok: true });');
/** A Node.js runtime newer than the preload lists, as a newer aws-cdk-lib defines it. */
const NODEJS_26_X = new Runtime('nodejs26.x', RuntimeFamily.NODEJS, { supportsInlineCode: true });

test('the preload layer lists Node.js 22 and 24', () => {
  expect(OtelPreloadLayer.COMPATIBLE_RUNTIMES.map(r => r.name)).toEqual(['nodejs22.x', 'nodejs24.x']);
});

describe('OtelTracedFunction accepts exactly the runtimes the preload layer lists', () => {
  const nodeRuntimes = [...Runtime.ALL.filter(r => r.family === RuntimeFamily.NODEJS), NODEJS_26_X];

  test.each(nodeRuntimes.map(r => [r.name, r]))('%s', (_name, runtime) => {
    const make = () => new OtelTracedFunction(newStack(), 'Fn', { entry: HANDLER_ENTRY, runtime });
    if (OtelPreloadLayer.COMPATIBLE_RUNTIMES.some(r => r.name === runtime.name)) {
      expect(make).not.toThrow();
    } else {
      expect(make).toThrow(new RegExp(`^OtelTracedFunction 'TestStack/Fn': runtime ${runtime.name.replace('.', '\\.')} is (older than Node\\.js 22|not one the preload)`));
    }
  });

  test('a newer Node.js runtime: the runtime, the supported ones and the fix', () => {
    expect(() => new OtelTracedFunction(newStack(), 'Fn', { entry: HANDLER_ENTRY, runtime: NODEJS_26_X })).toThrow(
      "OtelTracedFunction 'TestStack/Fn': runtime nodejs26.x is not one the preload of this version of cdk-lambda-otel-xray supports " +
      '(nodejs22.x, nodejs24.x); use Runtime.NODEJS_24_X, or a version of cdk-lambda-otel-xray that supports nodejs26.x.');
  });
});

test('OtelTracing.addToFunction refuses a newer Node.js runtime the same way', () => {
  const stack = newStack();
  const fn = new LambdaFunction(stack, 'Fn', { runtime: NODEJS_26_X, handler: 'index.handler', code: NODE_CODE });
  expect(() => OtelTracing.addToFunction(fn)).toThrow(
    "OtelTracing.addToFunction('TestStack/Fn'): runtime nodejs26.x is not one the preload of this version of cdk-lambda-otel-xray supports");
});

test('the Aspect warns about a function of a newer Node.js runtime, leaves it as it is, and traces the others', () => {
  const stack = newStack();
  new LambdaFunction(stack, 'Newer', { runtime: NODEJS_26_X, handler: 'index.handler', code: NODE_CODE });
  new LambdaFunction(stack, 'Current', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: NODE_CODE });
  Aspects.of(stack).add(new OtelTracing());
  const template = Template.fromStack(stack);
  const functions = template.findResources('AWS::Lambda::Function');
  const props = (prefix: string) => Object.entries<any>(functions).find(([id]) => id.startsWith(prefix))![1].Properties;
  expect(props('Newer').Layers).toBeUndefined();
  expect(props('Current').Layers).toHaveLength(2);
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
  expect(warnings.map(w => [w.id, String(w.entry.data)])).toEqual([[
    '/TestStack/Newer',
    expect.stringMatching(/^not tracing Lambda function 'TestStack\/Newer': runtime nodejs26\.x is not one the preload .* supports \(nodejs22\.x, nodejs24\.x\); use Runtime\.NODEJS_24_X/),
  ]]);
});
