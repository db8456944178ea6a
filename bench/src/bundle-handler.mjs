// Bundles a handler as NodejsFunction does: esbuild, platform node, the AWS SDK v3 left external
// (the runtime provides it); CommonJS into index.js by default, or ES module into index.mjs with
// `format: OutputFormat.ESM`.
// https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_lambda_nodejs-readme.html
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './paths.mjs';

/**
 * @param {string} entry   the handler source
 * @param {string} outDir  becomes /var/task
 * @param {{format?: 'cjs' | 'esm'}} [options]
 * @returns {Promise<string>} outDir
 */
export async function bundleHandler(entry, outDir, { format = 'cjs' } = {}) {
  if (format !== 'cjs' && format !== 'esm') throw new Error(`handler format ${JSON.stringify(format)} is not valid: use cjs or esm`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    absWorkingDir: BENCH_DIR,
    entryPoints: [entry],
    outfile: join(outDir, format === 'esm' ? 'index.mjs' : 'index.js'),
    bundle: true,
    platform: 'node',
    format,
    target: 'node22',
    external: ['@aws-sdk/*'],
    // The handler's API must be one the preload's global API accepts (same major, minor not newer).
    alias: { '@opentelemetry/api': 'handler-otel-api' },
    logLevel: 'warning',
  });
  if (format === 'cjs') {
    // In Lambda nothing above /var/task says how to read index.js; here bench/package.json would
    // (it declares ES modules), so the task directory states CommonJS itself.
    writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
  }
  return outDir;
}
