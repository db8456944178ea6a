// Synthesizes a CDK app with the repository's own toolchain (ts-node, aws-cdk-lib, the compiled
// construct library), so the functions, bundles and layers are exactly what `cdk synth` produces.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './paths.mjs';

/**
 * What synthesis needs from the repository build, with the command that makes each.
 * @param {{skipBundling?: boolean}} [options]   without bundling, the layer assets are not needed
 */
export function missingPrerequisites({ skipBundling = false } = {}) {
  const needs = [
    [join(REPO_DIR, 'node_modules', '.bin', 'ts-node'), 'npm ci (at the repository root)'],
    [join(REPO_DIR, 'lib', 'index.js'), 'npx projen compile (at the repository root)'],
  ];
  if (!skipBundling) {
    needs.push(
      [join(REPO_DIR, 'assets', 'preload-layer', 'nodejs', 'otel-preload', 'init.mjs'), 'npm ci --prefix layer-src && node layer-src/build.mjs'],
      [join(REPO_DIR, 'assets', 'collector-layer', 'manifest.json'), 'node scripts/build-collector.mjs (the prebuilt collector layers)'],
    );
  }
  return needs.filter(([path]) => !existsSync(path)).map(([path, fix]) => `${path} is missing: run ${fix}`);
}

/**
 * Runs `app.synth()` of a TypeScript CDK app into `outdir`.
 * @param {string} appFile
 * @param {string} outdir
 * @param {{onLine?: (line: string) => void, skipBundling?: boolean}} [options]
 *   skipBundling: no stack is bundled (context aws:cdk:bundling-stacks = []), for reading templates only
 */
export async function synthesize(appFile, outdir, { onLine = () => {}, skipBundling = false } = {}) {
  const missing = missingPrerequisites({ skipBundling });
  if (missing.length > 0) throw new Error(`cannot synthesize ${appFile}:\n  ${missing.join('\n  ')}`);
  rmSync(outdir, { recursive: true, force: true });
  const output = [];
  const child = spawn(join(REPO_DIR, 'node_modules', '.bin', 'ts-node'), ['--prefer-ts-exts', appFile], {
    cwd: REPO_DIR,
    // Asset and path metadata, as the cdk CLI turns on: the loader reads aws:asset:path and aws:cdk:path.
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({
        'aws:cdk:enable-asset-metadata': true,
        'aws:cdk:enable-path-metadata': true,
        ...(skipBundling ? { 'aws:cdk:bundling-stacks': [] } : {}),
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d) => {
      for (const line of d.toString().split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        onLine(line);
      }
    });
  }
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`synthesis of ${appFile} failed (exit ${code}):\n${output.slice(-30).join('\n')}`);
  return outdir;
}
