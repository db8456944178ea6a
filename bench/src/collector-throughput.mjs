// How many spans per second the collector takes in and exports to the X-Ray stand-in with none
// lost. Each invocation sends a burst of spans to the receiver during the invoke, then the
// collector exports them after platform.runtimeDone, before its next /extension/event/next, as
// it does in Lambda. Bursts grow until one loses a span or the buffer limit is reached; the
// figure is the best rate of a burst that lost nothing: spans / (first send to event/next).
import { performance } from 'node:perf_hooks';
import { OtlpSender, traceRequest } from './otlp-load.mjs';

const SPANS_PER_REQUEST = 100;

/**
 * @param {{environment: import('./collector-environment.mjs').CollectorEnvironment, standIn: import('../../tools/lambda-emulator/index.mjs').XRayStandIn, bursts: number[], connections?: number, log?: (line: string) => void}} options
 */
export async function measureThroughput({ environment, standIn, bursts, connections = 2, log = () => {} }) {
  const sender = new OtlpSender(await environment.receiverSocket(), connections);
  const results = [];
  try {
    for (const spans of bursts) {
      standIn.reset();
      const requests = Array.from({ length: Math.ceil(spans / SPANS_PER_REQUEST) }, (_, i) => traceRequest(Math.min(SPANS_PER_REQUEST, spans - i * SPANS_PER_REQUEST)));
      const sent = requests.flatMap((r) => r.ids);
      let refused = 0;
      const startedAt = performance.now();
      await environment.invoke(async () => {
        let next = 0;
        const worker = async () => {
          while (next < requests.length) {
            const { body, ids } = requests[next++];
            const status = await sender.post(body);
            if (status !== 200) refused += ids.length;
          }
        };
        await Promise.all(Array.from({ length: connections }, worker));
      });
      const seconds = (performance.now() - startedAt) / 1000;
      const lost = sent.filter((id) => !standIn.segmentIds.has(id)).length - refused;
      // The collector logs each flush: how long the export to X-Ray took and what it dropped.
      const flush = lastFlush(environment.logs);
      const result = { spans, refused, lost, seconds, spansPerSecond: (spans - refused) / seconds, putRequests: standIn.putRequests, flush };
      results.push(result);
      log(`throughput: ${spans} spans in ${seconds.toFixed(3)} s = ${Math.round(result.spansPerSecond)} spans/s, lost ${lost}, refused ${refused}, ${standIn.putRequests} PutTraceSegments calls; flush ${JSON.stringify(flush)}`);
      if (lost > 0 || refused > 0) break;
    }
  } finally {
    sender.close();
  }
  const clean = results.filter((r) => r.lost === 0 && r.refused === 0);
  return {
    figures: {
      collector_spans_per_second: clean.length > 0 ? Math.round(Math.max(...clean.map((r) => r.spansPerSecond))) : null,
      collector_throughput_largest_clean_burst: clean.length > 0 ? Math.max(...clean.map((r) => r.spans)) : 0,
    },
    bursts: results,
  };
}

/** The collector's last flush log record ("flush" or "flush dropped spans"). */
function lastFlush(logs) {
  for (let i = logs.length - 1; i >= 0; i--) {
    const line = logs[i];
    if (!line.startsWith('collector: {') || !line.includes('"msg":"flush')) continue;
    try {
      const record = JSON.parse(line.slice('collector: '.length));
      return { durationMs: record.duration_ms, exported: record.exported_spans, dropped: record.dropped_spans, rejected: record.rejected_spans, error: record.error };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
