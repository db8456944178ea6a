// Where things are in the work tree.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO_DIR = join(E2E_DIR, '..');
export const CACHE_DIR = join(E2E_DIR, '.cache');
/** Runtime interface client builds, one per Node.js major (see setup.sh). */
export const runtimeDirFor = (major) => join(CACHE_DIR, `runtime-node${major}`);
/** Node.js distributions from the npm packages node-linux-<arch>. */
export const nodeDirFor = (major) => join(E2E_DIR, 'node_modules', `node-${major}-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`);
export const RUNTIME_HOOK = join(E2E_DIR, 'src', 'emulator', 'runtime-hooks', 'node-path-resolution.mjs');
