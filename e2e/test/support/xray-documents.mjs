// Reading what a test asserts on from X-Ray (moto). The collector and the emulator write documents
// asynchronously, in more than one call, and a loaded machine stretches every step: a wait polls
// until every document the test asserts on is there, never for a time, a log line or some other
// document, and fails after a generous deadline naming what is missing and listing what is there.
//
// A test that asserts that documents are already there at a given moment (the contract that an
// invocation's spans are in X-Ray when its environment freezes) or that some are absent reads
// once instead, with `reader.trace` or `reader.traces`.
import assert from 'node:assert/strict';

/**
 * How long a wait polls before it fails: far above what an export takes on a loaded 2-core
 * machine (seconds at most), so that only documents that never come fail a test.
 * E2E_XRAY_DEADLINE_MS overrides it.
 */
export const XRAY_DEADLINE_MS = Number(process.env.E2E_XRAY_DEADLINE_MS) || 90_000;

/** One line per document: the fields the tests look at, for failure messages. */
export function describeNodes(nodes) {
  return nodes.map((n) => `  ${JSON.stringify({ id: n.id, parent: n.parentId, name: n.name, kind: n.kind, origin: n.origin, ns: n.namespace })}`).join('\n');
}

/**
 * Polls until `missing(state)` names nothing, `state` being what `read()` returns; returns that
 * state. Past the deadline, fails with the names still missing and `present(state)`.
 * @template S
 * @param {object} wait
 * @param {string} wait.what                   what is awaited, for the failure message
 * @param {() => Promise<S>} wait.read          one read of X-Ray
 * @param {(state: S) => string[]} wait.missing  what the test needs that the state lacks
 * @param {(state: S) => string} wait.present    what the state holds, for the failure message
 * @param {() => Promise<unknown>} [wait.between]  run between reads (e.g. an invocation, when
 *   spans leave the collector only during one)
 * @param {(state: S) => string} [wait.explain]  appended to the failure message (logs)
 * @param {number} [wait.timeoutMs]
 * @param {number} [wait.intervalMs]
 * @returns {Promise<S>}
 */
export async function untilInXRay({ what, read, missing, present, between, explain, timeoutMs = XRAY_DEADLINE_MS, intervalMs = 250 }) {
  const started = Date.now();
  for (;;) {
    const state = await read();
    const lacking = missing(state);
    if (lacking.length === 0) return state;
    if (Date.now() - started > timeoutMs) {
      assert.fail(`${what}: after ${((Date.now() - started) / 1000).toFixed(1)} s X-Ray still lacks:\n  ${lacking.slice(0, 20).join('\n  ')}${lacking.length > 20 ? `\n  ... ${lacking.length - 20} more` : ''}\nX-Ray holds:\n${present(state)}${explain ? `\n${explain(state)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    if (between) await between();
  }
}

/**
 * Polls one trace until it holds every document `wanted` describes; returns the trace.
 * @param {import('../../../tools/lambda-emulator/index.mjs').XRayTraceReader} reader
 * @param {string} traceId
 * @param {Record<string, (nodes: object[]) => unknown>} wanted  description → test on the trace's nodes
 * @param {{explain?: (trace: object | undefined) => string, timeoutMs?: number, between?: () => Promise<unknown>}} [options]
 */
export async function traceWith(reader, traceId, wanted, options = {}) {
  return untilInXRay({
    what: `trace ${traceId}`,
    read: () => reader.trace(traceId),
    missing: (trace) => Object.entries(wanted).filter(([, has]) => !has(trace?.nodes ?? [])).map(([name]) => name),
    present: (trace) => (trace ? `${trace.nodes.length} documents\n${describeNodes(trace.nodes)}` : 'nothing of this trace'),
    ...options,
  });
}

/**
 * Polls several traces until `missing(byId)` names nothing; returns the traces by ID.
 * @param {import('../../../tools/lambda-emulator/index.mjs').XRayTraceReader} reader
 * @param {string[]} traceIds
 * @param {(byId: Map<string, {traceId: string, nodes: object[]}>) => string[]} missing
 * @param {{what?: string, explain?: (byId: Map<string, object>) => string, timeoutMs?: number, between?: () => Promise<unknown>}} [options]
 */
export async function tracesWith(reader, traceIds, missing, { what = `${traceIds.length} traces`, ...options } = {}) {
  const ids = [...new Set(traceIds)];
  return untilInXRay({
    what,
    read: async () => new Map((await reader.traces(ids)).map((t) => [t.traceId, t])),
    missing,
    present: (byId) => `${byId.size} of ${ids.length} traces, ${[...byId.values()].reduce((sum, t) => sum + t.nodes.length, 0)} documents`,
    ...options,
  });
}
