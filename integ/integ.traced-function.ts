import * as path from 'path';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OtelTracedFunction, TraceExporter } from '../lib';

/**
 * Deploys two traced functions (x86_64 CommonJS, arm64 ESM), invokes each, and waits until
 * X-Ray holds its trace with the handler's segment (service name) beside Lambda's own.
 */
const app = new App();
const stack = new Stack(app, 'OtelTracedFunctionInteg');

const cases = [
  { id: 'Cjs', serviceName: 'integ-otel-cjs', architecture: Architecture.X86_64, format: OutputFormat.CJS },
  { id: 'Esm', serviceName: 'integ-otel-esm', architecture: Architecture.ARM_64, format: OutputFormat.ESM },
];

const integ = new IntegTest(app, 'TracedFunction', { testCases: [stack], diffAssets: false });

for (const c of cases) {
  const fn = new OtelTracedFunction(stack, c.id, {
    entry: path.join(__dirname, 'handlers', 'report-trace.ts'),
    architecture: c.architecture,
    serviceName: c.serviceName,
    timeout: Duration.seconds(10),
    exporter: TraceExporter.xray({ indexedAttributes: ['faas.name'] }),
    bundling: { format: c.format },
  });

  const invoke = integ.assertions.invokeFunction({ functionName: fn.functionName });
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
