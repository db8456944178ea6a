import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, IFunction, Runtime, SingletonFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { OtelTracing } from '../lib';

/**
 * Traces functions the library did not create, through the OtelTracing Aspect: a plain
 * lambda.Function (CommonJS, inline code), a function made by another construct, and a
 * SingletonFunction. Deployed, each is invoked and its trace must hold the handler's segment
 * (named by the service name) beside Lambda's own.
 */
const app = new App();
const stack = new Stack(app, 'OtelTracingAspectInteg');

/** Answers with the X-Ray trace ID of its own invocation, for the assertions to look it up. */
const REPORT_TRACE = Code.fromInline(
  "exports.handler = async () => ({ traceId: /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID || '')?.[1] });",
);

/** Someone else's construct, which makes its own function. */
class Widget extends Construct {
  public readonly fn: LambdaFunction;
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.fn = new LambdaFunction(this, 'Handler', {
      runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: REPORT_TRACE, timeout: Duration.seconds(10), functionName: 'integ-otel-widget',
    });
  }
}

const cases: Array<{ fn: IFunction; serviceName: string }> = [
  {
    fn: new LambdaFunction(stack, 'Plain', {
      runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: REPORT_TRACE, timeout: Duration.seconds(10), functionName: 'integ-otel-plain',
    }),
    serviceName: 'integ-otel-plain',
  },
  { fn: new Widget(stack, 'Widget').fn, serviceName: 'integ-otel-widget' },
  {
    fn: new SingletonFunction(stack, 'Singleton', {
      uuid: '5d0c3e55-4b7f-4a57-9a3c-8f1d2a6c9b01',
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: REPORT_TRACE,
      timeout: Duration.seconds(10),
      functionName: 'integ-otel-singleton',
    }),
    serviceName: 'integ-otel-singleton',
  },
];

Aspects.of(stack).add(new OtelTracing());

const integ = new IntegTest(app, 'TracingAspect', { testCases: [stack], diffAssets: false });

for (const c of cases) {
  const invoke = integ.assertions.invokeFunction({ functionName: c.fn.functionName });
  invoke.expect(ExpectedResult.objectLike({ StatusCode: 200 }));

  integ.assertions
    .awsApiCall('XRay', 'batchGetTraces', { TraceIds: [invoke.getAttString('Payload.traceId')] })
    .expect(ExpectedResult.objectLike({
      Traces: [Match.objectLike({
        Segments: Match.arrayWith([
          Match.objectLike({ Document: Match.stringLikeRegexp(`"name":"${c.serviceName}"`) }),
        ]),
      })],
    }))
    .waitForAssertions({ totalTimeout: Duration.minutes(3), interval: Duration.seconds(10) });
}

app.synth();
