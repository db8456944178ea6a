import { Aspects, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { OtelTracedFunction, OtelTracing, TraceExporter } from '../lib';
import { contractValues, HANDLER_ENTRY, newStack, nodeFunction, useCollectorFixture } from './helpers';
import { environmentSize, MAX_ENVIRONMENT_BYTES } from '../lib/validation';

/**
 * Lambda refuses a function whose environment, the JSON of its variables map, is over 4 KB:
 * every path refuses to make one (the Aspect warns and leaves the function as it is).
 */

useCollectorFixture();

const C = contractValues();

/** The environment of the one function `id`, as synthesized. */
function variablesOf(stack: Stack, id: string): { [key: string]: unknown } {
  const found = Object.entries<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function')).filter(([logicalId]) => logicalId.startsWith(id));
  expect(found).toHaveLength(1);
  return found[0][1].Properties.Environment?.Variables ?? {};
}

/** What Lambda counts: the UTF-8 bytes of the JSON of the variables map. */
function lambdaBytes(variables: { [key: string]: unknown }): number {
  return Buffer.byteLength(JSON.stringify(variables), 'utf8');
}

/** The length of a value of BIG that makes the traced environment exactly `bytes`. */
function bigValueLength(bytes: number, trace: (stack: Stack) => void): number {
  const stack = newStack();
  trace(stack);
  const traced = variablesOf(stack, 'Fn');
  expect(traced.BIG).toBe('');
  return bytes - lambdaBytes(traced);
}

describe('the size is measured as Lambda measures it', () => {
  test('the JSON of the variables, in UTF-8 bytes', () => {
    expect(environmentSize({}).bytes).toBe(2);
    expect(environmentSize({ A: 'b' }).bytes).toBe('{"A":"b"}'.length);
    expect(environmentSize({ A: 'é"' }).bytes).toBe(Buffer.byteLength('{"A":"é\\""}'));
  });

  test('a value known only at deploy time counts as its literal text, and is named', () => {
    const size = environmentSize({ A: { Ref: 'Bucket' }, B: { 'Fn::Join': ['-', ['prefix', { Ref: 'X' }, 'suffix']] }, C: 'c' });
    expect(size.bytes).toBe(lambdaBytes({ A: '', B: 'prefix--suffix', C: 'c' }));
    expect(size.unresolved).toEqual(['A', 'B']);
  });
});

describe.each([
  ['OtelTracedFunction', (stack: Stack, environment: { [key: string]: string }) => {
    new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, environment });
  }],
  ['OtelTracing.addToFunction', (stack: Stack, environment: { [key: string]: string }) => {
    OtelTracing.addToFunction(nodeFunction(stack, 'Fn', { environment }));
  }],
])('%s', (_name, trace) => {
  const limit = bigValueLength(MAX_ENVIRONMENT_BYTES, stack => trace(stack, { BIG: '' }));

  test('an environment of exactly 4 KB once traced is accepted', () => {
    const stack = newStack();
    trace(stack, { BIG: 'x'.repeat(limit) });
    expect(lambdaBytes(variablesOf(stack, 'Fn'))).toBe(MAX_ENVIRONMENT_BYTES);
  });

  test('one byte more, though it fits untraced, is refused with the sizes and the fix', () => {
    const untraced = newStack();
    nodeFunction(untraced, 'Fn', { environment: { BIG: 'x'.repeat(limit + 1) } });
    expect(lambdaBytes(variablesOf(untraced, 'Fn'))).toBeLessThan(MAX_ENVIRONMENT_BYTES);

    expect(() => trace(newStack(), { BIG: 'x'.repeat(limit + 1) })).toThrow(new RegExp(
      "'TestStack/Fn'\\)?: its environment would be 4097 bytes \\(the JSON of its variables\\), \\d+ of them for tracing \\(.*OTEL_EXPORTER_OTLP_ENDPOINT.*\\), " +
      'and Lambda allows 4096 \\(4 KB\\)\\. Shorten the function\'s own variables, or move large values to SSM Parameter Store or Secrets Manager'));
  });
});

