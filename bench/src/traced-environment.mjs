// The environment OtelTracedFunction gives a traced function, read from a synthesized stack
// (fixtures/app/bench-app.ts, synthesized without bundling) rather than restated here, so the
// benchmark runs the preload and the collector exactly as the construct configures them.
import { join } from 'node:path';
import { readCloudAssembly, synthesize } from '../../tools/lambda-emulator/index.mjs';
import { BENCH_DIR, WORK_DIR } from './paths.mjs';

export const BENCH_APP = join(BENCH_DIR, 'fixtures', 'app', 'bench-app.ts');

/** The app's function of a runtime and export: e.g. nodejs24.x and 'daemon' -> Bench-Nodejs24xDaemon. */
export function benchFunctionName(runtime, exporter = 'default') {
  const suffix = { default: '', api: 'Api', daemon: 'Daemon' }[exporter];
  if (suffix === undefined) throw new Error(`exporter ${JSON.stringify(exporter)} is not one of the benchmark app's: default, api, daemon`);
  return `Bench-${runtime.replace(/\W/g, '').replace(/^nodejs/, 'Nodejs')}${suffix}`;
}

/**
 * Synthesizes the benchmark's app and returns each runtime's traced function environment (the
 * default exporter); `byExporter[runtime][exporter]` holds every variant ('default', 'api', 'daemon').
 * @returns {Promise<Record<string, Record<string, string>> & {byExporter: Record<string, Record<string, Record<string, string>>>}>}
 */
export async function tracedEnvironments({ log = () => {} } = {}) {
  const outdir = join(WORK_DIR, 'cdk.out');
  await synthesize(BENCH_APP, outdir, { skipBundling: true, onLine: (line) => log(`synth: ${line}`) });
  const { functions } = readCloudAssembly(outdir, { functionUrl: () => { throw new Error('the benchmark app has no function URL'); } }, { assets: false });
  const byName = new Map(functions.map((fn) => [fn.name, fn]));
  const byRuntime = {};
  const byExporter = {};
  for (const runtime of new Set(functions.map((fn) => fn.runtime))) {
    byExporter[runtime] = {};
    for (const exporter of ['default', 'api', 'daemon']) {
      const fn = byName.get(benchFunctionName(runtime, exporter));
      if (!fn) throw new Error(`the benchmark app has no function ${benchFunctionName(runtime, exporter)}: its functions are ${[...byName.keys()].join(', ')}`);
      byExporter[runtime][exporter] = fn.environment;
    }
    byRuntime[runtime] = byExporter[runtime].default;
  }
  Object.defineProperty(byRuntime, 'byExporter', { value: byExporter, enumerable: false });
  return byRuntime;
}
