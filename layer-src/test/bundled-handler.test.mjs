// A handler bundled the way the CDK's NodejsFunction bundles it (esbuild, @aws-sdk/* left
// external and provided by the runtime) is still traced for fetch and for AWS SDK calls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleHandler } from './support/bundle-handler.mjs';
import { lambdaEnvironment, runHandler } from './support/run-handler.mjs';
import { parseXrayHeader, xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

const HANDLER_SOURCE = `
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

const sts = new STSClient({ region: process.env.AWS_REGION, endpoint: process.env.STS_ENDPOINT });

export const handler = async (event: { url: string }) => {
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const response = await fetch(event.url);
  return { account: identity.Account, body: await response.text() };
};
`;

/**
 * NodejsFunction's esbuild options: bundle, platform node, target of the runtime, @aws-sdk/*
 * external; with OutputFormat.ESM, format esm into index.mjs with main fields module,main and the
 * createRequire banner its documentation suggests for CommonJS dependencies.
 */
const BUNDLINGS = {
  'CommonJS bundle (index.js)': { format: 'cjs', outfile: 'index.js' },
  'CommonJS bundle (index.js) loaded with import() as the Node.js 24 runtime does': { format: 'cjs', outfile: 'index.js', loader: 'import' },
  'ESM bundle (index.mjs)': {
    format: 'esm',
    outfile: 'index.mjs',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  },
};

describe('handler bundled like NodejsFunction', () => {
  const standIns = useStandIns();

  for (const [kind, options] of Object.entries(BUNDLINGS)) {
    it(`${kind}: traces the AWS SDK call and the fetch under the handler span`, async () => {
      const { taskRoot, bundle } = await bundleHandler({ source: HANDLER_SOURCE, ...options });
      assert.doesNotMatch(bundle, /class STSClient/, 'the AWS SDK stays outside the bundle');
      const trace = xrayTraceHeader({ sampled: true });
      const path = `/${options.format}-${options.loader ?? 'auto'}`;
      const { results } = await runHandler({
        env: {
          ...lambdaEnvironment({ taskRoot, handler: 'index.handler', functionName: `bundled-${options.format}-${options.loader ?? 'auto'}` }),
          OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
          STS_ENDPOINT: standIns.downstream.url,
        },
        invocations: [{ event: { url: standIns.downstream.url + path }, traceHeader: trace.header }],
        loader: options.loader,
      });
      assert.deepEqual(results, [{ result: { account: '123456789012', body: `echo ${path}` } }]);

      const spans = await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === trace.traceId).length >= 3);
      const ofTrace = spans.filter((s) => s.traceId === trace.traceId);
      const handlerSpan = ofTrace.find((s) => s.scope === '@opentelemetry/instrumentation-aws-lambda');
      const sdkSpan = ofTrace.find((s) => s.scope === '@opentelemetry/instrumentation-aws-sdk');
      const fetchSpan = ofTrace.find((s) => s.scope === '@opentelemetry/instrumentation-undici');
      assert.ok(handlerSpan && sdkSpan && fetchSpan, `spans exported: ${ofTrace.map((s) => `${s.scope} ${s.name}`).join(', ')}`);
      assert.equal(handlerSpan.parentSpanId, trace.parentSpanId);
      assert.equal(sdkSpan.parentSpanId, handlerSpan.spanId);
      assert.equal(sdkSpan.attributes['rpc.service'], 'STS');
      assert.equal(sdkSpan.attributes['rpc.method'], 'GetCallerIdentity');
      assert.equal(fetchSpan.parentSpanId, handlerSpan.spanId);
      assert.equal(ofTrace.length, 3, 'one span each: the SDK call\'s own HTTP request is not traced twice');

      const stsRequest = standIns.downstream.requests.find((r) => r.body.includes('Action=GetCallerIdentity') && r.headers['x-amzn-trace-id']?.includes(trace.traceId.slice(8)));
      assert.ok(stsRequest, 'the STS request carries the trace');
      const fetchRequest = standIns.downstream.requests.find((r) => r.url === path);
      assert.equal(parseXrayHeader(fetchRequest.headers['x-amzn-trace-id']).Parent, fetchSpan.spanId);
    });
  }
});
