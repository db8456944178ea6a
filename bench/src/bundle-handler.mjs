// Bundles a handler as NodejsFunction does by default: esbuild, CommonJS, platform node, the
// AWS SDK v3 left external (the runtime provides it), into <outDir>/index.js.
// https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_lambda_nodejs-readme.html
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @param {string} entry   the handler source
 * @param {string} outDir  becomes /var/task
 * @returns {Promise<string>} outDir
 */
export async function bundleHandler(entry, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['@aws-sdk/*'],
    // The handler's API must be one the preload's global API accepts (same major, minor not newer).
    alias: { '@opentelemetry/api': 'handler-otel-api' },
    logLevel: 'warning',
  });
  // In Lambda nothing above /var/task says how to read index.js; here bench/package.json would
  // (it declares ES modules), so the task directory states CommonJS itself.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
  return outDir;
}
