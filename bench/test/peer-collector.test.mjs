import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { RECEIVER_ENDPOINT, SINK_ENDPOINT_ENV, renderOtlpHttpConfig } from '../src/otlphttp-config.mjs';
import { countJsonSpans, countProtobufSpans, startOtlpSink } from '../src/otlp-sink.mjs';
import { BUDGETS, judge, limitOf, formatLimit } from '../src/budgets.mjs';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
// The emulator's own YAML parser (tools/lambda-emulator's dependency, which the bench already loads).
const { parse } = createRequire(join(BENCH_DIR, '..', 'tools', 'lambda-emulator', 'index.mjs'))('yaml');
const budget = (key) => BUDGETS.find((b) => b.key === key);
const temporary = () => mkdtempSync(join(tmpdir(), 'bench-peer-'));

// --- a minimal protobuf encoder for the tests: varint, fixed64 and length-delimited fields ---
const varint = (n) => {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
};
const bytesField = (field, payload) => Buffer.concat([varint(field * 8 + 2), varint(payload.length), payload]);
const varintField = (field, value) => Buffer.concat([varint(field * 8), varint(value)]);
const fixed64Field = (field) => Buffer.concat([varint(field * 8 + 1), Buffer.alloc(8, 7)]);
/** A span as the SDK encodes one: trace ID, span ID, name, kind, start and end times. */
const span = (name) => Buffer.concat([bytesField(1, Buffer.alloc(16, 1)), bytesField(2, Buffer.alloc(8, 2)), bytesField(5, Buffer.from(name)), varintField(6, 2), fixed64Field(7), fixed64Field(8)]);
const scopeSpans = (n) => Buffer.concat([bytesField(1, bytesField(1, Buffer.from('scope'))), ...Array.from({ length: n }, (_, i) => bytesField(2, span(`s${i}`))), bytesField(3, Buffer.from('https://schema'))]);
const resourceSpans = (...scopes) => Buffer.concat([bytesField(1, bytesField(1, Buffer.from('resource'))), ...scopes.map((n) => bytesField(2, scopeSpans(n)))]);
const exportRequest = (...resources) => Buffer.concat(resources.map((r) => bytesField(1, resourceSpans(...r))));

test('the comparison configuration: OTLP/HTTP on localhost:4318 in, otlphttp to the sink out, one traces pipeline, nothing else', () => {
  const config = parse(renderOtlpHttpConfig({ sinkEndpoint: 'http://127.0.0.1:40123' }));
  assert.deepEqual(config, {
    receivers: { otlp: { protocols: { http: { endpoint: 'localhost:4318' } } } },
    exporters: { otlphttp: { endpoint: 'http://127.0.0.1:40123' } },
    service: { pipelines: { traces: { receivers: ['otlp'], exporters: ['otlphttp'] } } },
  });
  assert.equal(RECEIVER_ENDPOINT, 'localhost:4318');
});

test('the layer configuration reads the sink from the environment, and a sink that is not a URL is refused', () => {
  const config = parse(renderOtlpHttpConfig());
  assert.equal(config.exporters.otlphttp.endpoint, `\${env:${SINK_ENDPOINT_ENV}}`);
  assert.throws(() => renderOtlpHttpConfig({ sinkEndpoint: '127.0.0.1:4319' }), /not an http:\/\/ or https:\/\/ URL/);
});

test('spans are counted in protobuf requests across resources and scopes, skipping other fields', () => {
  assert.equal(countProtobufSpans(exportRequest([12])), 12);
  assert.equal(countProtobufSpans(exportRequest([3, 4], [0], [5])), 12);
  assert.equal(countProtobufSpans(Buffer.alloc(0)), 0);
  assert.throws(() => countProtobufSpans(exportRequest([2]).subarray(0, 20)), /protobuf: /);
  assert.equal(countJsonSpans(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{}, {}] }, { spans: [{}] }] }, {}] })), 3);
});

