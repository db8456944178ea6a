import { trace } from '@opentelemetry/api';

/**
 * Answers with the X-Ray trace ID of its own invocation, so the integ assertions can look the
 * trace up in X-Ray, and with the OpenTelemetry span it ran under.
 */
export const handler = async () => {
  const xrayTraceId = /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID ?? '')?.[1];
  const span = trace.getActiveSpan();
  return {
    traceId: xrayTraceId,
    otelTraceId: span?.spanContext().traceId,
  };
};
