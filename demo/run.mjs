// Runs the sample app locally, as in Lambda: synthesizes demo/app.ts with the real construct,
// starts moto (X-Ray and DynamoDB) and the Lambda environment emulator, invokes the frontend
// function, then prints the X-Ray trace as a tree and writes it as an SVG waterfall.
// Started by demo/run.sh, which installs and builds everything first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaService, INVOKE_PORT_INSIDE } from '../e2e/src/emulator/lambda-service.mjs';
import { readCloudAssembly } from '../e2e/src/support/cloud-assembly.mjs';
import { collectorConfigOverrides } from '../e2e/src/support/collector-config.mjs';
import { startMoto } from '../e2e/src/support/moto-server.mjs';
import { nodeDirFor, runtimeDirFor, RUNTIME_HOOK } from '../e2e/src/support/paths.mjs';
import { synthesize } from '../e2e/src/support/synth.mjs';
import { XRayTraceReader } from '../e2e/src/support/xray-trace-reader.mjs';
import { renderTraceTree } from '../e2e/src/render/trace-tree-text.mjs';
import { renderWaterfallSvg } from '../e2e/src/render/trace-waterfall-svg.mjs';

const DEMO_DIR = fileURLToPath(new URL('.', import.meta.url));
const SVG_PATH = join(DEMO_DIR, 'trace.svg');
const color = process.stdout.isTTY;
const bold = (s) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);

const cleanups = [];
async function cleanUp() {
  while (cleanups.length) await cleanups.pop()().catch((err) => say(`cleanup: ${err.message}`));
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await cleanUp();
    process.exit(130);
  });
}

async function main() {
  say(bold('==> Synthesizing demo/app.ts (NodejsFunction bundles, collector and preload layers)'));
  const outdir = await synthesize(join(DEMO_DIR, 'app.ts'), join(DEMO_DIR, 'cdk.out'), { onLine: (l) => say(dim(`    ${l}`)) });
  const assembly = readCloudAssembly(outdir, { functionUrl: (name) => `http://127.0.0.1:${INVOKE_PORT_INSIDE}/2015-03-31/functions/${name}/invocations` });
  for (const fn of assembly.functions) say(`    ${fn.name}: ${fn.runtime}, ${fn.handler}, ${fn.layerDirs.length} layers`);

  say(bold('==> Starting moto (X-Ray and DynamoDB) and the Lambda emulator'));
  const moto = await startMoto();
  cleanups.push(() => moto.stop());
  say(`    moto on ${moto.endpoint}`);
  const dynamo = new DynamoDBClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } });
  for (const table of assembly.tables) {
    await dynamo.send(new CreateTableCommand({ TableName: table.name, KeySchema: table.keySchema, AttributeDefinitions: table.attributeDefinitions, BillingMode: 'PAY_PER_REQUEST' }));
    say(`    table ${table.name} created`);
  }
  dynamo.destroy();
  const logs = [];
  const service = new LambdaService({
    workDir: join(DEMO_DIR, '.work'),
    runtimes: { 22: { runtimeDir: runtimeDirFor(22), nodeDir: nodeDirFor(22) }, 24: { runtimeDir: runtimeDirFor(24), nodeDir: nodeDirFor(24) } },
    runtimeHook: RUNTIME_HOOK,
    xray: { endpoint: moto.endpoint, region: 'us-east-1', port: moto.port },
    environmentOverrides: (fn, inside) => ({
      ...collectorConfigOverrides(fn.environment, inside.optDir, inside.xrayEndpoint),
      AWS_ENDPOINT_URL: inside.xrayEndpoint,
    }),
    onLog: (e) => {
      logs.push(`[${e.fn} ${e.source}] ${e.line}`);
      if (process.env.DEMO_VERBOSE) say(dim(`${new Date(e.time).toISOString().slice(11, 23)} ${logs.at(-1)}`));
    },
  });
  await service.start();
  cleanups.push(() => service.stop());
  for (const fn of assembly.functions) service.register(fn);
  const frontend = assembly.functions.find((f) => /Frontend/.test(f.name));

  say(bold(`==> Invoking ${frontend.name}`));
  let result;
  for (const [label, name] of [['cold start', 'Ada'], ['warm', 'Grace']]) {
    const started = Date.now();
    result = await service.invoke(frontend.name, { name });
    const took = Date.now() - started;
    if (result.functionError) {
      say(logs.slice(-40).join('\n'));
      throw new Error(`${frontend.name} failed: ${result.payload.toString()}`);
    }
    say(`    ${label}: ${result.payload.toString()} ${dim(`(${took} ms, trace ${result.traceId})`)}`);
    await result.done;
  }

  say(bold('==> Reading the trace back from X-Ray'));
  const reader = new XRayTraceReader({ endpoint: moto.endpoint });
  cleanups.push(async () => reader.destroy());
  await service.settle();
  const complete = (t) => (t?.nodes ?? []).filter((n) => n.origin === 'AWS::Lambda').length === 2 && t.nodes.some((n) => n.namespace === 'aws');
  const trace = await reader.waitForTrace(result.traceId, complete);
  if (!complete(trace)) {
    say(logs.slice(-40).join('\n'));
    throw new Error(`trace ${result.traceId} is incomplete in X-Ray: ${trace?.nodes.length ?? 0} documents`);
  }
  say();
  say(renderTraceTree(trace, { color }));
  writeFileSync(SVG_PATH, renderWaterfallSvg(trace, { title: 'cdk-lambda-otel-xray demo: frontend → backend → DynamoDB' }));
  say(`Waterfall written to ${SVG_PATH}`);
}

try {
  await main();
  await cleanUp();
} catch (err) {
  await cleanUp();
  console.error(`\ndemo failed: ${err.message}`);
  process.exit(1);
}
