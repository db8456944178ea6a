// The whole pipeline, set up once per suite: the e2e app synthesized with the real construct, moto
// as X-Ray and DynamoDB, and the functions registered in the emulator exactly as synthesized.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readCloudAssembly } from '../src/support/cloud-assembly.mjs';
import { collectorConfigOverrides } from '../src/support/collector-config.mjs';
import { startMoto } from '../src/support/moto-server.mjs';
import { synthesize } from '../src/support/synth.mjs';
import { XRayTraceReader } from '../src/support/xray-trace-reader.mjs';
import { INVOKE_PORT_INSIDE } from '../src/emulator/lambda-service.mjs';
import { E2E_DIR } from '../src/support/paths.mjs';
import { startService, WORK_ROOT } from './harness.mjs';

export const E2E_APP = join(E2E_DIR, 'fixtures', 'app', 'e2e-app.ts');
export const COLLECTOR_EXTENSION = 'otel-xray-collector';

/** The synthesized e2e app: E2E_CDK_OUT when test.sh made it already, else synthesized now. */
export async function e2eAssemblyDir() {
  const given = process.env.E2E_CDK_OUT;
  if (given && existsSync(join(given, 'manifest.json'))) return given;
  const outdir = join(WORK_ROOT, 'cdk.out');
  mkdirSync(WORK_ROOT, { recursive: true });
  await synthesize(E2E_APP, outdir);
  process.env.E2E_CDK_OUT = outdir;
  return outdir;
}

/** Local URL of a function through the emulator's Invoke API, as seen inside environments. */
export const invokeUrlInside = (name) => `http://127.0.0.1:${INVOKE_PORT_INSIDE}/2015-03-31/functions/${name}/invocations`;

/**
 * @param {string} name   work directory name
 * @param {object} [options]
 * @param {string} [options.xrayEndpointInside]    where the collector sends segments; default moto
 * @param {number} [options.xrayPort]              host port the environments' X-Ray port leads to; default moto's
 * @param {boolean} [options.telemetryApi]         false: the Telemetry API answers "not supported"
 * @param {(fn: object) => object} [options.adjust]  changes a function definition before registering
 */
export async function startPipeline(name, { xrayEndpointInside, xrayPort, telemetryApi, adjust = (fn) => fn } = {}) {
  const outdir = await e2eAssemblyDir();
  const moto = await startMoto();
  const assembly = readCloudAssembly(outdir, { functionUrl: invokeUrlInside });
  const dynamo = new DynamoDBClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'setup', secretAccessKey: 'setup' } });
  for (const table of assembly.tables) {
    await dynamo.send(new CreateTableCommand({ TableName: table.name, KeySchema: table.keySchema, AttributeDefinitions: table.attributeDefinitions, BillingMode: 'PAY_PER_REQUEST' }));
  }
  dynamo.destroy();
  const service = await startService(name, {
    xray: { endpoint: moto.endpoint, region: 'us-east-1', port: xrayPort ?? moto.port },
    telemetryApi,
    environmentOverrides: (fn, inside) => ({
      ...(existsSync(join(inside.optDir, 'extensions', COLLECTOR_EXTENSION))
        ? collectorConfigOverrides(fn.environment, inside.optDir, xrayEndpointInside ?? inside.xrayEndpoint)
        : {}),
      // The handlers' AWS SDK calls go to moto too.
      AWS_ENDPOINT_URL: inside.xrayEndpoint,
    }),
  });
  const functions = {};
  for (const fn of assembly.functions) {
    const registered = service.register(adjust({ ...fn }));
    functions[fn.name.replace(/^E2e-/, '')] = registered;
  }
  const reader = new XRayTraceReader({ endpoint: moto.endpoint });
  return {
    service,
    moto,
    reader,
    functions,
    assembly,
    async stop() {
      await service.stop();
      reader.destroy();
      await moto.stop();
    },
  };
}

/** Lines the collector extension printed in every environment of a function. */
export function collectorLines(service, fnName) {
  return service.environments(fnName).flatMap((env) => env.logs.filter((l) => l.source === `extension:${COLLECTOR_EXTENSION}`).map((l) => l.line));
}
