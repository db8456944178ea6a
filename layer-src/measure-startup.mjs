// Measures what the preload adds to a cold start: the time from process start until the
// handler module is loaded, and the CPU time spent by then (less sensitive to other load on the
// machine than wall time), with NODE_OPTIONS=--import <init.mjs> against bare Node.js, on each
// Node.js version the preload supports. Runs alternate between the two so that machine noise
// falls on both alike. Prints figures only; it passes or fails nothing.
// Usage: node layer-src/measure-startup.mjs [rounds]   (after node layer-src/build.mjs)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTaskRoot, lambdaEnvironment, preloadInit } from './test/support/run-handler.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] ?? 30);
const harness = path.join(here, 'test', 'support', 'lambda-harness.mjs');
const taskRoot = createTaskRoot({ 'index.js': "exports.handler = async () => ({ statusCode: 200, body: 'ok' });\n" });
// One core, as a small Lambda function gets, where taskset exists.
const oneCore = spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', '0'] : [];

function readyMillis(nodeBinary, nodeOptions) {
  const [command, ...args] = [...oneCore, nodeBinary, harness];
  const child = spawnSync(command, args, {
    env: {
      PATH: process.env.PATH,
      ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
      AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${spawnSync(nodeBinary, ['-p', 'process.versions.node.split(".")[0]']).stdout.toString().trim()}.x`,
      NODE_OPTIONS: nodeOptions,
      HARNESS_INVOCATIONS: '[]',
      HARNESS_REPORT_READY: '1',
    },
    encoding: 'utf8',
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('READY '));
  if (child.status !== 0 || !line) throw new Error(`measurement run failed:\n${child.stdout}\n${child.stderr}`);
  const [wall, cpu] = line.slice(6).split(' ').map(Number);
  return { wall, cpu };
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

for (const major of ['22', '24']) {
  const nodeBinary = path.join(here, 'node_modules', `node-${major}`, 'bin', 'node');
  const bare = [];
  const preloaded = [];
  readyMillis(nodeBinary, ''); // warm the file cache
  readyMillis(nodeBinary, `--import ${preloadInit}`);
  for (let round = 0; round < rounds; round += 1) {
    bare.push(readyMillis(nodeBinary, ''));
    preloaded.push(readyMillis(nodeBinary, `--import ${preloadInit}`));
  }
  const f = (ms) => `${ms.toFixed(1)} ms`.padStart(9);
  console.log(`Node.js ${major}, ${rounds} rounds${oneCore.length ? ', one core' : ''}: process start to handler loaded`);
  for (const measure of ['wall', 'cpu']) {
    const b = bare.map((run) => run[measure]);
    const p = preloaded.map((run) => run[measure]);
    console.log(`  ${measure.padEnd(4)} bare p50 ${f(quantile(b, 0.5))} p90 ${f(quantile(b, 0.9))} | preload p50 ${f(quantile(p, 0.5))} p90 ${f(quantile(p, 0.9))} | added (p50) ${f(quantile(p, 0.5) - quantile(b, 0.5))}`);
  }
}
