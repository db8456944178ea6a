// The Lambda Node.js runtimes the benchmarks run handlers with: aws-lambda-ric built by the Lambda
// emulator's set-up (tools/lambda-emulator/setup.sh, its native addon per Node.js major), copied
// into bench/.work/ when a run starts so that a concurrent rebuild of the emulator's cache cannot
// change the runtime halfway through a run; the Node.js binaries come from bench's own npm
// packages (node-linux-<arch>, the versions the emulator uses).
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeDirFor } from '../../tools/lambda-emulator/index.mjs';
import { BENCH_DIR, WORK_DIR } from './paths.mjs';

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';

/** bin/node and friends of the Node.js major, from bench/node_modules. */
export function nodeDir(major) {
  const dir = join(BENCH_DIR, 'node_modules', `node-${major}-linux-${ARCH}`);
  if (!existsSync(join(dir, 'bin', 'node'))) {
    throw new Error(`${dir}/bin/node is missing: run npm ci --prefix bench (it installs Node.js ${major} from the npm package node-linux-${ARCH})`);
  }
  return dir;
}

/** A private copy of the runtime interface client for a Node.js major; returns its directory. */
export function snapshotRuntime(major) {
  const source = runtimeDirFor(major);
  if (!existsSync(join(source, 'index.mjs'))) {
    throw new Error(`${join(source, 'index.mjs')} is missing: run tools/lambda-emulator/setup.sh (it builds aws-lambda-ric for Node.js ${major})`);
  }
  const target = join(WORK_DIR, `runtime-node${major}`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  // node_modules stays a link to what Lambda's /var/runtime/node_modules holds (the AWS SDK).
  cpSync(source, target, { recursive: true, verbatimSymlinks: true });
  return target;
}
