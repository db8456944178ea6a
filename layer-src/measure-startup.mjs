// Measures what the preload adds to a cold start: the time from process start until the
// handler module is loaded, and the CPU time spent by then (less sensitive to other load on the
// machine than wall time), with NODE_OPTIONS=--import <init.mjs> against bare Node.js, on each
// Node.js version the preload supports, for the two handlers NodejsFunction makes: the default
// CommonJS bundle (index.js, loaded with require on Node.js 22) and the ES module bundle
// (index.mjs, loaded with import()). Runs are pinned to one core and interleaved, one of each
// variant per round in a rotating order, so that machine noise falls on all alike; the figure is
// the median of the per-round differences to bare Node.js. Prints figures only; it passes or
// fails nothing.
//
// Usage: node layer-src/measure-startup.mjs [rounds] [other-init.mjs]   (after node layer-src/build.mjs)
// With a second init.mjs (e.g. a copy of an earlier build), both preloads run in the same rounds.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTaskRoot, lambdaEnvironment, preloadInit } from './test/support/run-handler.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2] ?? 30);
const preloads = { preload: preloadInit, ...(process.argv[3] ? { other: path.resolve(process.argv[3]) } : {}) };
const harness = path.join(here, 'test', 'support', 'lambda-harness.mjs');
// The handler of the project's benchmark, as esbuild bundles it in each format.
const handlers = {
  cjs: createTaskRoot({
    'index.js': `"use strict";
var import_node_crypto = require("node:crypto");
exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ id: (0, import_node_crypto.randomUUID)(), path: event?.rawPath ?? "/" }) });
`,
  }),
  esm: createTaskRoot({
    'index.mjs': `import { randomUUID } from "node:crypto";
export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ id: randomUUID(), path: event?.rawPath ?? "/" }) });
`,
  }),
};
// One core, as a small Lambda function gets, where taskset exists; core 1 leaves core 0 to the
// machine's other work.
const oneCore = spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', '1'] : [];

function readyMillis(nodeBinary, major, taskRoot, nodeOptions) {
  const [command, ...args] = [...oneCore, nodeBinary, harness];
  const child = spawnSync(command, args, {
    env: {
      PATH: process.env.PATH,
      ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
      AWS_EXECUTION_ENV: `AWS_Lambda_nodejs${major}.x`,
      // What the construct sets.
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici,aws-sdk',
      NODE_OPTIONS: nodeOptions,
      HARNESS_INVOCATIONS: '[]',
      HARNESS_REPORT_READY: '1',
    },
    encoding: 'utf8',
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('READY '));
  if (child.status !== 0 || !line || child.stderr.includes('tracing disabled')) {
    throw new Error(`measurement run failed:\n${child.stdout}\n${child.stderr}`);
  }
  const [wall, cpu] = line.slice(6).split(' ').map(Number);
  return { wall, cpu };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const f = (ms) => `${ms.toFixed(1)} ms`.padStart(8);

for (const major of ['22', '24']) {
  const nodeBinary = path.join(here, 'node_modules', `node-${major}`, 'bin', 'node');
  const variants = [];
  for (const [format, taskRoot] of Object.entries(handlers)) {
    variants.push({ name: `bare ${format}`, format, taskRoot, nodeOptions: '' });
    for (const [name, init] of Object.entries(preloads)) variants.push({ name: `${name} ${format}`, format, taskRoot, nodeOptions: `--import ${init}` });
  }
  const samples = new Map(variants.map((v) => [v, []]));
  for (let round = -1; round < rounds; round += 1) {
    for (let i = 0; i < variants.length; i += 1) {
      const variant = variants[(i + Math.max(round, 0)) % variants.length];
      const run = readyMillis(nodeBinary, major, variant.taskRoot, variant.nodeOptions);
      if (round >= 0) samples.get(variant).push(run); // round -1 warms the file cache
    }
  }
  console.log(`Node.js ${major}, ${rounds} rounds${oneCore.length ? ', one core' : ''}: process start to handler loaded, added to bare Node.js (median of per-round differences)`);
  for (const variant of variants.filter((v) => !v.name.startsWith('bare'))) {
    const bare = samples.get(variants.find((v) => v.name === `bare ${variant.format}`));
    const runs = samples.get(variant);
    const added = (measure) => median(runs.map((run, i) => run[measure] - bare[i][measure]));
    console.log(`  ${variant.name.padEnd(12)} wall ${f(added('wall'))}   cpu ${f(added('cpu'))}   (bare wall ${f(median(bare.map((r) => r.wall)))})`);
  }
}
