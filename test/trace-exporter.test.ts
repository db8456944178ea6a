import * as fs from 'fs';
import * as path from 'path';
import { Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { OtelTracedFunction, OtelTracing, TraceExporter, XRayDelivery } from '../lib';
import { HANDLER_ENTRY, newStack, useCollectorFixture } from './helpers';
import { COLLECTOR_SOURCE_DIR } from '../lib/collector-bundling';
import { collectorConfigUri, renderCollectorConfig } from '../lib/collector-config';

const PATH = 'OtelTracedFunction \'Fn\': exporter';

function statementsJson(exporter: TraceExporter): any[] {
  const stack = new Stack();
  return exporter.bind(PATH).policyStatements.map(s => stack.resolve(s.toStatementJson()));
}

describe('TraceExporter.xray', () => {
  test('with no option, the function uses the layer\'s configuration file', () => {
    const config = TraceExporter.xray().bind(PATH);
    expect(config.isLayerDefault).toBe(true);
    expect(collectorConfigUri(config)).toBe('file:/opt/collector-config/config.yaml');
  });

  test('needs exactly the two X-Ray write actions', () => {
    expect(statementsJson(TraceExporter.xray())).toEqual([
      { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('an endpoint override is rendered', () => {
    const config = TraceExporter.xray({ endpoint: 'https://vpce-1.xray.eu-west-1.vpce.amazonaws.com' }).bind(PATH);
    expect(renderCollectorConfig(config).exporters.awsxray.endpoint).toBe('https://vpce-1.xray.eu-west-1.vpce.amazonaws.com');
  });
});

describe('TraceExporter.xray with XRayDelivery.DAEMON', () => {
  test('renders the awsxray_daemon exporter alone, with the indexed attributes, and needs Lambda\'s tracing', () => {
    const config = TraceExporter.xray({ delivery: XRayDelivery.DAEMON, indexedAttributes: ['tenant'] }).bind(PATH);
    expect(config.needsLambdaTracing).toBe(true);
    const rendered = renderCollectorConfig(config);
    expect(rendered.exporters).toEqual({ awsxray_daemon: { indexed_attributes: ['tenant'] } });
    expect(rendered.service.pipelines.traces.exporters).toEqual(['awsxray_daemon']);
    expect(collectorConfigUri(config)).toMatch(/^yaml:\{/);
  });

  test('the daemon uploads with the function\'s role: the same two X-Ray write actions', () => {
    expect(statementsJson(TraceExporter.xray({ delivery: XRayDelivery.DAEMON }))).toEqual([
      { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('a Region or an API endpoint is refused, naming the option and the fix', () => {
    expect(() => TraceExporter.xray({ delivery: XRayDelivery.DAEMON, region: 'eu-west-1' }).bind(PATH))
      .toThrow(/exporter.region: 'eu-west-1' applies to the X-Ray API, but delivery is XRayDelivery.DAEMON.*remove region, or use XRayDelivery.API/);
    expect(() => TraceExporter.xray({ delivery: XRayDelivery.DAEMON, endpoint: 'https://vpce-1.example.com' }).bind(PATH))
      .toThrow(/exporter.endpoint: .* remove endpoint/);
    expect(() => TraceExporter.xray({ delivery: 'udp' as XRayDelivery }).bind(PATH)).toThrow(/exporter.delivery: 'udp' is not a delivery; use XRayDelivery.API or XRayDelivery.DAEMON/);
  });

  describe('needs Lambda\'s tracing on, which runs the daemon', () => {
    beforeEach(() => useCollectorFixture());
    afterEach(() => jest.restoreAllMocks());
    const exporter = TraceExporter.xray({ delivery: XRayDelivery.DAEMON });

    test('with active tracing (the default) the function uses it', () => {
      const stack = newStack();
      new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, exporter });
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    });

    test('with tracing off, synth fails naming the function, the delivery and the fix', () => {
      expect(() => new OtelTracedFunction(newStack(), 'Fn', { entry: HANDLER_ENTRY, exporter, tracing: Tracing.DISABLED }))
        .toThrow(/TestStack\/Fn.*its tracing is off, and the exporter's delivery XRayDelivery.DAEMON .* set the function's tracing to Tracing.ACTIVE \(or Tracing.PASS_THROUGH\), or use XRayDelivery.API\./);
    });

    test('the Aspect turns a function\'s tracing on when it has none, so the daemon runs for it', () => {
      const stack = newStack();
      new LambdaFunction(stack, 'Py', { runtime: Runtime.PYTHON_3_13, handler: 'app.handler', code: Code.fromInline('def handler(e, c): return 1') });
      Aspects.of(stack).add(new OtelTracing({ exporter }));
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'python3.13',
        TracingConfig: { Mode: 'Active' },
        Environment: { Variables: { OPENTELEMETRY_COLLECTOR_CONFIG_URI: Match.stringLikeRegexp('awsxray_daemon') } },
      });
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    });
  });

  test('the collector accepts the rendered configuration\'s exporter', () => {
    const components = fs.readFileSync(path.join(COLLECTOR_SOURCE_DIR, 'internal', 'components', 'xraydaemon.go'), 'utf8');
    expect(components).toContain('component.MustNewType("awsxray_daemon")');
  });
});

describe('TraceExporter.xrayOtlp', () => {
  test('sends to X-Ray\'s OTLP endpoint signed with SigV4', () => {
    const config = TraceExporter.xrayOtlp({ region: 'ap-southeast-2' }).bind(PATH);
    expect(renderCollectorConfig(config)).toEqual({
      receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:4318', max_request_body_size: 4194304, idle_timeout: '0s' } } } },
      exporters: {
        'otlphttp/xray': {
          traces_endpoint: 'https://xray.ap-southeast-2.amazonaws.com/v1/traces',
          auth: { authenticator: 'sigv4auth' },
        },
      },
      extensions: { sigv4auth: { region: 'ap-southeast-2', service: 'xray' } },
      service: { extensions: ['sigv4auth'], pipelines: { traces: { receivers: ['otlp'], exporters: ['otlphttp/xray'] } } },
    });
    expect(statementsJson(TraceExporter.xrayOtlp())).toEqual([
      { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('defaults to the function\'s Region', () => {
    const config = TraceExporter.xrayOtlp().bind(PATH);
    expect(config.settings.traces_endpoint).toBe('https://xray.${env:AWS_REGION}.amazonaws.com/v1/traces');
  });

  test('rejects a malformed Region', () => {
    expect(() => TraceExporter.xrayOtlp({ region: 'EU' }).bind(PATH)).toThrow(/exporter.region: 'EU' is not an AWS Region name/);
  });
});

describe('TraceExporter.otlp', () => {
  test('sends to any OTLP/HTTP backend with headers and no IAM permission', () => {
    const config = TraceExporter.otlp({ tracesEndpoint: 'https://otlp.example.com/v1/traces', headers: { 'x-api-key': '${env:API_KEY}' } }).bind(PATH);
    expect(renderCollectorConfig(config).exporters).toEqual({
      otlphttp: { traces_endpoint: 'https://otlp.example.com/v1/traces', headers: { 'x-api-key': '${env:API_KEY}' } },
    });
    expect(config.policyStatements).toEqual([]);
    expect(collectorConfigUri(config)).toMatch(/^yaml:\{/);
  });

  test('rejects a malformed endpoint or header', () => {
    expect(() => TraceExporter.otlp({ tracesEndpoint: 'otlp.example.com' }).bind(PATH)).toThrow(
      /exporter.tracesEndpoint: 'otlp.example.com' is not an http\(s\) URL; use one such as 'https:\/\/otlp.example.com\/v1\/traces'/);
    expect(() => TraceExporter.otlp({ tracesEndpoint: 'https://x.example.com/v1/traces', headers: { 'bad header': 'v' } }).bind(PATH)).toThrow(
      /exporter.headers: 'bad header' is not an HTTP header name/);
    expect(() => TraceExporter.otlp({ tracesEndpoint: 'https://x.example.com/v1/traces', headers: { 'x-key': 'a\nb' } }).bind(PATH)).toThrow(
      /exporter.headers\['x-key'\]: the value must be a string on one line/);
  });
});

describe('rendered configuration and the layer\'s default file', () => {
  test('share the receiver settings and the X-Ray retries', () => {
    const file = fs.readFileSync(path.join(COLLECTOR_SOURCE_DIR, 'config', 'config.yaml'), 'utf-8');
    const rendered = renderCollectorConfig(TraceExporter.xray({ region: 'eu-west-1' }).bind(PATH));
    const http = rendered.receivers.otlp.protocols.http;
    expect(file).toMatch(new RegExp(`^\\s+endpoint: ${http.endpoint.replace(/\./g, '\\.')}$`, 'm'));
    expect(file).toMatch(new RegExp(`^\\s+max_request_body_size: ${http.max_request_body_size}$`, 'm'));
    expect(file).toMatch(new RegExp(`^\\s+idle_timeout: ${http.idle_timeout}$`, 'm'));
    expect(file).toMatch(new RegExp(`^\\s+max_retries: ${rendered.exporters.awsxray.max_retries}$`, 'm'));
  });
});