/** POSTs to the sink's Unix socket; resolves with status, body, content type and milliseconds taken. */
function post(sink, path, body, headers) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = request({ socketPath: sink.socketPath, method: 'POST', path, headers: { 'Content-Length': body.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), type: res.headers['content-type'], ms: Date.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the sink answers OTLP with 200 and an empty response, counts spans when the request is in, and answers after its delay', async () => {
  const dir = temporary();
  const sink = await startOtlpSink({ socketPath: join(dir, 'sink.sock') });
  try {
    assert.match(sink.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const proto = await post(sink, '/v1/traces', gzipSync(exportRequest([7], [5])), { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    assert.deepEqual({ status: proto.status, length: proto.body.length, type: proto.type }, { status: 200, length: 0, type: 'application/x-protobuf' });
    const json = await post(sink, '/v1/traces', Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{}, {}] }] }] })), { 'Content-Type': 'application/json' });
    assert.deepEqual({ status: json.status, body: json.body.toString() }, { status: 200, body: '{}' });
    assert.equal(sink.spans, 14);
    assert.equal(sink.requests, 2);

    sink.setDelay(60);
    const slow = post(sink, '/v1/traces', exportRequest([1]), { 'Content-Type': 'application/x-protobuf' });
    // Polled until the request is in, not slept on: each poll's timer is due before the answer's,
    // which is armed only when the request is in, so the poll that sees it runs before the answer.
    const until = Date.now() + 60_000;
    while (sink.spans < 15 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(sink.spans, 15, 'counted before the answer');
    assert.equal(sink.requests, 2, 'not answered yet');
    const answered = await slow;
    assert.equal(answered.status, 200);
    assert.ok(answered.ms >= 55, `answered after ${answered.ms} ms, not after the 60 ms delay`);
    assert.throws(() => sink.setDelay(-1), /not a number of milliseconds/);

    assert.equal((await post(sink, '/v1/metrics', Buffer.alloc(0), {})).status, 404);
    assert.equal((await post(sink, '/v1/traces', Buffer.from([0x0a, 0x09, 0x01]), { 'Content-Type': 'application/x-protobuf' })).status, 400);
    assert.equal(sink.rejected, 2);
    assert.equal(sink.spans, 15);
  } finally {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the peer is skipped, saying why, when its source folder is absent or it is not built', async () => {
  const { peerCollectorLayer } = await import('../src/peer-collector.mjs');
  const dir = temporary();
  try {
    const thirdPartyDir = join(dir, 'third_party');
    const buildDir = join(dir, 'build');
    assert.match(peerCollectorLayer({ thirdPartyDir, buildDir }).skip, /opentelemetry-lambda-collector is absent/);
    mkdirSync(join(thirdPartyDir, 'opentelemetry-lambda-collector', 'src'), { recursive: true });
    writeFileSync(join(thirdPartyDir, 'opentelemetry-lambda-collector', 'SOURCE'), 'upstream abc\n');
    assert.match(peerCollectorLayer({ thirdPartyDir, buildDir }).skip, /is not built: run bench\/build-artifacts\.sh peer-collector/);
    mkdirSync(join(buildDir, 'peer-collector', 'extensions'), { recursive: true });
    mkdirSync(join(buildDir, 'peer-collector', 'collector-config'), { recursive: true });
    writeFileSync(join(buildDir, 'peer-collector', 'extensions', 'collector'), '');
    writeFileSync(join(buildDir, 'peer-collector', 'collector-config', 'config.yaml'), '');
    assert.deepEqual(peerCollectorLayer({ thirdPartyDir, buildDir }), {
      layerDir: join(buildDir, 'peer-collector'),
      binary: join(buildDir, 'peer-collector', 'extensions', 'collector'),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('build-artifacts.sh skips the peer with a line when its folder is absent, and does not rebuild it when SOURCE is unchanged', () => {
  const dir = temporary();
  try {
    const run = (env) => spawnSync('bash', [join(BENCH_DIR, 'build-artifacts.sh'), 'peer-collector'], { encoding: 'utf8', env: { ...process.env, BENCH_BUILD_DIR: join(dir, 'build'), ...env } });
    const absent = run({ BENCH_THIRD_PARTY_DIR: join(dir, 'nothing') });
    assert.equal(absent.status, 0, absent.stderr);
    assert.match(absent.stdout, /SKIPPED peer-collector: .*nothing\/opentelemetry-lambda-collector is absent/);

    const source = join(dir, 'third_party', 'opentelemetry-lambda-collector');
    mkdirSync(join(source, 'src'), { recursive: true });
    writeFileSync(join(source, 'SOURCE'), 'upstream abc 2026-01-01\n');
    const out = join(dir, 'build', 'peer-collector');
    mkdirSync(join(out, 'extensions'), { recursive: true });
    writeFileSync(join(out, 'extensions', 'collector'), 'built before');
    chmodSync(join(out, 'extensions', 'collector'), 0o755);
    writeFileSync(join(out, 'SOURCE'), 'upstream abc 2026-01-01\n');
    const cached = run({ BENCH_THIRD_PARTY_DIR: join(dir, 'third_party') });
    assert.equal(cached.status, 0, cached.stderr);
    assert.match(cached.stdout, /is built already/);
    assert.equal(readFileSync(join(out, 'extensions', 'collector'), 'utf8'), 'built before');
    assert.equal(readFileSync(join(out, 'collector-config', 'config.yaml'), 'utf8'), renderOtlpHttpConfig());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rounds rotate the order, so each function goes first in turn', async () => {
  const { rotation } = await import('../src/peer-collector.mjs');
  assert.deepEqual([0, 1, 2, 3, -1].map((r) => rotation(['ours', 'peer', 'untraced'], r)), [
    ['ours', 'peer', 'untraced'], ['peer', 'untraced', 'ours'], ['untraced', 'ours', 'peer'], ['ours', 'peer', 'untraced'], ['untraced', 'ours', 'peer'],
  ]);
});

/** Samples of one mode: every function the same series, shifted by `plus` milliseconds. */
const series = (base, plus = 0) => base.map((v) => v + plus);

test('the comparison writes every key, ours and the peer each traced minus untraced in the same rounds', async () => {
  const { OTLPHTTP_KEYS, PEER_KEYS, invokeFigures, readyFigures } = await import('../src/peer-collector.mjs');
  const base = [10, 11, 12, 13, 14];
  const mode = (ours, peer) => ({
    ours: { billed: series(base, ours.billed), response: series(base, ours.response) },
    peer: { billed: series(base, peer.billed), response: series(base, peer.response) },
    untraced: { billed: series(base), response: series(base) },
  });
  const samples = {
    low: mode({ billed: 3, response: 1 }, { billed: 20, response: 2 }),
    steady: mode({ billed: 1, response: 1 }, { billed: 21, response: 2 }),
    backend_50ms: mode({ billed: 52, response: 1.5 }, { billed: 22, response: 51 }),
  };
  const delivered = (within) => ({ invocations: 12, spans: 144, measured: 10, within });
  const delivery = { low: { ours: delivered(10), peer: delivered(10) }, steady: { ours: { invocations: 12, spans: 132, measured: 10, within: 4 }, peer: delivered(10) }, backend_50ms: { ours: delivered(10), peer: delivered(9) } };
  const invoke = invokeFigures(samples, delivery);
  const ready = readyFigures({ ours: { firstNext: [20, 22, 21], listening: [19, 20, 21] }, peer: { firstNext: [60, 61, 62], listening: [55, 56, 57] }, baseline: { firstNext: [15, 16, 17], listening: [14, 15, 16] } }, 3);
  const figures = { ...ready.figures, ...invoke.figures };
  for (const key of [...OTLPHTTP_KEYS, ...PEER_KEYS.filter((k) => k !== 'peer_collector_binary_bytes')]) {
    assert.equal(typeof figures[key], 'number', `${key} is missing`);
  }
  assert.equal(figures.collector_ready_otlphttp_ms, 21);
  assert.equal(figures.peer_collector_ready_ms, 61);
  assert.equal(figures.added_billed_otlphttp_p50_ms, 3);
  assert.equal(figures.peer_added_billed_p50_ms, 20);
  assert.equal(figures.added_billed_otlphttp_steady_p50_ms, 1);
  assert.equal(figures.peer_added_billed_p50_ms_backend_50ms, 22);
  assert.equal(figures.added_response_p50_ms_backend_50ms, 1.5);
  assert.equal(figures.peer_added_response_p50_ms_backend_50ms, 51);
  assert.equal(figures.otlphttp_exported_within_invocation_steady, 0.4);
  assert.equal(figures.otlphttp_spans_lost, 12);
  assert.equal(figures.peer_collector_exported_within_invocation_backend_50ms, 0.9);
  assert.equal(figures.peer_collector_spans_lost, 0);
});

test('without the peer, only this collector\'s keys are written', async () => {
  const { PEER_KEYS, invokeFigures, readyFigures } = await import('../src/peer-collector.mjs');
  const one = { billed: [5, 6], response: [3, 4] };
  const samples = Object.fromEntries(['low', 'steady', 'backend_50ms'].map((m) => [m, { ours: one, untraced: one }]));
  const delivery = Object.fromEntries(['low', 'steady', 'backend_50ms'].map((m) => [m, { ours: { invocations: 2, spans: 24, measured: 2, within: 2 } }]));
  const figures = { ...invokeFigures(samples, delivery).figures, ...readyFigures({ ours: { firstNext: [1], listening: [1] }, baseline: { firstNext: [1], listening: [1] } }, 1).figures };
  assert.deepEqual(Object.keys(figures).filter((k) => k.startsWith('peer_')), []);
  assert.ok(PEER_KEYS.every((k) => !(k in figures)));
  assert.equal(figures.added_billed_otlphttp_p50_ms, 0);
});

test('budgets: ready at most a third of upstream\'s, added billed time below upstream\'s, reported when the peer is absent', () => {
  const ready = budget('collector_ready_otlphttp_ms');
  assert.equal(limitOf(ready, { peer_collector_ready_ms: 60 }), 20);
  assert.equal(formatLimit(ready, { peer_collector_ready_ms: 60 }), '<= a third of upstream (20.00 ms)');
  assert.equal(judge(ready, { collector_ready_otlphttp_ms: 19, peer_collector_ready_ms: 60 }).status, 'within');
  const slow = judge(ready, { collector_ready_otlphttp_ms: 25, peer_collector_ready_ms: 60 });
  assert.equal(slow.status, 'over');
  assert.match(slow.note, /over the budget of a third of upstream \(20\.00 ms\) by 5\.00 ms/);
  assert.equal(judge(ready, { collector_ready_otlphttp_ms: 25 }).status, 'reported');
  for (const [key, peer] of [['added_billed_otlphttp_p50_ms', 'peer_added_billed_p50_ms'], ['added_billed_otlphttp_steady_p50_ms', 'peer_added_billed_steady_p50_ms'], ['added_billed_otlphttp_p50_ms_backend_50ms', 'peer_added_billed_p50_ms_backend_50ms']]) {
    const b = budget(key);
    assert.equal(b.baseline, peer);
    assert.equal(judge(b, { [key]: 4, [peer]: 20 }).status, 'within');
    assert.match(judge(b, { [key]: 55, [peer]: 22 }).note, new RegExp(`not below its baseline ${peer} \\(22\\.00 ms\\)`));
    assert.deepEqual(judge(b, { [key]: 4 }), { status: 'reported', note: `${peer} not measured in this run` });
  }
});
