// The whole pipeline, set up once per suite: the e2e app synthesized with the real construct and
// run by the emulator's startLocalApp (moto as X-Ray and DynamoDB, every function as synthesized).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT, startLocalApp, synthesize } from '../../tools/lambda-emulator/index.mjs';
import { E2E_DIR, keptLogs, WORK_ROOT } from './harness.mjs';

export const E2E_APP = join(E2E_DIR, 'fixtures', 'app', 'e2e-app.ts');
export const COLLECTOR_EXTENSION = CONTRACT.collector.extensionName;

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

/**
 * @param {string} name   work directory name
 * @param {object} [options]
 * @param {string} [options.xrayEndpointInside]    where the collector sends segments; default moto
 * @param {number} [options.xrayPort]              host port the environments' X-Ray port leads to; default moto's
 * @param {boolean} [options.telemetryApi]         false: the Telemetry API answers "not supported"
 * @param {(fn: object) => object} [options.adjust]  changes a function definition before registering
 * @returns the local app, with `functions` keyed by construct ID (`Frontend`, `Backend`, `Slow`)
 */
export async function startPipeline(name, { xrayEndpointInside, xrayPort, telemetryApi, adjust } = {}) {
  const { logs, onLog } = keptLogs();
  const app = await startLocalApp({
    cdkOut: await e2eAssemblyDir(),
    workDir: join(WORK_ROOT, name),
    xrayEndpointInside,
    xrayPort,
    adjust,
    service: { onLog, telemetryApi },
  });
  app.service.logs = logs;
  const functions = {};
  for (const [fnName, fn] of Object.entries(app.functions)) functions[fnName.replace(/^E2e-/, '')] = fn;
  return { ...app, functions };
}

/** Lines the collector extension printed in every environment of a function. */
export function collectorLines(service, fnName) {
  return service.environments(fnName).flatMap((env) => env.logs.filter((l) => l.source === `extension:${COLLECTOR_EXTENSION}`).map((l) => l.line));
}
