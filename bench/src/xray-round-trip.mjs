// The X-Ray stand-in's own round trip, the floor under the collector's post-invoke time: one
// PutTraceSegments call carrying one invocation's worth of segments, made with the AWS SDK from
// the host. https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PutTraceSegmentsCommand, XRayClient } from '@aws-sdk/client-xray';
import { percentile, round } from './stats.mjs';

/** Segment documents of one trace: a root segment and `count - 1` subsegments. */
function segmentDocuments(count) {
  const now = Date.now() / 1000;
  const traceId = `1-${Math.floor(now).toString(16)}-${randomBytes(12).toString('hex')}`;
  const rootId = randomBytes(8).toString('hex');
  const docs = [{ name: 'bench-xray-rtt', id: rootId, trace_id: traceId, start_time: now - 0.01, end_time: now }];
  for (let i = 1; i < count; i++) {
    docs.push({ name: `step-${i}`, id: randomBytes(8).toString('hex'), trace_id: traceId, parent_id: rootId, type: 'subsegment', start_time: now - 0.005, end_time: now });
  }
  return docs.map((d) => JSON.stringify(d));
}

/**
 * @param {{endpoint: string, calls: number, segmentsPerCall: number}} options
 */
export async function measureXRayRoundTrip({ endpoint, calls, segmentsPerCall }) {
  const client = new XRayClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIABENCH0000000000', secretAccessKey: 'bench-secret', sessionToken: 'bench-session' },
  });
  const samples = [];
  try {
    for (let i = -5; i < calls; i++) {
      const command = new PutTraceSegmentsCommand({ TraceSegmentDocuments: segmentDocuments(segmentsPerCall) });
      const started = performance.now();
      const out = await client.send(command);
      const ms = performance.now() - started;
      if ((out.UnprocessedTraceSegments ?? []).length > 0) throw new Error(`the X-Ray stand-in left segments unprocessed: ${JSON.stringify(out.UnprocessedTraceSegments)}`);
      if (i >= 0) samples.push(ms);
    }
  } finally {
    client.destroy();
  }
  return {
    xray_round_trip_p50_ms: round(percentile(samples, 50)),
    xray_round_trip_p99_ms: round(percentile(samples, 99)),
  };
}

/**
 * The stand-in's own ceiling: segments per second it takes from one client sending full
 * PutTraceSegments calls back to back (50 documents each, as the collector's exporter batches them).
 * @param {{endpoint: string, calls: number}} options
 */
export async function measureXRayCeiling({ endpoint, calls }) {
  const client = new XRayClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIABENCH0000000000', secretAccessKey: 'bench-secret', sessionToken: 'bench-session' },
  });
  const perCall = 50;
  try {
    const batches = Array.from({ length: calls }, () => segmentDocuments(perCall));
    const started = performance.now();
    for (const documents of batches) {
      const out = await client.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: documents }));
      if ((out.UnprocessedTraceSegments ?? []).length > 0) throw new Error(`the X-Ray stand-in left segments unprocessed: ${JSON.stringify(out.UnprocessedTraceSegments)}`);
    }
    return { xray_stand_in_spans_per_second: Math.round((calls * perCall) / ((performance.now() - started) / 1000)) };
  } finally {
    client.destroy();
  }
}
