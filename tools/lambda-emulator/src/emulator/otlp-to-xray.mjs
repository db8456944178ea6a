// ADOT's OTLP datagrams for Lambda's X-Ray daemon, read and turned into X-Ray segment documents.
//
// AWS's collector-less ADOT layer (aws-otel-js-instrumentation, OTLPUdpSpanExporter) sends each
// batch of spans as one UDP datagram to AWS_XRAY_DAEMON_ADDRESS:
//   {"format":"json","version":1}\n + "T1S" (sampled) or "T1U" (unsampled) + base64 of the
//   protobuf ExportTraceServiceRequest
// Lambda's daemon hands these to X-Ray's OTLP ingestion. moto has no OTLP endpoint, so the
// stand-in decodes the request here (only the fields a segment needs) and converts every span
// into a segment document for PutTraceSegments, the way X-Ray shows OTLP spans: a span without a
// parent, or of kind SERVER or CONSUMER, becomes a segment named after the service; any other
// span becomes an independent subsegment of its parent, named after the span.
// Protobuf: https://github.com/open-telemetry/opentelemetry-proto (trace/v1/trace.proto,
// common/v1/common.proto, resource/v1/resource.proto).

/** The prefixes of ADOT's OTLP datagrams, after the daemon header. */
export const OTLP_PREFIXES = { T1S: 'sampled', T1U: 'unsampled' };

const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/**
 * Decodes an ExportTraceServiceRequest into flat spans. Throws on bytes that are not one.
 * @param {Uint8Array} bytes
 * @returns {{traceId: string, spanId: string, parentSpanId?: string, name: string, kind: string, startTimeUnixNano: bigint, endTimeUnixNano: bigint, attributes: Record<string, unknown>, status: {code: number, message?: string}, resource: Record<string, unknown>, scope: {name?: string, version?: string}}[]}
 */
export function decodeExportTraceServiceRequest(bytes) {
  const spans = [];
  for (const [field, resourceSpans] of fields(bytes)) {
    if (field !== 1) continue;
    let resource = {};
    const scopes = [];
    for (const [f, value] of fields(resourceSpans)) {
      if (f === 1) resource = attributesOf(value, 1);
      else if (f === 2) scopes.push(value);
    }
    for (const scopeSpans of scopes) {
      let scope = {};
      for (const [f, value] of fields(scopeSpans)) {
        if (f === 1) scope = scopeOf(value);
        else if (f === 2) spans.push({ ...spanOf(value), resource, scope });
      }
    }
  }
  return spans;
}

/**
 * A decoded span as an X-Ray segment document (an object, for JSON.stringify).
 * @param {ReturnType<typeof decodeExportTraceServiceRequest>[number]} span
 */
export function spanToSegmentDocument(span) {
  if (!/^[0-9a-f]{32}$/.test(span.traceId) || /^0+$/.test(span.traceId)) throw new Error(`span ${span.name}: trace ID ${span.traceId || '(empty)'} is not a 16-byte ID`);
  if (!/^[0-9a-f]{16}$/.test(span.spanId)) throw new Error(`span ${span.name}: span ID ${span.spanId || '(empty)'} is not an 8-byte ID`);
  const isSegment = !span.parentSpanId || span.kind === 'SERVER' || span.kind === 'CONSUMER';
  const serviceName = String(span.resource['service.name'] ?? 'unknown_service');
  const doc = {
    trace_id: `1-${span.traceId.slice(0, 8)}-${span.traceId.slice(8)}`,
    id: span.spanId,
    name: sanitizeName(isSegment ? serviceName : span.name),
    start_time: nanosToSeconds(span.startTimeUnixNano),
    end_time: nanosToSeconds(span.endTimeUnixNano),
  };
  if (span.parentSpanId) doc.parent_id = span.parentSpanId;
  if (!isSegment) {
    doc.type = 'subsegment';
    if (span.kind === 'CLIENT' || span.kind === 'PRODUCER') doc.namespace = span.attributes['rpc.system'] === 'aws-api' ? 'aws' : 'remote';
  }
  if (span.status.code === 2) doc.fault = true;
  const origin = span.resource['cloud.platform'] === 'aws_lambda' ? 'AWS::Lambda::Function' : undefined;
  if (isSegment && origin) doc.origin = origin;
  doc.metadata = { otel: { 'span.name': span.name, 'span.kind': span.kind, ...span.attributes, ...(span.scope.name ? { 'otel.scope.name': span.scope.name } : {}) } };
  return doc;
}

