import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const layerSourceDir = path.resolve(here, '..', '..');
/** The preload built by build.mjs (run by test.sh before the tests), or PRELOAD_INIT. */
export const preloadInit = process.env.PRELOAD_INIT
  ?? path.resolve(layerSourceDir, '..', 'assets', 'preload-layer', 'nodejs', 'otel-preload', 'init.mjs');
const harness = path.join(here, 'lambda-harness.mjs');

/** Writes files into a fresh directory standing for /var/task; returns its path. */
export function createTaskRoot(files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-preload-task-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return root;
}

/** The environment Lambda gives a Node.js function, for the running Node.js major version. */
export function lambdaEnvironment({ taskRoot, handler, functionName = 'orders-api' }) {
  const major = process.versions.node.split('.')[0];
  return {
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${major}.x`,
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef',
    AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
    AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
    AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
    AWS_SESSION_TOKEN: 'stand-in-token',
    TZ: ':UTC',
  };
}

/**
 * Runs the harness in a child process with the current Node.js binary and the preload loaded
 * through NODE_OPTIONS, like Lambda does. Resolves with each invocation's result and the output.
 * With `exitCodes`, a harness exiting with one of them resolves too (with `code` set), as when a
 * handler crashes the process.
 * @param {{ env: Record<string, string>, invocations: object[], preload?: boolean, loader?: 'auto' | 'import', extraNodeOptions?: string, exitCodes?: number[] }} options
 */
export function runHandler({ env, invocations, preload = true, loader = 'auto', extraNodeOptions = '', exitCodes = [] }) {
  const nodeOptions = [extraNodeOptions, preload ? `--import ${preloadInit}` : ''].filter(Boolean).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harness], {
      env: {
        PATH: process.env.PATH,
        ...env,
        NODE_OPTIONS: nodeOptions,
        HARNESS_LOADER: loader,
        HARNESS_INVOCATIONS: JSON.stringify(invocations),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const results = stdout.split('\n').filter((line) => line.startsWith('RESULT ')).map((line) => JSON.parse(line.slice(7)));
      if (code !== 0 && !exitCodes.includes(code)) {
        reject(new Error(`harness exited with ${code ?? signal}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ results, stdout, stderr, code });
    });
  });
}
