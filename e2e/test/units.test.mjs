// The pure parts: trace headers, Telemetry API validation, collector config rewriting, the cloud
// assembly reader, function definitions and the trace renderers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  buildTree, collectorConfigOverrides, CONFIG_URI_ENV, defineFunction, flattenTrace, formatTraceHeader, lambdaEnvironment, LOCAL_CONFIG_ENV, newTraceId,
  parseTraceHeader, readCloudAssembly, renderTraceTree, renderWaterfallSvg, traceparentToTraceHeader, validateHostPorts, validateTelemetrySubscription as validate,
} from '../../tools/lambda-emulator/index.mjs';

describe('X-Ray trace header', () => {
  test('round-trips Root, Parent and Sampled', () => {
    const root = newTraceId(Date.UTC(2026, 0, 1));
    assert.match(root, /^1-6955b900-[0-9a-f]{24}$/);
    const header = formatTraceHeader({ root, parent: '0123456789abcdef', sampled: true });
    assert.deepEqual(parseTraceHeader(header), { root, parent: '0123456789abcdef', sampled: true, extra: {} });
  });
  test('rejects a malformed root and keeps unknown keys', () => {
    assert.equal(parseTraceHeader('Root=2-abc;Parent=0123456789abcdef'), undefined);
    const parsed = parseTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a:1');
    assert.equal(parsed.sampled, false);
    assert.deepEqual(parsed.extra, { Lineage: 'a:1' });
  });
  test('converts a W3C traceparent', () => {
    const h = traceparentToTraceHeader('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01');
    assert.deepEqual(h, { root: '1-5759e988-bd862e3fe1be46a994272793', parent: '53995c3f42cd8ad8', sampled: true, extra: {} });
  });
});

describe('Telemetry API subscription validation', () => {
  const valid = { schemaVersion: '2022-12-13', destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:4243' }, types: ['platform'], buffering: { timeoutMs: 25 } };
  test('accepts a valid request', () => assert.equal(validate(valid), undefined));
  test('names the field, the value and the fix', () => {
    assert.match(validate({ ...valid, destination: { protocol: 'TCP', URI: 'x' } }), /destination\.protocol "TCP".*use "HTTP"/);
    assert.match(validate({ ...valid, types: ['logs'] }), /types \["logs"\].*subset/);
    assert.match(validate({ ...valid, buffering: { timeoutMs: 10 } }), /buffering\.timeoutMs 10 is out of range: use an integer from 25 to 30000/);
    assert.match(validate({ ...valid, schemaVersion: '1999' }), /schemaVersion "1999"/);
  });
});

describe('function definitions', () => {
  test('fills Lambda’s reserved variables and refuses to let the function override them', () => {
    const fn = defineFunction({ name: 'f', codeDir: '/x', runtime: 'nodejs24.x', environment: { A: '1' } });
    const env = lambdaEnvironment(fn, { runtimeApi: '127.0.0.1:9001', credentials: { accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 'c' } });
    assert.equal(env._HANDLER, 'index.handler');
    assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs24.x');
    assert.equal(env.LAMBDA_TASK_ROOT, '/var/task');
    assert.match(env.NODE_PATH, /^\/opt\/nodejs\/node24\/node_modules:/);
    assert.equal(env.A, '1');
    const bad = defineFunction({ name: 'g', codeDir: '/x', environment: { AWS_REGION: 'eu-west-1' } });
    assert.throws(() => lambdaEnvironment(bad, { runtimeApi: 'x', credentials: {} }), /AWS_REGION is reserved by Lambda/);
  });
  test('rejects a runtime it cannot emulate, naming it', () => {
    assert.throws(() => defineFunction({ name: 'f', codeDir: '/x', runtime: 'python3.12' }), /runtime "python3\.12" is not emulated: use one of nodejs22\.x, nodejs24\.x/);
  });
});

describe('collector configuration for the local X-Ray', () => {
  const optDir = mkdtempSync(join(tmpdir(), 'opt-'));
  mkdirSync(join(optDir, 'collector-config'));
  writeFileSync(join(optDir, 'collector-config', 'config.yaml'), 'exporters:\n  awsxray:\n    region: ${env:AWS_REGION}\nservice: {}\n');
  test('points every awsxray exporter at the endpoint, from the layer file', () => {
    const out = collectorConfigOverrides({}, optDir, 'http://127.0.0.1:5000');
    assert.equal(out[CONFIG_URI_ENV], `env:${LOCAL_CONFIG_ENV}`);
    assert.deepEqual(parse(out[LOCAL_CONFIG_ENV]).exporters.awsxray, { region: '${env:AWS_REGION}', endpoint: 'http://127.0.0.1:5000' });
  });
  test('reads an inline yaml: URI as the construct renders it', () => {
    const uri = `yaml:${JSON.stringify({ exporters: { 'awsxray/custom': { index_all_attributes: true } } })}`;
    const out = collectorConfigOverrides({ [CONFIG_URI_ENV]: uri }, optDir, 'http://x');
    assert.equal(parse(out[LOCAL_CONFIG_ENV]).exporters['awsxray/custom'].endpoint, 'http://x');
  });
  test('says what is wrong with a config it cannot rewrite', () => {
    assert.throws(() => collectorConfigOverrides({ [CONFIG_URI_ENV]: 'yaml:{exporters: {otlp: {}}}' }, optDir, 'http://x'), /no awsxray exporter/);
    assert.throws(() => collectorConfigOverrides({ [CONFIG_URI_ENV]: 's3://bucket/key' }, optDir, 'http://x'), /scheme "s3" is not supported/);
  });
});

describe('cloud assembly reader', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'cdkout-'));
  for (const dir of ['asset.code', 'asset.layer']) mkdirSync(join(outdir, dir));
  writeFileSync(join(outdir, 'manifest.json'), JSON.stringify({ artifacts: { Stack: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Stack.template.json' } } } }));
  const template = (env) => ({
    Resources: {
      Layer: { Type: 'AWS::Lambda::LayerVersion', Metadata: { 'aws:asset:path': 'asset.layer' } },
      Table: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }, Metadata: { 'aws:cdk:path': 'Stack/Table/Resource' } },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Metadata: { 'aws:asset:path': 'asset.code', 'aws:cdk:path': 'Stack/Api/Resource' },
        Properties: { Handler: 'index.handler', Runtime: 'nodejs22.x', Timeout: 7, Layers: [{ Ref: 'Layer' }], TracingConfig: { Mode: 'Active' }, Environment: { Variables: env } },
      },
    },
  });
  test('describes functions with resolved references, and tables', () => {
    writeFileSync(join(outdir, 'Stack.template.json'), JSON.stringify(template({ TABLE: { Ref: 'Table' }, PLAIN: 'x' })));
    const { functions, tables } = readCloudAssembly(outdir, { functionUrl: (n) => `url:${n}` });
    assert.equal(functions.length, 1);
    assert.deepEqual({ ...functions[0], codeDir: undefined, layerDirs: undefined }, {
      name: 'Stack-Api', logicalId: 'Fn', handler: 'index.handler', runtime: 'nodejs22.x', memorySize: 128, timeoutSeconds: 7,
      environment: { TABLE: 'Stack-Table', PLAIN: 'x' }, codeDir: undefined, layerDirs: undefined, activeTracing: true,
    });
    assert.deepEqual(functions[0].layerDirs, [join(outdir, 'asset.layer')]);
    assert.equal(tables[0].name, 'Stack-Table');
  });
  test('names the variable it cannot resolve', () => {
    writeFileSync(join(outdir, 'Stack.template.json'), JSON.stringify(template({ SECRET: { 'Fn::ImportValue': 'x' } })));
    assert.throws(() => readCloudAssembly(outdir, { functionUrl: () => '' }), /Stack\/Fn environment variable SECRET: \{"Fn::ImportValue":"x"\} cannot be resolved locally/);
  });
});

