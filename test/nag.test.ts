import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { OtelTracedFunction } from '../lib';
import { HANDLER_ENTRY, useCollectorFixture } from './helpers';

useCollectorFixture();

/**
 * The AWS Solutions rules run against a traced function. The findings suppressed are those
 * every Lambda function has (the basic execution managed policy) and the X-Ray write wildcard,
 * which X-Ray requires because PutTraceSegments has no resource-level permissions.
 */
function nagErrors(suppress: boolean): string[] {
  const app = new App();
  const stack = new Stack(app, 'NagStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const fn = new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY });
  if (suppress) {
    NagSuppressions.addResourceSuppressions(fn, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'The standard Lambda logging policy, set by the base Function.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
        appliesTo: ['Resource::*'],
      },
    ], true);
  }
  Aspects.of(stack).add(new AwsSolutionsChecks());
  return Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))
    .map(e => /^AwsSolutions-[A-Za-z]+\d+/.exec(String(e.entry.data))![0]);
}

describe('cdk-nag AwsSolutions', () => {
  test('a traced function has no finding beyond the two inherent ones', () => {
    expect(nagErrors(true)).toEqual([]);
  });

  test('the rules do run: unsuppressed, exactly the two inherent findings appear', () => {
    expect(nagErrors(false).sort()).toEqual(['AwsSolutions-IAM4', 'AwsSolutions-IAM5']);
  });
});
