import { randomBytes } from 'node:crypto';

/**
 * A fresh X-Ray trace header as Lambda passes it in _X_AMZN_TRACE_ID, and the matching
 * OpenTelemetry IDs. Root is 1-<8 hex digits of epoch seconds>-<24 hex digits>.
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
 */
export function xrayTraceHeader({ sampled }) {
  const epoch = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  const unique = randomBytes(12).toString('hex');
  const parent = randomBytes(8).toString('hex');
  return {
    header: `Root=1-${epoch}-${unique};Parent=${parent};Sampled=${sampled ? 1 : 0}`,
    traceId: epoch + unique,
    parentSpanId: parent,
  };
}

/** Parses an X-Amzn-Trace-Id header into its fields. */
export function parseXrayHeader(header) {
  return Object.fromEntries(String(header).split(';').map((part) => part.trim().split('=')));
}
