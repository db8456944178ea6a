// The console of AWS Lambda's Node.js runtime interface client (aws-lambda-ric 4, LogPatch with
// its StdoutLogger and TelemetryLogger), for tests: each console method formats one line, in
// Lambda's text format (`<timestamp>\t<requestId>\t<LEVEL>\t<message>`, newlines turned into
// carriage returns) or JSON format (AWS_LAMBDA_LOG_FORMAT=JSON: timestamp, level, requestId,
// message, and errorType, errorMessage, stackTrace for an Error argument), and writes it to
// stdout, or, when _LAMBDA_TELEMETRY_LOG_FD names a file descriptor, as one frame there: a
// 16-byte header (type, length, timestamp in microseconds) then the message.
// https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html
// Imported by log-harness.mjs after the preload, as the runtime patches the console after it.
import { createRequire } from 'node:module';
import { format } from 'node:util';

// As the runtime does: its fs is the CommonJS module object.
const fs = createRequire(import.meta.url)('node:fs');

const LEVELS = { TRACE: 4, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, FATAL: 24 };
const json = process.env.AWS_LAMBDA_LOG_FORMAT === 'JSON';
const fd = process.env._LAMBDA_TELEMETRY_LOG_FD ? Number(process.env._LAMBDA_TELEMETRY_LOG_FD) : undefined;
delete process.env._LAMBDA_TELEMETRY_LOG_FD;
const header = Buffer.alloc(16);

/** The request ID of the invocation in progress; the harness sets it. */
globalThis.runtimeRequestId = undefined;

function formatJson(timestamp, level, message, params) {
  const result = { timestamp, level, requestId: globalThis.runtimeRequestId };
  if (params.length === 0) {
    result.message = message;
    return JSON.stringify(result, errorReplacer);
  }
  result.message = format(message, ...params);
  const error = params.find((p) => p instanceof Error);
  if (error) Object.assign(result, { errorType: error.constructor.name, errorMessage: error.message, stackTrace: error.stack.split('\n') });
  return JSON.stringify(result);
}

function errorReplacer(_key, value) {
  if (!(value instanceof Error)) return value;
  return { errorType: value.constructor.name, errorMessage: value.message, stackTrace: value.stack.split('\n'), ...value };
}

function log(level, message, ...params) {
  const now = new Date();
  const timestamp = now.toISOString();
  if (fd !== undefined) {
    const line = json ? formatJson(timestamp, level, message, params) : `${[timestamp, globalThis.runtimeRequestId, level, format(message, ...params)].join('\t')}\n`;
    const bytes = Buffer.from(line, 'utf8');
    header.writeUInt32BE(((json ? 0xa55a0002 : 0xa55a0003) | LEVELS[level]) >>> 0, 0);
    header.writeInt32BE(bytes.length, 4);
    header.writeBigInt64BE(BigInt(now.valueOf()) * 1000n, 8);
    fs.writeSync(fd, header);
    fs.writeSync(fd, bytes);
    return;
  }
  const line = json ? formatJson(timestamp, level, message, params) : [timestamp, globalThis.runtimeRequestId, level, format(message, ...params)].join('\t');
  process.stdout.write(`${line.replace(/\n/g, '\r')}\n`);
}

for (const level of Object.keys(LEVELS)) console[level.toLowerCase()] = (message, ...params) => log(level, message, ...params);
console.log = console.info;
