// The X-Ray trace header, as Lambda passes it in _X_AMZN_TRACE_ID and Lambda-Runtime-Trace-Id.
// Format: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
// Trace ID format (1-<8 hex epoch seconds>-<24 hex random>):
// https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-traceids
import { randomBytes } from 'node:crypto';

/** A new X-Ray trace ID: version 1, start time in epoch seconds, 96 random bits. */
export function newTraceId(nowMs = Date.now()) {
  const epochHex = Math.floor(nowMs / 1000).toString(16).padStart(8, '0');
  return `1-${epochHex}-${randomBytes(12).toString('hex')}`;
}

/** A new 64-bit segment ID in 16 hex digits. */
export function newSegmentId() {
  return randomBytes(8).toString('hex');
}

/**
 * Parses `Root=...;Parent=...;Sampled=...`. Unknown keys are kept in `extra`.
 * @param {string | undefined} header
 * @returns {{root: string, parent?: string, sampled?: boolean, extra: Record<string,string>} | undefined}
 */
export function parseTraceHeader(header) {
  if (!header) return undefined;
  const fields = {};
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (!/^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(fields.Root ?? '')) return undefined;
  const { Root, Parent, Sampled, ...extra } = fields;
  return {
    root: Root,
    parent: /^[0-9a-f]{16}$/.test(Parent ?? '') ? Parent : undefined,
    sampled: Sampled === undefined || Sampled === '?' ? undefined : Sampled === '1',
    extra,
  };
}

/** Formats a trace header. */
export function formatTraceHeader({ root, parent, sampled }) {
  const parts = [`Root=${root}`];
  if (parent) parts.push(`Parent=${parent}`);
  if (sampled !== undefined) parts.push(`Sampled=${sampled ? 1 : 0}`);
  return parts.join(';');
}

/**
 * Reads a W3C `traceparent` header and gives the X-Ray form of its IDs.
 * https://www.w3.org/TR/trace-context/#traceparent-header
 */
export function traceparentToTraceHeader(traceparent) {
  const match = /^00-([0-9a-f]{8})([0-9a-f]{24})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent ?? '');
  if (!match) return undefined;
  return { root: `1-${match[1]}-${match[2]}`, parent: match[3], sampled: (parseInt(match[4], 16) & 1) === 1, extra: {} };
}
