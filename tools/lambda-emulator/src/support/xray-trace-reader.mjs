// Reads traces back from X-Ray (here: moto) with the AWS SDK's X-Ray client.
// GetTraceSummaries: https://docs.aws.amazon.com/xray/latest/api/API_GetTraceSummaries.html
// BatchGetTraces (at most 5 IDs a call): https://docs.aws.amazon.com/xray/latest/api/API_BatchGetTraces.html
import { BatchGetTracesCommand, GetTraceSummariesCommand, XRayClient } from '@aws-sdk/client-xray';
import { flattenTrace } from '../render/trace-model.mjs';

const BATCH_GET_LIMIT = 5;

export class XRayTraceReader {
  /** @param {{endpoint: string, region?: string}} options */
  constructor({ endpoint, region = 'us-east-1' }) {
    this.client = new XRayClient({ endpoint, region, credentials: { accessKeyId: 'reader', secretAccessKey: 'reader' } });
  }

  /** IDs of traces with segments between two times. */
  async traceIds(start = new Date(Date.now() - 3600_000), end = new Date(Date.now() + 60_000)) {
    const ids = [];
    let NextToken;
    do {
      const page = await this.client.send(new GetTraceSummariesCommand({ StartTime: start, EndTime: end, NextToken }));
      for (const summary of page.TraceSummaries ?? []) ids.push(summary.Id);
      NextToken = page.NextToken;
    } while (NextToken);
    return [...new Set(ids)];
  }

  /**
   * Full traces, flattened into nodes (see trace-model.mjs).
   * @param {string[]} ids
   */
  async traces(ids) {
    const out = [];
    for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
      let NextToken;
      do {
        const page = await this.client.send(new BatchGetTracesCommand({ TraceIds: ids.slice(i, i + BATCH_GET_LIMIT), NextToken }));
        for (const trace of page.Traces ?? []) out.push(flattenTrace(trace));
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out;
  }

  /** One trace, or undefined when X-Ray has nothing for it. */
  async trace(id) {
    return (await this.traces([id]))[0];
  }

  /** Every segment and subsegment document stored, across all traces. */
  async allNodes() {
    const traces = await this.traces(await this.traceIds());
    return traces.flatMap((t) => t.nodes);
  }

  /**
   * Polls until `check(trace)` returns a truthy value or the time runs out; returns the last trace.
   * @param {string} id
   * @param {(trace: ReturnType<typeof flattenTrace> | undefined) => unknown} check
   */
  async waitForTrace(id, check, { timeoutMs = 15_000, intervalMs = 200 } = {}) {
    const until = Date.now() + timeoutMs;
    let trace;
    for (;;) {
      trace = await this.trace(id);
      if (check(trace)) return trace;
      if (Date.now() > until) return trace;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  destroy() {
    this.client.destroy();
  }
}