describe('the OtelTracing Aspect', () => {
  test('warns about a function whose environment would be too large, leaves it as it is, and traces the others', () => {
    const limit = bigValueLength(MAX_ENVIRONMENT_BYTES, stack => {
      nodeFunction(stack, 'Fn', { environment: { BIG: '' } });
      Aspects.of(stack).add(new OtelTracing());
    });
    const stack = newStack();
    nodeFunction(stack, 'Fits', { environment: { BIG: 'x'.repeat(limit) } });
    nodeFunction(stack, 'TooLarge', { environment: { BIG: 'x'.repeat(limit + 1) } });
    Aspects.of(stack).add(new OtelTracing());
    expect(lambdaBytes(variablesOf(stack, 'Fits'))).toBe(MAX_ENVIRONMENT_BYTES);
    expect(variablesOf(stack, 'TooLarge')).toEqual({ BIG: 'x'.repeat(limit + 1) });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings.map(w => w.id)).toEqual(['/TestStack/TooLarge']);
    expect(String(warnings[0].entry.data)).toMatch(/^not tracing Lambda function 'TestStack\/TooLarge': its environment would be 4097 bytes/);
  });

  test('a large exporter configuration counts', () => {
    const stack = newStack();
    nodeFunction(stack, 'Fn');
    const indexedAttributes = Array.from({ length: 200 }, (_, i) => `app.attribute.${i}`);
    Aspects.of(stack).add(new OtelTracing({ exporter: TraceExporter.xray({ indexedAttributes }) }));
    Template.fromStack(stack);
    const [warning] = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(String(warning.entry.data)).toMatch(new RegExp(`its environment would be \\d+ bytes .*, \\d{4,} of them for tracing \\(.*${C.env.configUri}`));
  });
});

describe('values known only at deploy time', () => {
  test('a reference counts as nothing, so a function it would take over the limit is still traced', () => {
    const limit = bigValueLength(MAX_ENVIRONMENT_BYTES, stack => OtelTracing.addToFunction(nodeFunction(stack, 'Fn', { environment: { BIG: '' } })));
    const stack = newStack();
    const bucket = new Bucket(stack, 'Bucket');
    OtelTracing.addToFunction(nodeFunction(stack, 'Fn', { environment: { BIG: 'x'.repeat(limit - 20), BUCKET: bucket.bucketName } }));
    expect(variablesOf(stack, 'Fn').BUCKET).toEqual({ Ref: expect.stringMatching(/^Bucket/) });
  });

  test('the literal text of a joined value counts, and the message says which values were estimated', () => {
    const stack = newStack();
    const bucket = new Bucket(stack, 'Bucket');
    const fn = nodeFunction(stack, 'Fn', { environment: { URL: Fn.join('', ['https://', 'x'.repeat(4000), '/', bucket.bucketName]) } });
    expect(() => OtelTracing.addToFunction(fn)).toThrow(/its environment would be \d+ bytes \(the JSON of its variables, counting only the literal text of URL, whose value is known at deploy time\)/);
  });
});

describe('variables added after tracing', () => {
  test('are checked when the app is synthesized', () => {
    const stack = newStack();
    const fn = new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY });
    fn.addEnvironment('BIG', 'x'.repeat(MAX_ENVIRONMENT_BYTES));
    expect(() => Template.fromStack(stack)).toThrow(
      /OtelTracedFunction 'TestStack\/Fn': its environment is \d+ bytes \(the JSON of its variables\), \d+ of them for tracing \(.*NODE_OPTIONS\), and Lambda allows 4096 \(4 KB\)\. Shorten/);
  });

  test('a function that fits passes', () => {
    const stack = newStack();
    const fn = new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY });
    fn.addEnvironment('SMALL', 'x'.repeat(100));
    expect(variablesOf(stack, 'Fn').SMALL).toHaveLength(100);
  });
});
