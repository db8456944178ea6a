import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createTaskRoot, layerSourceDir } from './run-handler.mjs';

/**
 * The output formats of the CDK's NodejsFunction: CommonJS into index.js (loaded with require, or
 * with import() as the Node.js 24 runtime does), and with OutputFormat.ESM, ES module into
 * index.mjs with main fields module,main and the createRequire banner its documentation suggests.
 */
export const NODEJS_FUNCTION_BUNDLINGS = {
  'CommonJS bundle': { format: 'cjs', outfile: 'index.js' },
  'CommonJS bundle loaded with import()': { format: 'cjs', outfile: 'index.js', loader: 'import' },
  'ES module bundle': {
    format: 'esm',
    outfile: 'index.mjs',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  },
};

/**
 * Bundles `source` (TypeScript) as NodejsFunction does: esbuild, platform node, the running
 * Node.js major as target, @aws-sdk/* and `external` left out of the bundle. The bundle goes
 * into <dir>/task; <dir>/node_modules links to this package's node_modules, where the modules
 * left out are found, as NodejsFunction's `nodeModules` installs them beside the bundle.
 * Returns the task root and the bundle's text.
 * @param {{ source: string, external?: string[], format: 'cjs' | 'esm', outfile: string, [option: string]: unknown }} options
 */
export async function bundleHandler({ source, external = [], loader: _loader, outfile, ...options }) {
  const sourceRoot = createTaskRoot({ 'src/handler.ts': source });
  const taskRoot = path.join(sourceRoot, 'task');
  await esbuild.build({
    entryPoints: [path.join(sourceRoot, 'src', 'handler.ts')],
    outfile: path.join(taskRoot, outfile),
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    external: ['@aws-sdk/*', ...external],
    // Resolved from this package, as from the project's node_modules.
    nodePaths: [path.join(layerSourceDir, 'node_modules')],
    logLevel: 'error',
    ...options,
  });
  fs.symlinkSync(path.join(layerSourceDir, 'node_modules'), path.join(sourceRoot, 'node_modules'), 'dir');
  return { taskRoot, bundle: fs.readFileSync(path.join(taskRoot, outfile), 'utf8') };
}

/** A loopback port nothing listens on: connections to it are refused at once. */
export async function closedLoopbackPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
