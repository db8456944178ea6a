// Runs the sample app locally, as in Lambda: synthesizes demo/app.ts with the real construct,
// runs it with the Lambda emulator's startLocalApp (moto as X-Ray and DynamoDB), invokes the
// frontend function, then prints the X-Ray trace as a tree and writes it as an SVG waterfall.
// Started by demo/run.sh, which installs and builds everything first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTraceTree, renderWaterfallSvg, startLocalApp } from '../tools/lambda-emulator/index.mjs';

const DEMO_DIR = fileURLToPath(new URL('.', import.meta.url));
const SVG_PATH = join(DEMO_DIR, 'trace.svg');
const color = process.stdout.isTTY;
const bold = (s) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);

const cleanups = [];
async function cleanUp() {
  while (cleanups.length) await cleanups.pop()().catch((err) => say(`cleanup: ${err.message}`));
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await cleanUp();
    process.exit(130);
  });
}

async function main() {
  say(bold('==> Synthesizing demo/app.ts, then starting moto (X-Ray and DynamoDB) and the Lambda emulator'));
  const logs = [];
  const app = await startLocalApp({
    appFile: join(DEMO_DIR, 'app.ts'),
    cdkOut: join(DEMO_DIR, 'cdk.out'),
    onSynthLine: (l) => say(dim(`    ${l}`)),
    // Sockets and merged layers; kept short for Unix socket paths.
    workDir: join(DEMO_DIR, '.work', 'emulator'),
    service: {
      onLog: (e) => {
        logs.push(`[${e.fn} ${e.source}] ${e.line}`);
        if (process.env.DEMO_VERBOSE) say(dim(`${new Date(e.time).toISOString().slice(11, 23)} ${logs.at(-1)}`));
      },
    },
  });
  cleanups.push(() => app.stop());
  const { assembly, service, reader } = app;
  for (const fn of assembly.functions) say(`    ${fn.name}: ${fn.runtime}, ${fn.handler}, ${fn.layerDirs.length} layers`);
  for (const table of assembly.tables) say(`    table ${table.name} created`);
  say(`    moto on ${app.moto.endpoint}`);
  const frontend = assembly.functions.find((f) => /Frontend/.test(f.name));

  say(bold(`==> Invoking ${frontend.name}`));
  let result;
  for (const [label, name] of [['cold start', 'Ada'], ['warm', 'Grace']]) {
    const started = Date.now();
    result = await service.invoke(frontend.name, { name });
    const took = Date.now() - started;
    if (result.functionError) {
      say(logs.slice(-40).join('\n'));
      throw new Error(`${frontend.name} failed: ${result.payload.toString()}`);
    }
    say(`    ${label}: ${result.payload.toString()} ${dim(`(${took} ms, trace ${result.traceId})`)}`);
    await result.done;
  }

  say(bold('==> Reading the trace back from X-Ray'));
  await service.settle();
  const complete = (t) => (t?.nodes ?? []).filter((n) => n.origin === 'AWS::Lambda').length === 2 && t.nodes.some((n) => n.namespace === 'aws');
  const trace = await reader.waitForTrace(result.traceId, complete);
  if (!complete(trace)) {
    say(logs.slice(-40).join('\n'));
    throw new Error(`trace ${result.traceId} is incomplete in X-Ray: ${trace?.nodes.length ?? 0} documents`);
  }
  say();
  say(renderTraceTree(trace, { color }));
  writeFileSync(SVG_PATH, renderWaterfallSvg(trace, { title: 'cdk-lambda-otel-xray demo: frontend → backend → DynamoDB' }));
  say(`Waterfall written to ${SVG_PATH}`);
}

try {
  await main();
  await cleanUp();
} catch (err) {
  await cleanUp();
  console.error(`\ndemo failed: ${err.message}`);
  process.exit(1);
}