describe('trace renderers', () => {
  const t0 = 1_800_000_000;
  const doc = (fields) => ({ Id: fields.id, Document: JSON.stringify({ trace_id: '1-6b000000-000000000000000000000000', ...fields }) });
  const trace = flattenTrace({
    Id: '1-6b000000-000000000000000000000000',
    Segments: [
      doc({ id: 'a'.repeat(16), name: 'fn', origin: 'AWS::Lambda', start_time: t0, end_time: t0 + 0.1 }),
      doc({ id: 'b'.repeat(16), parent_id: 'a'.repeat(16), name: 'fn', origin: 'AWS::Lambda::Function', start_time: t0, end_time: t0 + 0.1, aws: { function_arn: 'arn' } }),
      doc({
        id: 'c'.repeat(16), parent_id: 'b'.repeat(16), name: 'handler <x>', origin: 'AWS::Lambda::Function', start_time: t0 + 0.01, end_time: t0 + 0.09, aws: { xray: { sdk: 'opentelemetry for nodejs' } },
        subsegments: [{ id: 'd'.repeat(16), name: 'DynamoDB', namespace: 'aws', start_time: t0 + 0.02, end_time: t0 + 0.05, aws: { operation: 'PutItem' }, http: { response: { status: 200 } } }],
      }),
    ],
  });
  test('builds the tree from parent IDs, subsegments included', () => {
    const [root] = buildTree(trace.nodes);
    assert.equal(root.children[0].children[0].name, 'handler <x>');
    assert.equal(root.children[0].children[0].children[0].name, 'DynamoDB');
  });
  test('prints one line per node with its offset and duration', () => {
    const text = renderTraceTree(trace);
    assert.equal(text.trim().split('\n').length, 5);
    assert.match(text, /DynamoDB \(AWS SDK PutItem → 200\).* at +20\.0 ms, +30\.0 ms/);
  });
  test('draws one bar per node and escapes names', () => {
    const svg = renderWaterfallSvg(trace);
    assert.equal((svg.match(/<rect [^>]*rx="3"/g) ?? []).length, 4);
    assert.ok(svg.includes('handler &lt;x&gt;'));
    assert.ok(!svg.includes('handler <x>'));
  });
});

describe('host ports relayed into the environments', () => {
  test('accepts TCP ports, or none', () => {
    assert.doesNotThrow(() => validateHostPorts(undefined));
    assert.doesNotThrow(() => validateHostPorts([5432, 6379]));
  });

  test('names the value and the fix', () => {
    assert.throws(() => validateHostPorts(5432), /hostPorts 5432 is not a list: give the TCP ports/);
    assert.throws(() => validateHostPorts([70000]), /hostPorts: 70000 is not a TCP port: give the port \(1-65535\)/);
    assert.throws(() => validateHostPorts(['5432']), /hostPorts: "5432" is not a TCP port/);
    assert.throws(() => validateHostPorts([5432, 5432]), /hostPorts: 5432 is given twice: list each port once/);
  });
});
