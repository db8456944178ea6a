// The emulator's X-Ray daemon stand-in: every environment gets AWS_XRAY_DAEMON_ADDRESS (UDP), a
// documented datagram (header + segment document) reaches X-Ray (moto) through PutTraceSegments
// in batches of at most 50, ADOT's OTLP datagrams (T1S/T1U + base64 ExportTraceServiceRequest)
// are decoded and their sampled spans forwarded as segment documents, and datagrams it cannot
// read or that are over 64 kB are counted, never a crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, json, startService, WORK_ROOT } from './harness.mjs';
import {
  DAEMON_MAX_DATAGRAM_BYTES, decodeExportTraceServiceRequest, newTraceId, startMoto, XRayDaemonStandIn, XRayTraceReader,
} from '../../tools/lambda-emulator/index.mjs';

const HEADER = '{"format":"json","version":1}\n';

// Sends each datagram of the event (base64) to the daemon address Lambda gives the function.
const HANDLER = `
const dgram = require('node:dgram');
exports.handler = async (event) => {
  const address = process.env.AWS_XRAY_DAEMON_ADDRESS;
  const [host, port] = address.split(':');
  const socket = dgram.createSocket('udp4');
  for (const datagram of event.datagrams ?? []) {
    await new Promise((resolve, reject) => socket.send(Buffer.from(datagram, 'base64'), Number(port), host, (err) => (err ? reject(err) : resolve())));
  }
  socket.close();
  return { address, contextMissing: process.env.AWS_XRAY_CONTEXT_MISSING ?? null, traceHeader: process.env._X_AMZN_TRACE_ID ?? null };
};
`;

const b64 = (text) => Buffer.from(text).toString('base64');
const randomHex = (bytes) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

// A small protobuf writer for an OTLP ExportTraceServiceRequest (opentelemetry-proto trace/v1).
const varint = (value) => {
  let n = BigInt(value);
  const out = [];
  while (n > 127n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
};
const tag = (field, wire) => varint((field << 3) | wire);
const message = (field, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
};
const string = (field, text) => message(field, Buffer.from(text));
const bytes = (field, hex) => message(field, Buffer.from(hex, 'hex'));
const fixed64 = (field, value) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return Buffer.concat([tag(field, 1), b]);
};
const keyValue = (field, key, value) => message(field, string(1, key), message(2, string(1, value)));
/** @param {{traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, startNs: bigint, endNs: bigint}[]} spans */
function exportTraceServiceRequest(serviceName, spans) {
  return message(1,
    message(1, keyValue(1, 'service.name', serviceName)),
    message(2,
      message(1, string(1, 'e2e-scope')),
      ...spans.map((s) => message(2,
        bytes(1, s.traceId), bytes(2, s.spanId), ...(s.parentSpanId ? [bytes(4, s.parentSpanId)] : []),
        string(5, s.name), Buffer.concat([tag(6, 0), varint(s.kind)]), fixed64(7, s.startNs), fixed64(8, s.endNs),
        keyValue(9, 'http.method', 'GET'),
      ))));
}

