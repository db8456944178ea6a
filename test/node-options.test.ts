import { Aspects, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { OtelTracedFunction, OtelTracing } from '../lib';
import { contractValues, HANDLER_ENTRY, newStack, nodeFunction, useCollectorFixture } from './helpers';

/**
 * NODE_OPTIONS set after tracing (`addEnvironment`) keeps the preload's --import on every path,
 * as the constructor's environment does; what cannot take it fails synth, naming the function.
 */

useCollectorFixture();

const C = contractValues();
const PRELOAD = `--import ${C.preloadImportPath}`;

function nodeOptionsOf(stack: Stack): unknown {
  const [fn] = Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return fn.Properties.Environment.Variables.NODE_OPTIONS;
}

describe.each<[string, (stack: Stack) => LambdaFunction]>([
  ['OtelTracing.addToFunction on a lambda.Function', stack => {
    const fn = nodeFunction(stack, 'Fn');
    OtelTracing.addToFunction(fn);
    return fn;
  }],
  ['OtelTracedFunction', stack => new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY })],
])('%s, then addEnvironment(NODE_OPTIONS)', (_name, traced) => {
  test('keeps the preload after the new flags, once', () => {
    const stack = newStack();
    const fn = traced(stack);
    fn.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
    fn.addEnvironment('NODE_OPTIONS', '--enable-source-maps --max-old-space-size=256');
    expect(nodeOptionsOf(stack)).toBe(`--enable-source-maps --max-old-space-size=256 ${PRELOAD}`);
  });

  test('a value that loads the preload already is kept as it is', () => {
    const stack = newStack();
    traced(stack).addEnvironment('NODE_OPTIONS', `${PRELOAD} --enable-source-maps`);
    expect(nodeOptionsOf(stack)).toBe(`${PRELOAD} --enable-source-maps`);
  });

  test('another tracer fails synth, naming the function and the flag', () => {
    const stack = newStack();
    traced(stack).addEnvironment('NODE_OPTIONS', '--require dd-trace/init');
    expect(() => Template.fromStack(stack)).toThrow(/'TestStack\/Fn'\)?: environment.NODE_OPTIONS: '--require dd-trace\/init' loads another tracer/);
  });

  test('a value known only at deploy time fails synth: the preload cannot be added to it', () => {
    const stack = newStack();
    traced(stack).addEnvironment('NODE_OPTIONS', Fn.importValue('node-options'));
    expect(() => Template.fromStack(stack)).toThrow(
      /'TestStack\/Fn'\)?: NODE_OPTIONS is not known at synth time, so the preload cannot be added to it; give it as a plain string\./);
  });
});

test('the Aspect, then other variables: NODE_OPTIONS is the preload', () => {
  const stack = newStack();
  const fn = nodeFunction(stack, 'Fn');
  Aspects.of(stack).add(new OtelTracing());
  fn.addEnvironment('OTHER', 'x');
  expect(nodeOptionsOf(stack)).toBe(PRELOAD);
});

test('a function of another runtime is left alone: it has no preload', () => {
  const stack = newStack();
  const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.PYTHON_3_13, handler: 'index.handler', code: Code.fromInline('x = 1') });
  OtelTracing.addToFunction(fn);
  fn.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
  expect(nodeOptionsOf(stack)).toBe('--enable-source-maps');
});

