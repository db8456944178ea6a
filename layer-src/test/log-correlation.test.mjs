// Console lines of a traced invocation carry its trace ID (X-Ray form) and the active span's ID,
// in Lambda's text and JSON log formats, written to stdout or framed on the telemetry log
// descriptor, through the runtime's console (installed after the preload, as the runtime
// interface client does); lines outside an invocation are left as they are; the variable
// OTEL_NODE_LOG_CORRELATION=false turns it off.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTaskRoot, lambdaEnvironment, preloadInit } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

const harness = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'log-harness.mjs');
const CONTRACT = JSON.parse(fs.readFileSync(new URL('../../contract/contract.json', import.meta.url), 'utf8'));
const OPT_OUT = CONTRACT.preload.env.logCorrelation;

const HANDLER = `
const { trace } = require('@opentelemetry/api');
console.log('loading the handler');
exports.handler = async (event, context) => {
  globalThis.runtimeRequestId = context.awsRequestId;
  console.log('handling %s', event.name);
  console.error(new Error('a handled failure'));
  await trace.getTracer('test').startActiveSpan('inner work', async (span) => {
    console.warn('inside the inner span');
    span.end();
  });
  setTimeout(() => console.info('after the invocation'), 0);
  return 'done';
};
`;

/** @returns the runtime's output lines: from stdout, or parsed from the telemetry descriptor's frames. */
function run({ env, invocations, telemetryFd = false }) {
  const taskRoot = createTaskRoot({ 'index.js': HANDLER, 'node_modules/@opentelemetry/api/index.js': "module.exports = require(process.env.OTEL_API_PATH);\n" });
  const framesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'otel-log-frames-')), 'frames');
  const framesFd = fs.openSync(framesFile, 'w+');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harness], {
      env: {
        PATH: process.env.PATH,
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
        OTEL_API_PATH: path.resolve(fileURLToPath(import.meta.url), '..', '..', 'node_modules', '@opentelemetry', 'api'),
        NODE_OPTIONS: `--import ${preloadInit}`,
        HARNESS_INVOCATIONS: JSON.stringify(invocations),
        ...(telemetryFd ? { _LAMBDA_TELEMETRY_LOG_FD: '3' } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', framesFd],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`harness exited with ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      const frames = readFrames(fs.readFileSync(framesFile));
      fs.closeSync(framesFd);
      const lines = stdout.split('\n').filter((l) => l.length > 0 && !l.startsWith('RESULT '));
      resolve({ lines: telemetryFd ? frames.map((f) => f.message.replace(/\n$/, '')) : lines, frames, stdout, stderr });
    });
  });
}

/** Frames of Lambda's telemetry log descriptor: 16-byte header (type, length, timestamp), message. */
function readFrames(bytes) {
  const frames = [];
  for (let offset = 0; offset < bytes.length;) {
    const type = bytes.readUInt32BE(offset);
    const length = bytes.readInt32BE(offset + 4);
    frames.push({ type, message: bytes.subarray(offset + 16, offset + 16 + length).toString('utf8') });
    offset += 16 + length;
  }
  return frames;
}

