// Runs a handler the way AWS Lambda's Node.js runtime does, for tests: started as its own
// process (NODE_OPTIONS carries the preload), it loads LAMBDA_TASK_ROOT/_HANDLER, then calls the
// exported function with (event, context) once per invocation in HARNESS_INVOCATIONS, setting
// _X_AMZN_TRACE_ID from each invocation's trace header as the runtime does from the
// Lambda-Runtime-Trace-Id header.
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-next
// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html
//
// HARNESS_LOADER=auto (default): import() for .mjs and for .js under "type": "module", require()
// for other .js and .cjs, as the Node.js 22 runtime does. HARNESS_LOADER=import: import() for all
// files, as the Node.js 24 runtime does.
// An invocation may give `timeoutMs`, the function timeout its context counts down from (default
// 30 s); the harness, unlike Lambda, does not stop a handler at its deadline.
// Each invocation prints one line: RESULT <json>. With HARNESS_REPORT_READY=1, it first prints
// READY <milliseconds since the process started> <milliseconds of CPU used, all threads> once the
// handler is loaded, and DURATION <milliseconds> <milliseconds of CPU> after each invocation (the handler's promise,
// which with the preload includes the flush of its spans).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const taskRoot = process.env.LAMBDA_TASK_ROOT;
const [moduleName, functionName] = path.basename(process.env._HANDLER).split('.', 2);
const moduleDirectory = path.resolve(taskRoot, path.dirname(process.env._HANDLER));
const invocations = JSON.parse(process.env.HARNESS_INVOCATIONS ?? '[{"event":{}}]');

const handlerModule = await loadHandlerModule();
const handler = handlerModule[functionName];
if (typeof handler !== 'function') throw new Error(`${process.env._HANDLER} is not a function`);
if (process.env.HARNESS_REPORT_READY === '1') {
  const { user, system } = process.cpuUsage();
  console.log(`READY ${performance.now()} ${(user + system) / 1000}`);
}

let sequence = 0;
for (const { event, traceHeader, timeoutMs } of invocations) {
  sequence += 1;
  if (traceHeader) process.env._X_AMZN_TRACE_ID = traceHeader;
  else delete process.env._X_AMZN_TRACE_ID;
  const context = lambdaContext(sequence, timeoutMs);
  try {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    const result = await handler(event, context);
    if (process.env.HARNESS_REPORT_READY === '1') {
      const { user, system } = process.cpuUsage(startCpu);
      console.log(`DURATION ${performance.now() - start} ${(user + system) / 1000}`);
    }
    console.log(`RESULT ${JSON.stringify({ result })}`);
  } catch (error) {
    console.log(`RESULT ${JSON.stringify({ error: String(error) })}`);
  }
}

async function loadHandlerModule() {
  const base = path.join(moduleDirectory, moduleName);
  const file = ['.js', '.mjs', '.cjs'].map((extension) => base + extension).find((candidate) => fs.existsSync(candidate));
  if (!file) throw new Error(`no handler module ${base}.{js,mjs,cjs}`);
  const useImport = process.env.HARNESS_LOADER === 'import' || file.endsWith('.mjs') || (file.endsWith('.js') && isTypeModule(path.dirname(file)));
  if (useImport) return import(pathToFileURL(file).href);
  return createRequire(import.meta.url)(file);
}

function isTypeModule(directory) {
  for (let dir = directory; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
    if (dir === path.dirname(dir)) return false;
  }
}

/** The context object's documented properties. https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html */
function lambdaContext(sequence, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
  return {
    functionName,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
