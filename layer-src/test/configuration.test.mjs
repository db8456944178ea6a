// The preload's configuration, read from environment variables, tested on the sources.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { PreloadConfigError } from '../src/config-error.mjs';
import { configureDiagnostics } from '../src/diagnostics.mjs';
import { handlerFileUrls } from '../src/esm-hook.mjs';
import { withPatchableExport } from '../src/handler-exports.mjs';
import { handlerLocation } from '../src/handler-location.mjs';
import { untracedRequestFilter } from '../src/loopback-requests.mjs';
import { selectInstrumentations } from '../src/instrumentations.mjs';
import { createPropagator } from '../src/propagation.mjs';
import { createResource } from '../src/resource.mjs';
import { safeStart } from '../src/safe-start.mjs';
import { DEFAULT_EXPORT_TIMEOUT_MILLIS, DEFAULT_TRACES_URL, exporterOptions } from '../src/tracer-provider.mjs';
import { xrayTraceHeader } from './support/xray.mjs';

describe('selectInstrumentations', () => {
  it('chooses aws-lambda, http, undici and aws-sdk by default', () => {
    assert.deepEqual(selectInstrumentations({}), ['aws-lambda', 'http', 'undici', 'aws-sdk']);
    assert.deepEqual(selectInstrumentations({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: ' ' }), ['aws-lambda', 'http', 'undici', 'aws-sdk']);
  });

  it('chooses the listed instrumentations and always aws-lambda', () => {
    assert.deepEqual(selectInstrumentations({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'Undici, aws-sdk' }), ['aws-lambda', 'undici', 'aws-sdk']);
    assert.deepEqual(selectInstrumentations({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'aws-lambda' }), ['aws-lambda']);
    assert.deepEqual(selectInstrumentations({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'pg,mysql2,ioredis,redis,prisma,graphql' }),
      ['aws-lambda', 'pg', 'mysql2', 'ioredis', 'redis', 'prisma', 'graphql']);
  });

  it('leaves out disabled instrumentations, except aws-lambda', () => {
    assert.deepEqual(selectInstrumentations({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http,aws-lambda' }), ['aws-lambda', 'undici', 'aws-sdk']);
  });

  it('rejects an unknown name, naming the variable, the value and the accepted names', () => {
    assert.throws(() => selectInstrumentations({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'fetch' }), (error) => {
      assert.ok(error instanceof PreloadConfigError);
      assert.equal(error.message,
        'OTEL_NODE_DISABLED_INSTRUMENTATIONS="fetch" is not valid: unknown instrumentation "fetch". ' +
        'Use a comma-separated list of aws-lambda, http, undici, aws-sdk, pg, mysql2, ioredis, redis, prisma, graphql (aws-lambda is always on).');
      return true;
    });
  });
});

describe('untracedRequestFilter', () => {
  it('matches the Lambda Runtime API and the default collector address only', () => {
    const isUntraced = untracedRequestFilter({ AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' });
    assert.equal(isUntraced('127.0.0.1', '9001'), true);
    assert.equal(isUntraced('127.0.0.1', 4318), true);
    assert.equal(isUntraced('127.0.0.1', '4319'), false);
    assert.equal(isUntraced('example.com', '443'), false);
    assert.equal(isUntraced(undefined, undefined), false);
  });

  it('follows the traces endpoint first, then the base endpoint', () => {
    const traces = untracedRequestFilter({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://localhost:5000/v1/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:6000' });
    assert.equal(traces('localhost', '5000'), true);
    assert.equal(traces('127.0.0.1', '6000'), false);
    assert.equal(traces('127.0.0.1', '4318'), false);
    const base = untracedRequestFilter({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal' });
    assert.equal(base('collector.internal', ''), true);
  });

  it('matches nothing for an endpoint that is not a URL, and for an unset Runtime API', () => {
    const isUntraced = untracedRequestFilter({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' });
    assert.equal(isUntraced('127.0.0.1', '4318'), false);
    assert.equal(isUntraced('not a url', ''), false);
  });
});

describe('createPropagator', () => {
  const savedTraceHeader = process.env._X_AMZN_TRACE_ID;
  afterEach(() => {
    if (savedTraceHeader === undefined) delete process.env._X_AMZN_TRACE_ID;
    else process.env._X_AMZN_TRACE_ID = savedTraceHeader;
  });
  const w3c = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
  const w3cHeaders = { traceparent: `00-${w3c.traceId}-${w3c.spanId}-01` };

  function extract(propagator, carrier) {
    return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
  }

  it('defaults to xray-lambda and tracecontext: injects both headers', () => {
    const propagator = createPropagator({});
    assert.deepEqual(propagator.fields().sort(), ['traceparent', 'tracestate', 'x-amzn-trace-id']);
    const carrier = {};
    const spanContext = { traceId: w3c.traceId, spanId: w3c.spanId, traceFlags: 1 };
    propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, defaultTextMapSetter);
    assert.equal(carrier.traceparent, w3cHeaders.traceparent);
    assert.equal(carrier['x-amzn-trace-id'], `Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=${w3c.spanId};Sampled=1`);
  });

  it('makes the Lambda segment from _X_AMZN_TRACE_ID the parent, ahead of incoming headers', () => {
    const lambda = xrayTraceHeader({ sampled: true });
    process.env._X_AMZN_TRACE_ID = lambda.header;
    const extracted = extract(createPropagator({}), w3cHeaders);
    assert.equal(extracted.traceId, lambda.traceId);
    assert.equal(extracted.spanId, lambda.parentSpanId);
    assert.equal(extracted.traceFlags, 1);
    assert.equal(extracted.isRemote, true);
  });

  it('keeps Sampled=0 from _X_AMZN_TRACE_ID', () => {
    process.env._X_AMZN_TRACE_ID = xrayTraceHeader({ sampled: false }).header;
    assert.equal(extract(createPropagator({}), w3cHeaders).traceFlags, 0);
  });

  it('accepts W3C trace context from the event headers when Lambda passes no trace header', () => {
    delete process.env._X_AMZN_TRACE_ID;
    const extracted = extract(createPropagator({}), w3cHeaders);
    assert.equal(extracted.traceId, w3c.traceId);
    assert.equal(extracted.spanId, w3c.spanId);
  });

  it('ignores _X_AMZN_TRACE_ID unless xray-lambda is listed', () => {
    process.env._X_AMZN_TRACE_ID = xrayTraceHeader({ sampled: true }).header;
    const propagator = createPropagator({ OTEL_PROPAGATORS: 'tracecontext,xray' });
    assert.equal(extract(propagator, w3cHeaders).traceId, w3c.traceId);
    assert.equal(extract(propagator, {}), undefined);
  });

  it('sets no propagator for none, and rejects none with others', () => {
    assert.equal(createPropagator({ OTEL_PROPAGATORS: 'none' }), undefined);
    assert.throws(() => createPropagator({ OTEL_PROPAGATORS: 'none,xray' }),
      /OTEL_PROPAGATORS="none,xray" is not valid: "none" cannot be combined with other propagators/);
  });

  it('rejects an unknown propagator, naming the accepted ones', () => {
    assert.throws(() => createPropagator({ OTEL_PROPAGATORS: 'jaeger' }),
      /OTEL_PROPAGATORS="jaeger" is not valid: unknown propagator "jaeger"\. Use a comma-separated list of tracecontext, baggage, xray, xray-lambda, none\./);
  });
});

describe('configureDiagnostics', () => {
  it('rejects an unknown OTEL_LOG_LEVEL, naming the accepted levels', () => {
    assert.throws(() => configureDiagnostics({ OTEL_LOG_LEVEL: 'chatty' }),
      /OTEL_LOG_LEVEL="chatty" is not valid: unknown log level\. Set it to one of none, error, warn, info, debug, verbose, all/);
  });
});

describe('exporterOptions', () => {
  it("exports to the collector's loopback endpoint with a short timeout by default", () => {
    const { collector } = JSON.parse(readFileSync(new URL('../../contract/contract.json', import.meta.url), 'utf8'));
    assert.equal(DEFAULT_TRACES_URL, `${collector.otlpHttpEndpoint}${collector.otlpTracesPath}`);
    assert.deepEqual(exporterOptions({}), { url: DEFAULT_TRACES_URL, timeoutMillis: DEFAULT_EXPORT_TIMEOUT_MILLIS });
  });

  it('leaves endpoint and timeout to the exporter when the OTLP variables set them', () => {
    assert.deepEqual(exporterOptions({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4999', OTEL_EXPORTER_OTLP_TIMEOUT: '500' }), {});
    assert.deepEqual(exporterOptions({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4999/v1/traces', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500' }), {});
  });
});

describe('createResource', () => {
  const lambda = {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'orders-api',
    AWS_LAMBDA_FUNCTION_VERSION: '7',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders-api',
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/22/[7]abc',
  };
  // The detectors read process.env, as in Lambda.
  function withEnv(env, body) {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return body();
    } finally {
      for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  }

  it('names the service after the function and carries cloud, faas and the log group', () => {
    const { attributes } = withEnv(lambda, () => createResource(lambda));
    assert.equal(attributes['service.name'], 'orders-api');
    assert.equal(attributes['cloud.provider'], 'aws');
    assert.equal(attributes['cloud.platform'], 'aws_lambda');
    assert.equal(attributes['cloud.region'], 'eu-west-1');
    assert.equal(attributes['faas.name'], 'orders-api');
    assert.equal(attributes['faas.version'], '7');
    assert.equal(attributes['faas.max_memory'], 512 * 1024 * 1024);
    assert.deepEqual(attributes['aws.log.group.names'], ['/aws/lambda/orders-api']);
    assert.equal(attributes['telemetry.sdk.language'], 'nodejs');
  });

  it('lets OTEL_SERVICE_NAME name the service', () => {
    const env = { ...lambda, OTEL_SERVICE_NAME: 'orders' };
    assert.equal(withEnv(env, () => createResource(env)).attributes['service.name'], 'orders');
  });
});

describe('handler location', () => {
  it('resolves _HANDLER under LAMBDA_TASK_ROOT, with a sub-directory', () => {
    const env = { LAMBDA_TASK_ROOT: '/var/task', _HANDLER: 'src/api/index.handler' };
    assert.deepEqual(handlerLocation(env), { modulePath: '/var/task/src/api/index', functionName: 'handler' });
    assert.deepEqual(handlerFileUrls(env), ['file:///var/task/src/api/index.js', 'file:///var/task/src/api/index.mjs', 'file:///var/task/src/api/index.cjs']);
  });

  it('finds nothing outside Lambda', () => {
    assert.equal(handlerLocation({}), undefined);
    assert.deepEqual(handlerFileUrls({}), []);
  });
});

describe('withPatchableExport', () => {
  it('copies exports whose handler is a getter that cannot be redefined, as esbuild writes them', () => {
    const handler = async () => 'ok';
    const exports = {};
    Object.defineProperty(exports, '__esModule', { value: true });
    Object.defineProperty(exports, 'handler', { enumerable: true, get: () => handler });
    const patchable = withPatchableExport(exports, 'handler');
    assert.notEqual(patchable, exports);
    assert.equal(patchable.handler, handler);
    assert.equal(patchable.__esModule, true);
    const descriptor = Object.getOwnPropertyDescriptor(patchable, 'handler');
    assert.equal(descriptor.configurable, true);
    assert.equal(descriptor.writable, true);
  });

  it('returns plain exports unchanged', () => {
    const exports = { handler: async () => 'ok' };
    assert.equal(withPatchableExport(exports, 'handler'), exports);
    assert.equal(withPatchableExport(exports, 'missing'), exports);
  });
});

describe('safeStart', () => {
  it('reports a failed start in one line and does not throw', async () => {
    const lines = [];
    const started = await safeStart(async () => { throw new TypeError('boom'); }, (line) => lines.push(line));
    assert.equal(started, false);
    assert.deepEqual(lines, ['[otel-preload] tracing disabled, the function runs untraced: TypeError: boom']);
  });

  it('reports nothing when the start succeeds', async () => {
    const lines = [];
    assert.equal(await safeStart(async () => {}, (line) => lines.push(line)), true);
    assert.deepEqual(lines, []);
  });
});