const xray = (traceId) => `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;

describe('log correlation', () => {
  const standIns = useStandIns();

  async function spansOf(trace) {
    const spans = await standIns.collector.waitFor((all) => all.filter((s) => s.traceId === trace.traceId).length >= 2);
    const mine = spans.filter((s) => s.traceId === trace.traceId);
    return { handler: mine.find((s) => s.name === 'orders-api'), inner: mine.find((s) => s.name === 'inner work') };
  }

  for (const telemetryFd of [false, true]) {
    const sink = telemetryFd ? 'framed on the telemetry log descriptor' : 'on stdout';
    it(`text format, ${sink}: the line ends with a tab and trace_id=<X-Ray trace ID> span_id=<active span>`, async () => {
      const trace = xrayTraceHeader({ sampled: true });
      const { lines, frames } = await run({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
        invocations: [{ event: { name: 'Ada' }, traceHeader: trace.header }],
        telemetryFd,
      });
      const { handler, inner } = await spansOf(trace);
      const suffix = (spanId) => `\ttrace_id=${xray(trace.traceId)} span_id=${spanId}`;
      assert.match(lines.find((l) => l.includes('loading the handler')), /\tINFO\tloading the handler$/, 'a line of Init is unchanged');
      const handling = lines.find((l) => l.includes('handling Ada'));
      assert.ok(handling.endsWith(`\tINFO\thandling Ada${suffix(handler.spanId)}`), handling);
      const error = lines.find((l) => l.includes('a handled failure'));
      assert.ok(error.includes('\tERROR\tError: a handled failure'), error);
      assert.ok(error.endsWith(suffix(handler.spanId)), `once, at the end of the line (after the stack): ${error}`);
      assert.equal(error.split('trace_id=').length, 2);
      assert.ok(lines.find((l) => l.includes('inside the inner span')).endsWith(`\tWARN\tinside the inner span${suffix(inner.spanId)}`));
      assert.ok(lines.find((l) => l.includes('after the invocation')).endsWith(suffix(handler.spanId)), 'a timer the handler set runs in its context, as the runtime\'s request ID does');
      if (telemetryFd) {
        for (const frame of frames) assert.equal((frame.type & 0xffff0003) >>> 0, 0xa55a0003, 'text frames');
      }
    });

    it(`JSON format, ${sink}: "traceId" (X-Ray form) and "spanId" fields at the end of the object`, async () => {
      const trace = xrayTraceHeader({ sampled: true });
      const { lines } = await run({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint, AWS_LAMBDA_LOG_FORMAT: 'JSON' },
        invocations: [{ event: { name: 'Grace' }, traceHeader: trace.header }],
        telemetryFd,
      });
      const { handler, inner } = await spansOf(trace);
      const records = lines.map((l) => JSON.parse(l));
      const init = records.find((r) => r.message === 'loading the handler');
      assert.deepEqual(Object.keys(init), ['timestamp', 'level', 'message'], 'a line of Init is unchanged');
      const handling = records.find((r) => r.message === 'handling Grace');
      assert.deepEqual(Object.keys(handling), ['timestamp', 'level', 'requestId', 'message', 'traceId', 'spanId']);
      assert.equal(handling.traceId, xray(trace.traceId));
      assert.equal(handling.spanId, handler.spanId);
      assert.equal(handling.requestId, '00000000-0000-4000-8000-000000000001');
      const error = records.find((r) => r.message?.errorMessage === 'a handled failure');
      assert.equal(error.message.errorType, 'Error', 'the runtime\'s error fields are kept');
      assert.equal(error.traceId, xray(trace.traceId));
      assert.equal(records.find((r) => r.message === 'inside the inner span').spanId, inner.spanId);
      assert.equal(records.find((r) => r.message === 'after the invocation').spanId, handler.spanId);
    });
  }

  it(`${OPT_OUT}=false: every line as the runtime writes it`, async () => {
    const trace = xrayTraceHeader({ sampled: true });
    const { lines } = await run({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint, [OPT_OUT]: 'false' },
      invocations: [{ event: { name: 'Alan' }, traceHeader: trace.header }],
    });
    await spansOf(trace);
    assert.ok(lines.find((l) => l.includes('handling Alan')).endsWith('\tINFO\thandling Alan'));
    assert.ok(lines.every((l) => !l.includes('trace_id=')), lines.join('\n'));
  });

  it(`${OPT_OUT} with another value: the function runs untraced and one line names the variable`, async () => {
    const trace = xrayTraceHeader({ sampled: true });
    const { lines, stdout, stderr } = await run({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint, [OPT_OUT]: 'sometimes' },
      invocations: [{ event: { name: 'Edsger' }, traceHeader: trace.header }],
    });
    assert.match(stdout + stderr, new RegExp(`${OPT_OUT}="sometimes" is not valid`));
    assert.ok(lines.find((l) => l.includes('handling Edsger')).endsWith('\tINFO\thandling Edsger'));
    assert.match(stdout, /RESULT \{"result":"done"\}/);
  });

  it('an unsampled invocation: its lines carry the IDs all the same', async () => {
    const trace = xrayTraceHeader({ sampled: false });
    const { lines } = await run({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint },
      invocations: [{ event: { name: 'Barbara' }, traceHeader: trace.header }],
    });
    assert.match(lines.find((l) => l.includes('handling Barbara')), new RegExp(`\\ttrace_id=${xray(trace.traceId)} span_id=[0-9a-f]{16}$`));
  });
});
