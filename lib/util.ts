import { spawnSync, SpawnSyncOptions } from 'child_process';
import * as path from 'path';

/**
 * Runs a command, streaming its output, and throws with the command line and exit status
 * when it fails.
 */
export function exec(cmd: string, args: string[], options?: SpawnSyncOptions): void {
  const proc = spawnSync(cmd, args, { stdio: ['ignore', process.stderr, 'inherit'], ...options });
  if (proc.error) {
    throw proc.error;
  }
  if (proc.status !== 0) {
    throw new Error(`[OtelCollectorLayer] \`${[cmd, ...args].join(' ')}\` exited with status ${proc.status}`);
  }
}

/**
 * The version of the `go` on the PATH, e.g. `1.26.8`, or `undefined` when there is none.
 */
export function localGoVersion(): string | undefined {
  try {
    const proc = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf-8', timeout: 30_000 });
    if (proc.status !== 0 || proc.error) {
      return undefined;
    }
    const match = /go(\d+\.\d+(?:\.\d+)?)/.exec(proc.stdout.trim());
    return match?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Whether a Docker engine answers (the client alone is not enough to bundle).
 */
export function dockerEngineAvailable(): boolean {
  try {
    const cmd = process.env.CDK_DOCKER ?? 'docker';
    const proc = spawnSync(cmd, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf-8', timeout: 30_000 });
    return proc.status === 0 && !proc.error && proc.stdout.trim().length > 0;
  } catch {
    return false;
  }
}

/**
 * Compares dotted versions: negative when `a < b`, 0 when equal, positive when `a > b`.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) {
      return diff;
    }
  }
  return 0;
}

let esbuildFound: boolean | undefined;

/**
 * Whether NodejsFunction can bundle without Docker: it takes the esbuild that `require` finds
 * from aws-cdk-lib, else an `esbuild` on the PATH.
 */
export function esbuildAvailable(): boolean {
  if (esbuildFound === undefined) {
    esbuildFound = esbuildResolvable() || esbuildOnPath();
  }
  return esbuildFound;
}

function esbuildResolvable(): boolean {
  try {
    const nodejsLib = path.dirname(require.resolve('aws-cdk-lib/aws-lambda-nodejs'));
    require.resolve('esbuild/package.json', { paths: [nodejsLib] });
    return true;
  } catch {
    return false;
  }
}

function esbuildOnPath(): boolean {
  try {
    const proc = spawnSync('esbuild', ['--version'], { encoding: 'utf-8', timeout: 30_000 });
    return proc.status === 0 && !proc.error;
  } catch {
    return false;
  }
}
