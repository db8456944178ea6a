// The environment OtelTracedFunction gives a traced function, read from a synthesized stack
// (fixtures/app/bench-app.ts, synthesized without bundling) rather than restated here, so the
// benchmark runs the preload and the collector exactly as the construct configures them.
import { join } from 'node:path';
import { readCloudAssembly, synthesize } from '../../tools/lambda-emulator/index.mjs';
import { BENCH_DIR, WORK_DIR } from './paths.mjs';

export const BENCH_APP = join(BENCH_DIR, 'fixtures', 'app', 'bench-app.ts');

/**
 * Synthesizes the benchmark's app and returns each runtime's traced function environment.
 * @returns {Promise<Record<string, Record<string, string>>>}  runtime (e.g. nodejs24.x) -> environment
 */
export async function tracedEnvironments({ log = () => {} } = {}) {
  const outdir = join(WORK_DIR, 'cdk.out');
  await synthesize(BENCH_APP, outdir, { skipBundling: true, onLine: (line) => log(`synth: ${line}`) });
  const { functions } = readCloudAssembly(outdir, { functionUrl: () => { throw new Error('the benchmark app has no function URL'); } }, { assets: false });
  const byRuntime = {};
  for (const fn of functions) byRuntime[fn.runtime] = fn.environment;
  return byRuntime;
}
