// A synthesized CDK app, running locally: moto as X-Ray and DynamoDB (the app's tables created
// there), the Lambda service of the emulator with every function of the app registered exactly as
// synthesized (bundles, layers, environment), and an X-Ray reader. Only what a local run needs
// changes in a function's environment: the collector's awsxray exporter points at the local X-Ray,
// the handlers' AWS SDK calls go to moto, and function URLs become the local Invoke API.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { INVOKE_PORT_INSIDE, LambdaService } from './emulator/lambda-service.mjs';
import { readCloudAssembly } from './support/cloud-assembly.mjs';
import { collectorConfigOverrides } from './support/collector-config.mjs';
import { CONTRACT } from './support/contract.mjs';
import { startMoto } from './support/moto-server.mjs';
import { pythonRuntimes, RUNTIME_HOOK, runtimes } from './support/paths.mjs';
import { synthesize } from './support/synth.mjs';
import { XRayTraceReader } from './support/xray-trace-reader.mjs';

const REGION = 'us-east-1';

/** The Invoke API URL of a function as seen inside every environment (what a function URL becomes). */
export const invokeUrlInside = (name) => `http://127.0.0.1:${INVOKE_PORT_INSIDE}/2015-03-31/functions/${name}/invocations`;

/** Host path, under an environment's /opt, of the collector extension's executable. */
const collectorInOpt = (optDir) => join(optDir, CONTRACT.collector.layerExtensionPath.replace(/^\/opt\//, ''));

/**
 * @typedef {object} LocalApp
 * @property {LambdaService} service
 * @property {{endpoint: string, port: number, stop: () => Promise<void>}} moto
 * @property {XRayTraceReader} reader          reads traces back from moto's X-Ray
 * @property {Record<string, import('./emulator/function-definition.mjs').FunctionDefinition>} functions   by function name
 * @property {ReturnType<typeof readCloudAssembly>} assembly
 * @property {() => Promise<void>} stop       SHUTDOWN in every environment, then moto stops
 */

/**
 * @param {object} options
 * @param {string} options.cdkOut                 the cloud assembly directory
 * @param {string} [options.appFile]              a TypeScript CDK app to synthesize into cdkOut first
 * @param {(line: string) => void} [options.onSynthLine]
 * @param {string} options.workDir                short host path for sockets and environments (emptied)
 * @param {string} [options.xrayEndpointInside]   where the collector exports; default moto
 * @param {number} [options.xrayPort]             host port the environments' X-Ray port leads to; default moto's
 * @param {(fn: object) => object} [options.adjust]   changes a function definition before it is registered
 * @param {Partial<import('./emulator/lambda-service.mjs').LambdaServiceOptions>} [options.service]   e.g. onLog, telemetryApi
 * @returns {Promise<LocalApp>}
 */
export async function startLocalApp({ cdkOut, appFile, onSynthLine, workDir, xrayEndpointInside, xrayPort, adjust = (fn) => fn, service: serviceOptions = {} }) {
  if (appFile) await synthesize(appFile, cdkOut, { onLine: onSynthLine });
  const assembly = readCloudAssembly(cdkOut, { functionUrl: invokeUrlInside });
  const moto = await startMoto();
  try {
    const dynamo = new DynamoDBClient({ endpoint: moto.endpoint, region: REGION, credentials: { accessKeyId: 'setup', secretAccessKey: 'setup' } });
    for (const table of assembly.tables) {
      await dynamo.send(new CreateTableCommand({ TableName: table.name, KeySchema: table.keySchema, AttributeDefinitions: table.attributeDefinitions, BillingMode: 'PAY_PER_REQUEST' }));
    }
    dynamo.destroy();
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    const service = new LambdaService({
      workDir,
      runtimes: runtimes(),
      pythonRuntimes: pythonRuntimes(),
      runtimeHook: RUNTIME_HOOK,
      xray: { endpoint: moto.endpoint, region: REGION, port: xrayPort ?? moto.port },
      environmentOverrides: (fn, inside) => ({
        ...(existsSync(collectorInOpt(inside.optDir))
          ? collectorConfigOverrides(fn.environment, inside.optDir, xrayEndpointInside ?? inside.xrayEndpoint)
          : {}),
        // The handlers' AWS SDK calls go to moto too.
        AWS_ENDPOINT_URL: inside.xrayEndpoint,
      }),
      ...serviceOptions,
    });
    await service.start();
    const functions = {};
    for (const fn of assembly.functions) functions[fn.name] = service.register(adjust({ ...fn }));
    const reader = new XRayTraceReader({ endpoint: moto.endpoint, region: REGION });
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
  } catch (err) {
    await moto.stop();
    throw err;
  }
}
