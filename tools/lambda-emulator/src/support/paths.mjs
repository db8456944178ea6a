// Where the emulator finds what its set-up (setup.sh) installed, and the repository it runs apps of.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOOL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO_DIR = join(TOOL_DIR, '..', '..');
export const CACHE_DIR = join(TOOL_DIR, '.cache');
/** Runtime interface client builds, one per Node.js major (see setup.sh). */
export const runtimeDirFor = (major) => join(CACHE_DIR, `runtime-node${major}`);
/** Node.js distributions from the npm packages node-linux-<arch>. */
export const nodeDirFor = (major) => join(TOOL_DIR, 'node_modules', `node-${major}-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`);
export const RUNTIME_HOOK = join(TOOL_DIR, 'src', 'emulator', 'runtime-hooks', 'node-path-resolution.mjs');
/** The moto_server of the virtualenv that setup.sh creates. */
export const MOTO_SERVER = join(CACHE_DIR, 'moto-venv', 'bin', 'moto_server');
export const SETUP = 'tools/lambda-emulator/setup.sh';

/**
 * The runtimes setup.sh built, in the shape LambdaService takes; throws naming the fix when one is missing.
 * @param {number[]} [majors]
 * @returns {Record<number, {runtimeDir: string, nodeDir: string}>}
 */
export function runtimes(majors = [22, 24]) {
  const out = {};
  for (const major of majors) {
    const runtimeDir = runtimeDirFor(major);
    if (!existsSync(join(runtimeDir, '.stamp'))) {
      throw new Error(`${runtimeDir} is not built: run ${SETUP} (as root) to build aws-lambda-ric for Node.js ${major}`);
    }
    out[major] = { runtimeDir, nodeDir: nodeDirFor(major) };
  }
  return out;
}

/** The Python runtime set up by setup.sh (awslambdaric in .cache/runtime-python3.13). */
export const pythonRuntimeDirFor = (runtime) => join(CACHE_DIR, `runtime-${runtime}`);

/**
 * The Python runtimes setup.sh set up, in the shape LambdaService takes (`pythonRuntimes`):
 * `{ 'python3.13': { runtimeDir, langDir } }`; a runtime not set up is left out.
 * @returns {Record<string, {runtimeDir: string, langDir: string}>}
 */
export function pythonRuntimes(names = ['python3.13']) {
  const out = {};
  for (const name of names) {
    const runtimeDir = pythonRuntimeDirFor(name);
    if (!existsSync(join(runtimeDir, '.stamp'))) continue;
    out[name] = { runtimeDir, langDir: readFileSync(join(runtimeDir, '.lang'), 'utf8').trim() };
  }
  return out;
}