describe('X-Ray daemon stand-in', () => {
  let moto;
  let service;
  let reader;
  before(async () => {
    moto = await startMoto();
    const codeDir = join(WORK_ROOT, 'xray-daemon-code');
    mkdirSync(codeDir, { recursive: true });
    writeFileSync(join(codeDir, 'index.js'), HANDLER);
    service = await startService('xray-daemon', { xray: { endpoint: moto.endpoint, region: 'us-east-1', port: moto.port }, xrayDaemon: true });
    service.register({ name: 'udp-sender', runtime: 'nodejs22.x', codeDir, timeoutSeconds: 10 });
    reader = new XRayTraceReader({ endpoint: moto.endpoint });
  });
  after(async () => {
    await service?.stop();
    reader?.destroy();
    await moto?.stop();
  });

  test('every environment gets AWS_XRAY_DAEMON_ADDRESS (host:port of the stand-in) and AWS_XRAY_CONTEXT_MISSING', async () => {
    const result = await service.invoke('udp-sender', {});
    assert.equal(result.functionError, undefined, result.payload.toString());
    const body = json(result);
    assert.match(body.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(body.address, service.xrayDaemonAddressInside);
    assert.equal(Number(body.address.split(':')[1]), service.xrayDaemon.port);
    assert.equal(body.contextMissing, 'LOG_ERROR');
  });

  test('a documented datagram reaches X-Ray; a garbage one and one over 64 kB are counted, and the daemon keeps working', async () => {
    const daemon = service.xrayDaemon;
    const before = { ...daemon.stats };
    const traceId = newTraceId();
    const id = randomHex(8);
    const now = Date.now() / 1000;
    const segment = { trace_id: traceId, id, name: 'from-the-handler', start_time: now - 0.01, end_time: now };
    const oversized = `${HEADER}${JSON.stringify({ ...segment, id: randomHex(8), annotations: { pad: 'x'.repeat(DAEMON_MAX_DATAGRAM_BYTES) } })}`;
    assert.ok(Buffer.byteLength(oversized) > DAEMON_MAX_DATAGRAM_BYTES && Buffer.byteLength(oversized) < 65_507, 'an oversized datagram UDP can still carry');
    const result = await service.invoke('udp-sender', { datagrams: [b64('this is not a daemon datagram'), b64(oversized), b64(`${HEADER}${JSON.stringify(segment)}`)] });
    assert.equal(result.functionError, undefined, result.payload.toString());

    const counted = await eventually(() => daemon.stats.datagrams >= before.datagrams + 3, { timeoutMs: 30_000 });
    assert.ok(counted, `the stand-in received 3 datagrams: ${JSON.stringify(daemon.stats)}`);
    assert.equal(daemon.stats.segmentDocuments, before.segmentDocuments + 1);
    assert.equal(daemon.stats.malformed, before.malformed + 1);
    assert.equal(daemon.stats.oversized, before.oversized + 1);
    assert.ok(daemon.rejections.some((r) => /over the 64000-byte limit/.test(r.reason)), 'the oversized datagram is recorded as dropped');
    assert.ok(daemon.rejections.some((r) => /no header line/.test(r.reason)), 'the garbage datagram is recorded with its reason');
    assert.ok(service.logs.some((l) => /X-Ray daemon stand-in: a \d+-byte datagram/.test(l)), 'rejections are logged');

    // Within about a second, without being asked: the stand-in's own batch timer.
    const trace = await reader.waitForTrace(traceId, (t) => t?.nodes.some((n) => n.id === id), { timeoutMs: 30_000 });
    assert.ok(trace?.nodes.some((n) => n.id === id && n.name === 'from-the-handler'), `X-Ray holds the segment: ${JSON.stringify(trace)}`);
    assert.ok(daemon.stats.forwarded >= before.forwarded + 1);

    const again = await service.invoke('udp-sender', {});
    assert.equal(again.functionError, undefined, 'the function still answers');
  });

  test('ADOT-style OTLP datagrams: T1S spans are decoded and forwarded as segment documents, T1U counted only, bad base64 counted', async () => {
    const daemon = service.xrayDaemon;
    const before = { ...daemon.stats };
    const xrayTraceId = newTraceId();
    const otlpTraceId = xrayTraceId.slice(2).replace('-', '');
    const rootId = randomHex(8);
    const childId = randomHex(8);
    const startNs = BigInt(Date.now() - 20) * 1_000_000n;
    const request = exportTraceServiceRequest('otlp-service', [
      { traceId: otlpTraceId, spanId: rootId, name: 'handler', kind: 2, startNs, endNs: startNs + 15_000_000n },
      { traceId: otlpTraceId, spanId: childId, parentSpanId: rootId, name: 'GET items', kind: 3, startNs: startNs + 1_000_000n, endNs: startNs + 5_000_000n },
    ]);
    assert.equal(decodeExportTraceServiceRequest(request).length, 2, 'the test encodes two spans');
    const unsampled = exportTraceServiceRequest('otlp-service', [{ traceId: randomHex(16), spanId: randomHex(8), name: 'not sampled', kind: 2, startNs, endNs: startNs + 1n }]);
    await service.invoke('udp-sender', {
      datagrams: [b64(`${HEADER}T1S${request.toString('base64')}`), b64(`${HEADER}T1U${unsampled.toString('base64')}`), b64(`${HEADER}T1S%%% not base64 %%%`)],
    });
    const counted = await eventually(() => daemon.stats.datagrams >= before.datagrams + 3, { timeoutMs: 30_000 });
    assert.ok(counted, `the stand-in received 3 datagrams: ${JSON.stringify(daemon.stats)}`);
    assert.equal(daemon.stats.otlpSampled, before.otlpSampled + 1);
    assert.equal(daemon.stats.otlpUnsampled, before.otlpUnsampled + 1);
    assert.equal(daemon.stats.otlpSpans, before.otlpSpans + 3);
    assert.equal(daemon.stats.malformed, before.malformed + 1);
    assert.ok(daemon.spans.some((s) => s.spanId === childId && s.parentSpanId === rootId && s.name === 'GET items' && s.sampled), 'decoded spans are exposed');

    const trace = await reader.waitForTrace(xrayTraceId, (t) => t?.nodes.some((n) => n.id === rootId) && t.nodes.some((n) => n.id === childId), { timeoutMs: 30_000 });
    const root = trace?.nodes.find((n) => n.id === rootId);
    const child = trace?.nodes.find((n) => n.id === childId);
    assert.ok(root && child, `X-Ray holds both spans: ${JSON.stringify(trace)}`);
    assert.equal(root.kind, 'segment');
    assert.equal(root.name, 'otlp-service');
    assert.equal(child.kind, 'subsegment');
    assert.equal(child.parentId, rootId);
    assert.equal(child.name, 'GET items');
  });
});

describe('X-Ray daemon stand-in, on its own', () => {
  test('sends PutTraceSegments in batches of at most 50: a full batch at once, the rest on flush', async () => {
    const calls = [];
    const xray = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        calls.push(JSON.parse(Buffer.concat(chunks).toString('utf8')).TraceSegmentDocuments.length);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"UnprocessedTraceSegments":[]}');
      });
    });
    await new Promise((resolve) => xray.listen(0, '127.0.0.1', resolve));
    const daemon = await XRayDaemonStandIn.start({
      // A long interval: only full batches go out by themselves; flush() sends the rest.
      address: '127.0.0.1:0', batchSize: 50, flushIntervalMs: 600_000, maxDatagramBytes: DAEMON_MAX_DATAGRAM_BYTES,
      xray: { endpoint: `http://127.0.0.1:${xray.address().port}`, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
    });
    const socket = createSocket('udp4');
    try {
      const traceId = newTraceId();
      const now = Date.now() / 1000;
      for (let i = 0; i < 120; i++) {
        const doc = JSON.stringify({ trace_id: traceId, id: randomHex(8), name: `s${i}`, start_time: now, end_time: now });
        await new Promise((resolve, reject) => socket.send(Buffer.from(`${HEADER}${doc}`), daemon.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      }
      const received = await eventually(() => daemon.stats.segmentDocuments === 120, { timeoutMs: 30_000 });
      assert.ok(received, `120 documents received: ${JSON.stringify(daemon.stats)}`);
      const full = await eventually(() => calls.length === 2, { timeoutMs: 30_000 });
      assert.ok(full, `two full batches went out by themselves: ${JSON.stringify(calls)}`);
      await daemon.flush();
      assert.deepEqual(calls, [50, 50, 20]);
      assert.equal(daemon.stats.forwarded, 120);
    } finally {
      socket.close();
      await daemon.stop();
      await new Promise((resolve) => xray.close(resolve));
    }
  });

  test('an address that is not host:port is refused, naming the value and the fix', async () => {
    await assert.rejects(startService('xray-daemon-bad', { xrayDaemon: { address: 'daemon' } }), /xrayDaemon.address "daemon" is not host:port: give an IPv4 address and a UDP port, e.g. 127.0.0.1:2000/);
    await assert.rejects(startService('xray-daemon-bad', { xrayDaemon: { address: '127.0.0.1:70000' } }), /not host:port/);
    const service = await startService('xray-daemon-bad');
    try {
      assert.throws(
        () => service.register({ name: 'bad-address', runtime: 'nodejs22.x', codeDir: WORK_ROOT, environment: { AWS_XRAY_DAEMON_ADDRESS: 'xray.local' } }),
        /function bad-address: environment.AWS_XRAY_DAEMON_ADDRESS "xray.local" is not host:port/,
      );
    } finally {
      await service.stop();
    }
  });

});
