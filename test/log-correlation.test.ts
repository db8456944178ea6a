import { Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { OtelTracedFunction, OtelTracing } from '../lib';
import { HANDLER_ENTRY, newStack, useCollectorFixture } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const OPT_OUT: string = require('../contract/contract.json').preload.env.logCorrelation;

beforeEach(() => {
  useCollectorFixture();
});

afterEach(() => {
  jest.restoreAllMocks();
});

function variables(logCorrelation?: boolean): { [key: string]: unknown } {
  const stack = newStack();
  new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, logCorrelation });
  const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  return fn.Properties.Environment.Variables;
}

describe('logCorrelation', () => {
  test('is on by default: the preload is left to its default, nothing is written', () => {
    expect(variables()).not.toHaveProperty(OPT_OUT);
    expect(variables(true)).not.toHaveProperty(OPT_OUT);
  });

  test('false turns it off in the preload', () => {
    expect(variables(false)[OPT_OUT]).toBe('false');
  });

  test('a value the function sets itself wins', () => {
    const stack = newStack();
    new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, logCorrelation: false, environment: { [OPT_OUT]: 'true' } });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { [OPT_OUT]: 'true' } },
    });
  });

  test('OtelTracing.addToFunction takes it too; a Python function ignores it', () => {
    const stack = newStack();
    const node = new LambdaFunction(stack, 'Node', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => 1;') });
    const python = new LambdaFunction(stack, 'Python', { runtime: Runtime.PYTHON_3_13, handler: 'index.handler', code: Code.fromInline('def handler(e, c): return 1') });
    OtelTracing.addToFunction(node, { logCorrelation: false });
    OtelTracing.addToFunction(python, { logCorrelation: false });
    const template = Template.fromStack(stack);
    const env = (id: string) => Object.entries(template.findResources('AWS::Lambda::Function'))
      .find(([logicalId]) => logicalId.startsWith(id))![1].Properties.Environment.Variables;
    expect(env('Node')[OPT_OUT]).toBe('false');
    expect(env('Python')).not.toHaveProperty(OPT_OUT);
  });
});
