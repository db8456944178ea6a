// Runs a response streaming handler the way AWS Lambda's Node.js runtime interface client
// (aws-lambda-ric 4: setupGlobals, createResponseStream, StreamingInvokeProcessor) does, for
// tests: `awslambda.streamifyResponse` marks the handler, and each invocation's response stream
// is a POST to HARNESS_RUNTIME_API's /runtime/invocation/<id>/response with
// `Lambda-Runtime-Function-Response-Mode: streaming` and chunked transfer, handed to the handler
// as the runtime hands it: a plain object with the request's writable methods bound to it. The
// harness awaits the handler's promise, then the Runtime API's answer, then checks the stream
// finished; a handler error is sent as the Lambda-Runtime-Function-Error-* trailers.
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming
// Each invocation prints RESULT <json>: {result} or {error}.
import * as http from 'node:http';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[HANDLER_STREAMING] = 'response';
    if (typeof options?.highWaterMark === 'number') handler[HANDLER_HIGHWATERMARK] = options.highWaterMark;
    return handler;
  },
};

const [moduleName, functionName] = path.basename(process.env._HANDLER).split('.', 2);
const handlerModule = await import(pathToFileURL(path.join(process.env.LAMBDA_TASK_ROOT, `${moduleName}.mjs`)).href);
const handler = handlerModule[functionName];
if (handler[HANDLER_STREAMING] !== 'response') throw new Error('the handler lost its streaming mark');
const [host, port] = process.env.HARNESS_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let sequence = 0;
for (const { event, traceHeader } of JSON.parse(process.env.HARNESS_INVOCATIONS)) {
  sequence += 1;
  process.env._X_AMZN_TRACE_ID = traceHeader;
  const requestId = `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
  const { stream, fail, responseDone } = createResponseStream(requestId);
  try {
    const result = handler(event, stream, lambdaContext(requestId));
    if (typeof result?.then !== 'function') throw new Error('Streaming does not support non-async handlers.');
    const value = await result;
    await responseDone;
    if (!stream.writableFinished) throw new Error('Response stream is not finished.');
    console.log(`RESULT ${JSON.stringify({ result: value ?? null })}`);
  } catch (error) {
    await fail(error);
    await responseDone.catch(() => {});
    console.log(`RESULT ${JSON.stringify({ error: String(error?.message ?? error) })}`);
  }
}
agent.destroy();

function createResponseStream(requestId) {
  let doneResolve;
  let doneReject;
  const responseDone = new Promise((resolve, reject) => { doneResolve = resolve; doneReject = reject; });
  const req = http.request({
    host, port, agent, method: 'POST', path: `/2018-06-01/runtime/invocation/${requestId}/response`,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      Trailer: ['Lambda-Runtime-Function-Error-Type', 'Lambda-Runtime-Function-Error-Body'],
      'Content-Type': 'application/octet-stream',
      'Transfer-Encoding': 'chunked',
    },
  }, (res) => {
    res.resume();
    res.on('end', () => doneResolve(res.statusCode));
  });
  req.on('error', (error) => { doneReject(error); req.destroy(error); });
  const stream = {};
  for (const method of ['cork', 'destroy', 'end', 'uncork', 'write', 'addListener', 'on', 'once', 'prependListener', 'prependOnceListener', 'off', 'removeListener', 'removeAllListeners', 'setMaxListeners', 'getMaxListeners', 'listeners', 'rawListeners', 'listenerCount', 'eventNames', 'emit']) {
    stream[method] = req[method].bind(req);
  }
  for (const property of ['writableFinished', 'writableEnded', 'writableLength', 'writable']) {
    Object.defineProperty(stream, property, { get: () => req[property] });
  }
  const fail = (error) => new Promise((resolve) => {
    if (req.writableEnded) return resolve();
    const body = { errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) };
    req.addTrailers({ 'Lambda-Runtime-Function-Error-Type': body.errorType, 'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(body)).toString('base64') });
    req.end(resolve);
  });
  return { stream, fail, responseDone };
}

function lambdaContext(awsRequestId) {
  const deadline = Date.now() + 30_000;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
  return {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