/** X-Ray names: up to 200 characters of letters, digits, whitespace and _.:/%&#=+\-@ */
function sanitizeName(name) {
  return name.replace(/[^\p{L}\p{N}\s_.:/%&#=+\-@]/gu, '_').slice(0, 200) || 'unnamed';
}

function nanosToSeconds(nanos) {
  return Number(nanos / 1000n) / 1e6;
}

function spanOf(bytes) {
  const span = { traceId: '', spanId: '', parentSpanId: undefined, name: '', kind: 'UNSPECIFIED', startTimeUnixNano: 0n, endTimeUnixNano: 0n, attributes: {}, status: { code: 0 } };
  for (const [f, value] of fields(bytes)) {
    switch (f) {
      case 1: span.traceId = hex(value); break;
      case 2: span.spanId = hex(value); break;
      case 4: if (value.length > 0) span.parentSpanId = hex(value); break;
      case 5: span.name = utf8(value); break;
      case 6: span.kind = SPAN_KINDS[Number(value)] ?? 'UNSPECIFIED'; break;
      case 7: span.startTimeUnixNano = fixed64(value); break;
      case 8: span.endTimeUnixNano = fixed64(value); break;
      case 9: Object.assign(span.attributes, keyValue(value)); break;
      case 15: span.status = statusOf(value); break;
      default: break;
    }
  }
  return span;
}

function statusOf(bytes) {
  const status = { code: 0 };
  for (const [f, value] of fields(bytes)) {
    if (f === 2) status.message = utf8(value);
    else if (f === 3) status.code = Number(value);
  }
  return status;
}

function scopeOf(bytes) {
  const scope = {};
  for (const [f, value] of fields(bytes)) {
    if (f === 1) scope.name = utf8(value);
    else if (f === 2) scope.version = utf8(value);
  }
  return scope;
}

/** Repeated KeyValue field `field` of a message, as an object. */
function attributesOf(bytes, field) {
  const out = {};
  for (const [f, value] of fields(bytes)) if (f === field) Object.assign(out, keyValue(value));
  return out;
}

function keyValue(bytes) {
  let key = '';
  let value;
  for (const [f, v] of fields(bytes)) {
    if (f === 1) key = utf8(v);
    else if (f === 2) value = anyValue(v);
  }
  return { [key]: value };
}

function anyValue(bytes) {
  for (const [f, v] of fields(bytes)) {
    switch (f) {
      case 1: return utf8(v);
      case 2: return v !== 0n;
      case 3: return Number(BigInt.asIntN(64, v));
      case 4: return Buffer.from(v).readDoubleLE(0);
      case 5: return [...fields(v)].filter(([g]) => g === 1).map(([, item]) => anyValue(item));
      case 6: return attributesOf(v, 1);
      case 7: return Buffer.from(v).toString('base64');
      default: break;
    }
  }
  return undefined;
}

const fixed64 = (bytes) => (bytes instanceof Uint8Array && bytes.length === 8 ? Buffer.from(bytes).readBigUInt64LE(0) : 0n);
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const utf8 = (bytes) => Buffer.from(bytes).toString('utf8');

/**
 * The fields of one protobuf message: [number, value], value being a BigInt (varint), a
 * Uint8Array (length-delimited, or the 8 bytes of a fixed64) or a number (fixed32). Throws on
 * malformed bytes.
 * @param {Uint8Array} bytes
 * @returns {Generator<[number, any]>}
 */
function* fields(bytes) {
  let at = 0;
  const varint = () => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= bytes.length) throw new Error('protobuf: truncated varint');
      const byte = bytes[at++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('protobuf: varint longer than 10 bytes');
  };
  const take = (n) => {
    if (at + n > bytes.length) throw new Error('protobuf: field runs past the end of its message');
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new Error('protobuf: field number 0');
    switch (wire) {
      case 0: yield [field, varint()]; break;
      case 1: yield [field, take(8)]; break;
      case 2: yield [field, take(Number(varint()))]; break;
      case 5: yield [field, Buffer.from(take(4)).readUInt32LE(0)]; break;
      default: throw new Error(`protobuf: wire type ${wire} is not read`);
    }
  }
}
