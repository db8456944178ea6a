import * as path from 'path';
import { Aspects, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { CfnFunction, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogRetention, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId, Provider } from 'aws-cdk-lib/custom-resources';
import { OtelTracing } from '../lib';
import { newStack, useCollectorFixture } from './helpers';

/**
 * CDK's own handler functions (custom resource providers, AwsCustomResource, BucketDeployment,
 * the Provider framework, log retention) are CDK's machinery: the Aspect leaves them as they are
 * and says nothing, so `cdk synth --strict` of a typical app passes.
 */

useCollectorFixture();

const NODE_CODE = Code.fromInline('exports.handler = async () => ({ ok: true });');

describe('an app with CDK\'s own handlers beside its own functions', () => {
  const stack = newStack();
  const bucket = new Bucket(stack, 'Site', { autoDeleteObjects: true, removalPolicy: RemovalPolicy.DESTROY });
  new BucketDeployment(stack, 'Deploy', { sources: [Source.data('index.html', '<p>hi</p>')], destinationBucket: bucket });
  new AwsCustomResource(stack, 'Lookup', {
    onCreate: { service: 'SSM', action: 'getParameter', parameters: { Name: 'p' }, physicalResourceId: PhysicalResourceId.of('p') },
    policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
    installLatestAwsSdk: false,
  });
  const api = new LambdaFunction(stack, 'Api', {
    runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: NODE_CODE,
  });
  new LogRetention(stack, 'ApiLogRetention', { logGroupName: '/aws/lambda/api', retention: RetentionDays.ONE_WEEK });
  const onEvent = new LambdaFunction(stack, 'OnEvent', {
    runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromAsset(path.join(__dirname, 'fixtures', 'handlers')), timeout: Duration.seconds(10),
  });
  new Provider(stack, 'Provider', { onEventHandler: onEvent });
  Aspects.of(stack).add(new OtelTracing());
  const template = Template.fromStack(stack);
  const functions = Object.entries<any>(template.findResources('AWS::Lambda::Function'));

  test('the app\'s functions are traced', () => {
    const traced = functions.filter(([, fn]) => /OtelCollectorLayer/.test(JSON.stringify(fn.Properties.Layers ?? []))).map(([id]) => id).sort();
    expect(traced).toEqual([expect.stringMatching(/^Api/), expect.stringMatching(/^OnEvent/)]);
    expect(api.node.id).toBe('Api');
  });

  test('CDK\'s own handlers are left as they are: no tracing layer, environment or mode', () => {
    const own = functions.filter(([id]) => !/^(Api|OnEvent)/.test(id));
    // auto-delete objects, BucketDeployment, AwsCustomResource, log retention, the Provider framework's onEvent
    expect(own.length).toBeGreaterThanOrEqual(5);
    for (const [id, fn] of own) {
      const layers: any[] = fn.Properties.Layers ?? [];
      expect(layers.filter(l => /OtelCollectorLayer|OtelPreloadLayer/.test(JSON.stringify(l)))).toEqual([]);
      expect(JSON.stringify(fn.Properties.Environment ?? {})).not.toMatch(/OTEL_|OPENTELEMETRY_/);
      expect([id, fn.Properties.TracingConfig]).toEqual([id, undefined]);
    }
  });

  test('no warning and no info: a --strict synth passes', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findInfo('*', Match.anyValue())).toEqual([]);
  });
});

test('a CloudFormation-only function of the app\'s own is still warned about', () => {
  const stack = newStack();
  new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: NODE_CODE });
  new CfnFunction(stack, 'Raw', {
    role: 'arn:aws:iam::123456789012:role/r', code: { zipFile: 'x' }, runtime: 'nodejs22.x', handler: 'index.handler',
  });
  Aspects.of(stack).add(new OtelTracing());
  Template.fromStack(stack);
  expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map(w => w.id)).toEqual(['/TestStack/Raw']);
});
