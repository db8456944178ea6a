// The whole pipeline, set up once per suite: the e2e app synthesized with the real construct and
// run by the emulator's startLocalApp (moto as X-Ray and DynamoDB, every function as synthesized).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT, isLambdaFunctionSegment, startLocalApp, startXRayStandIn, synthesize } from '../../tools/lambda-emulator/index.mjs';
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

/** The flush summary records of the collector's log, in order. */
export const flushRecords = (lines) => lines
  .filter((line) => line.startsWith('{'))
  .map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      return undefined;
    }
  })
  .filter((r) => r && typeof r.msg === 'string' && r.msg.startsWith('flush') && 'retained_spans' in r);

/**
 * What X-Ray holds of one invocation of Backend: its handler segments, its pick-fortune documents
 * and every document of the handler's spans; attached when both are there, pick-fortune under the
 * handler.
 */
export function storedOf(trace, result) {
  const nodes = trace?.nodes ?? [];
  const handlers = nodes.filter((n) => n.kind === 'segment' && n.parentId === result.functionSegmentId && !isLambdaFunctionSegment(n));
  const fortunes = nodes.filter((n) => n.name === 'pick-fortune');
  const spans = nodes.filter((n) => n.origin !== 'AWS::Lambda' && !isLambdaFunctionSegment(n));
  return { handlers, fortunes, spans, attached: handlers.length === 1 && fortunes.length === 1 && fortunes[0].parentId === handlers[0].id };
}

/** The pipeline behind an X-Ray stand-in in front of its moto, so the collector's calls pass it. */
export async function startBehindStandIn(name, options = {}) {
  // moto starts with the pipeline; the stand-in must exist first, as its port goes into the
  // environments. It forwards to that moto from the moment it is known, before any invocation.
  const standIn = await startXRayStandIn({ motoEndpoint: 'http://127.0.0.1:9' });
  try {
    const p = await startPipeline(name, { xrayPort: standIn.port, ...options });
    standIn.moto = new URL(p.moto.endpoint);
    return { p, standIn };
  } catch (err) {
    await standIn.stop();
    throw err;
  }
}
