// Layers run as on Lambda: a layer's NODE_OPTIONS import resolves bare specifiers from
// /opt/nodejs/node_modules (Lambda's ES module resolution through NODE_PATH applies to it too),
// AWS_LAMBDA_EXEC_WRAPPER starts the runtime, and AWS's collector-less ADOT layer starts unchanged
// and sends its spans to the X-Ray daemon stand-in (skipped, with a line saying so, when its built
// copy is not beside the repository).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR, eventually, json, startService, WORK_ROOT } from './harness.mjs';
import { startMoto, XRayTraceReader } from '../../tools/lambda-emulator/index.mjs';

const ADOT_DIR = join(E2E_DIR, '..', '..', 'shared', 'third_party', 'adot-nodejs-layer');
const ADOT_OPT = join(ADOT_DIR, 'opt');

const ESM_HANDLER = `export const handler = async () => ({ nodeOptions: process.env.NODE_OPTIONS ?? null, preloaded: globalThis.__preloaded ?? null, wrapped: process.env.WRAPPED_BY ?? null });\n`;
const CJS_HANDLER = `exports.handler = async () => ({ nodeOptions: process.env.NODE_OPTIONS ?? null });\n`;

/** A layer like ADOT's: /opt/preload.mjs, imported through NODE_OPTIONS, imports a bare package of /opt/nodejs/node_modules; /opt/wrapper.sh is an exec wrapper. */
function writeLayer(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'nodejs', 'node_modules', 'layer-only-package'), { recursive: true });
  writeFileSync(join(dir, 'nodejs', 'node_modules', 'layer-only-package', 'package.json'), JSON.stringify({ name: 'layer-only-package', type: 'module', exports: './index.mjs' }));
  writeFileSync(join(dir, 'nodejs', 'node_modules', 'layer-only-package', 'index.mjs'), `export const marker = 'from /opt/nodejs/node_modules';\n`);
  writeFileSync(join(dir, 'preload.mjs'), `import { marker } from 'layer-only-package';\nglobalThis.__preloaded = marker;\n`);
  writeFileSync(join(dir, 'wrapper.sh'), '#!/bin/sh\nexport WRAPPED_BY=wrapper.sh\nexport NODE_OPTIONS="${NODE_OPTIONS} --import /opt/preload.mjs"\nexec "$@"\n');
  chmodSync(join(dir, 'wrapper.sh'), 0o755);
}

describe('layers and NODE_OPTIONS', () => {
  let service;
  before(async () => {
    const base = join(WORK_ROOT, 'layer-node-options-src');
    writeLayer(join(base, 'layer'));
    mkdirSync(join(base, 'esm'), { recursive: true });
    writeFileSync(join(base, 'esm', 'index.mjs'), ESM_HANDLER);
    service = await startService('layer-node-options');
    for (const runtime of ['nodejs22.x', 'nodejs24.x']) {
      const suffix = runtime.replace('.x', '');
      service.register({ name: `preload-${suffix}`, runtime, codeDir: join(base, 'esm'), layerDirs: [join(base, 'layer')], environment: { NODE_OPTIONS: '--import /opt/preload.mjs' } });
      service.register({ name: `wrapper-${suffix}`, runtime, codeDir: join(base, 'esm'), layerDirs: [join(base, 'layer')], environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper.sh' } });
    }
  });
  after(async () => {
    await service?.stop();
  });

  for (const suffix of ['nodejs22', 'nodejs24']) {
    test(`${suffix}: a NODE_OPTIONS import from a layer finds the layer's packages, and the handler sees NODE_OPTIONS as configured`, async () => {
      const result = await service.invoke(`preload-${suffix}`, {});
      assert.equal(result.functionError, undefined, result.payload.toString());
      const body = json(result);
      assert.equal(body.preloaded, 'from /opt/nodejs/node_modules');
      assert.equal(body.nodeOptions, '--import /opt/preload.mjs');
    });

    test(`${suffix}: AWS_LAMBDA_EXEC_WRAPPER starts the runtime, and the NODE_OPTIONS it adds resolve the same way`, async () => {
      const result = await service.invoke(`wrapper-${suffix}`, {});
      assert.equal(result.functionError, undefined, result.payload.toString());
      const body = json(result);
      assert.equal(body.wrapped, 'wrapper.sh');
      assert.equal(body.preloaded, 'from /opt/nodejs/node_modules');
    });
  }
});

const adotMissing = !existsSync(join(ADOT_OPT, 'otel-instrument'));
if (adotMissing) console.log(`# skipping the ADOT layer scenarios: ${ADOT_DIR} is not there (see its SOURCE for how it is built)`);

describe('AWS’s ADOT Node.js layer (collector-less), unchanged', { skip: adotMissing ? `no ADOT layer at ${ADOT_DIR}` : false }, () => {
  let moto;
  let service;
  let reader;
  before(async () => {
    moto = await startMoto();
    const base = join(WORK_ROOT, 'adot-src');
    mkdirSync(join(base, 'esm'), { recursive: true });
    mkdirSync(join(base, 'cjs'), { recursive: true });
    writeFileSync(join(base, 'esm', 'index.mjs'), ESM_HANDLER);
    writeFileSync(join(base, 'cjs', 'index.js'), CJS_HANDLER);
    service = await startService('adot', { xray: { endpoint: moto.endpoint, region: 'us-east-1', port: moto.port }, xrayDaemon: true });
    const common = { layerDirs: [ADOT_OPT], timeoutSeconds: 30, memorySize: 1024, environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument' } };
    service.register({ name: 'adot-esm-22', runtime: 'nodejs22.x', codeDir: join(base, 'esm'), ...common });
    service.register({ name: 'adot-cjs-24', runtime: 'nodejs24.x', codeDir: join(base, 'cjs'), ...common });
    reader = new XRayTraceReader({ endpoint: moto.endpoint });
  });
  after(async () => {
    await service?.stop();
    reader?.destroy();
    await moto?.stop();
  });

  for (const name of ['adot-esm-22', 'adot-cjs-24']) {
    test(`${name}: starts through /opt/otel-instrument, imports /opt/wrapper.mjs, and its handler span reaches X-Ray through the daemon`, async () => {
      const result = await service.invoke(name, {});
      assert.equal(result.functionError, undefined, result.payload.toString());
      assert.equal(json(result).nodeOptions, '--import /opt/wrapper.mjs', 'ADOT chose its ES module wrapper');
      const env = service.environments(name).at(-1);
      assert.ok(env.logs.some((l) => /automatic instrumentation started successfully/.test(l.line)), `ADOT started:\n${env.logs.map((l) => l.line).join('\n')}`);
      const traceId = result.traceId;
      const span = await eventually(() => service.xrayDaemon.spans.find((s) => s.name === name && `1-${s.traceId.slice(0, 8)}-${s.traceId.slice(8)}` === traceId), { timeoutMs: 30_000 });
      assert.ok(span, `the stand-in received ADOT's span for ${traceId}: ${JSON.stringify(service.xrayDaemon.stats)}`);
      assert.equal(span.sampled, true);
      assert.equal(span.parentSpanId, result.functionSegmentId, 'the handler span is a child of Lambda’s function segment');
      const trace = await reader.waitForTrace(traceId, (t) => t?.nodes.some((n) => n.id === span.spanId), { timeoutMs: 30_000 });
      assert.ok(trace?.nodes.some((n) => n.id === span.spanId && n.parentId === result.functionSegmentId), `X-Ray holds the span under the function segment: ${JSON.stringify(trace?.nodes.map((n) => [n.id, n.parentId, n.name]))}`);
    });
  }
});
