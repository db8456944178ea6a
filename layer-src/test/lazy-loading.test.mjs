// Instrumentations not chosen are never loaded: their code is in chunks that are not read.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { supportsSyncHooks } from 'import-in-the-middle/supports-sync-hooks.mjs';
import { createTaskRoot, lambdaEnvironment, preloadInit, runHandler } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

const recorder = fileURLToPath(new URL('./support/record-loaded-modules.mjs', import.meta.url));
const preloadDir = path.dirname(preloadInit);
const INSTRUMENTATION_PACKAGES = {
  http: '@opentelemetry/instrumentation-http',
  undici: '@opentelemetry/instrumentation-undici',
  'aws-sdk': '@opentelemetry/instrumentation-aws-sdk',
  'aws-lambda': '@opentelemetry/instrumentation-aws-lambda',
};

// The recorder uses module.registerHooks, which only works reliably from Node.js 22.22.3 / 24.11.1.
const recorderUnsupported = supportsSyncHooks() ? false : `module.registerHooks is unreliable on Node.js ${process.version}`;

describe('instrumentation selection', { skip: recorderUnsupported }, () => {
  const standIns = useStandIns();

  /** Runs one fetching invocation; returns the instrumentation packages whose code was loaded, the layer files read and the trace ID. */
  async function runWith(enabled) {
    const record = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'otel-preload-loaded-')), 'loaded.json');
    const taskRoot = createTaskRoot({ 'index.js': 'exports.handler = async (event) => (await fetch(event.url)).status;\n' });
    const trace = xrayTraceHeader({ sampled: true });
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
        ...(enabled === undefined ? {} : { OTEL_NODE_ENABLED_INSTRUMENTATIONS: enabled }),
        RECORD_LOADED_MODULES_TO: record,
      },
      invocations: [{ event: { url: `${standIns.downstream.url}/` }, traceHeader: trace.header }],
      extraNodeOptions: `--import ${recorder}`,
    });
    assert.deepEqual(results, [{ result: 200 }]);
    const loadedLayerFiles = JSON.parse(fs.readFileSync(record, 'utf8'))
      .filter((url) => url.startsWith('file:'))
      .map((url) => fileURLToPath(url))
      .filter((file) => file.startsWith(preloadDir + path.sep));
    const code = loadedLayerFiles.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    const loaded = Object.keys(INSTRUMENTATION_PACKAGES).filter((name) => code.includes(`"${INSTRUMENTATION_PACKAGES[name]}"`));
    await standIns.collector.waitFor((all) => all.some((s) => s.traceId === trace.traceId));
    const files = [...new Set(loadedLayerFiles.map((file) => path.relative(preloadDir, file)))].sort();
    return { loaded, files, traceId: trace.traceId };
  }

  it('loads aws-lambda, http, undici and aws-sdk by default', async () => {
    const { loaded, traceId } = await runWith(undefined);
    assert.deepEqual(loaded.sort(), ['aws-lambda', 'aws-sdk', 'http', 'undici']);
    // The handler span and the fetch's client span (undici), both in the invocation's trace.
    const all = await standIns.collector.waitFor((spans) => spans.filter((s) => s.traceId === traceId).length >= 2);
    const scopes = all.filter((s) => s.traceId === traceId).map((s) => s.scope).sort();
    assert.deepEqual(scopes, ['@opentelemetry/instrumentation-aws-lambda', '@opentelemetry/instrumentation-undici']);
  });

  // Each file the module loaders read costs start-up time: the always-loaded code is one file.
  it('reads one file for the core and one per chosen instrumentation, besides import-in-the-middle', async () => {
    const { files } = await runWith('undici');
    assert.deepEqual(files, [
      'init.mjs',
      'node_modules/import-in-the-middle/index.js',
      'node_modules/import-in-the-middle/lib/register.js',
      'node_modules/import-in-the-middle/register-hooks.mjs',
      'node_modules/module-details-from-path/index.js',
      'optional-instrumentations/undici.mjs',
      'sdk.mjs',
    ]);
  });

  it('loads only aws-lambda and the chosen instrumentations', async () => {
    const { loaded } = await runWith('undici');
    assert.deepEqual(loaded.sort(), ['aws-lambda', 'undici']);
  });

  it('always loads aws-lambda, and traces nothing else when nothing else is chosen', async () => {
    const { loaded, traceId } = await runWith('aws-lambda');
    assert.deepEqual(loaded, ['aws-lambda']);
    const spans = standIns.collector.spans.filter((s) => s.traceId === traceId);
    assert.deepEqual(spans.map((s) => s.scope), ['@opentelemetry/instrumentation-aws-lambda'], 'no fetch span');
  });
});
