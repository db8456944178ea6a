import { context, INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';

/**
 * The database attributes as the collector's X-Ray exporter reads them. The instrumentations
 * record the stable database conventions (`db.system.name`, `db.query.text`, `db.namespace`); the
 * exporter reads the earlier names, and only a span whose `db.system` names an SQL database
 * becomes a subsegment with an `sql` section, `sanitized_query` taken from `db.statement` and
 * `connection_string` from `db.connection_string` and `db.name`.
 * https://github.com/open-telemetry/opentelemetry-collector-contrib/blob/main/exporter/awsxrayexporter/internal/translator/sql.go
 * https://opentelemetry.io/docs/specs/semconv/database/database-spans/
 */
const XRAY_DATABASE_ATTRIBUTES = {
  'db.system.name': 'db.system',
  'db.query.text': 'db.statement',
  'db.namespace': 'db.name',
};

/**
 * Shapes the spans of an instrumentation without options of its own for it, through the tracer it
 * is given (`setTracerProvider`, which `registerInstrumentations` calls):
 * - `requireParentSpan`: a call made outside any traced work (at INIT, outside the handler) gets
 *   a non-recording span instead of starting a trace of its own;
 * - `xrayDatabaseAttributes`: each span also gets the database attributes the X-Ray exporter reads
 *   (see XRAY_DATABASE_ATTRIBUTES), when it ends.
 * @template {import('@opentelemetry/instrumentation').Instrumentation} T
 * @param {T} instrumentation
 * @param {{ requireParentSpan?: boolean, xrayDatabaseAttributes?: boolean }} options
 * @returns {T}
 */
export function shapeSpans(instrumentation, options) {
  const setTracerProvider = instrumentation.setTracerProvider;
  instrumentation.setTracerProvider = function shapedTracerProvider(tracerProvider) {
    return setTracerProvider.call(this, {
      getTracer: (...args) => shapedTracer(tracerProvider.getTracer(...args), options),
    });
  };
  return instrumentation;
}

/**
 * @param {import('@opentelemetry/api').Tracer} tracer
 * @param {{ requireParentSpan?: boolean, xrayDatabaseAttributes?: boolean }} options
 * @returns {import('@opentelemetry/api').Tracer}
 */
function shapedTracer(tracer, { requireParentSpan = false, xrayDatabaseAttributes = false }) {
  return {
    startSpan(name, spanOptions, ctx = context.active()) {
      if (requireParentSpan && !hasParent(ctx, spanOptions)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
      const span = tracer.startSpan(name, spanOptions, ctx);
      return xrayDatabaseAttributes ? withXrayDatabaseAttributes(span) : span;
    },
    startActiveSpan(name, ...rest) {
      const fn = rest.pop();
      const [spanOptions, ctx = context.active()] = rest;
      const span = this.startSpan(name, spanOptions, ctx);
      return context.with(trace.setSpan(ctx, span), fn, undefined, span);
    },
  };
}

/** Whether a span would have a parent: a valid span in the context, unless it is to be a root. */
function hasParent(ctx, spanOptions) {
  if (spanOptions?.root) return false;
  const parent = trace.getSpan(ctx);
  return parent !== undefined && trace.isSpanContextValid(parent.spanContext());
}

/** Copies, when the span ends, the stable database attributes to the names the X-Ray exporter reads. */
function withXrayDatabaseAttributes(span) {
  if (!span.isRecording()) return span;
  const end = span.end;
  span.end = function endWithXrayDatabaseAttributes(endTime) {
    const attributes = this.attributes ?? {};
    for (const [stable, xray] of Object.entries(XRAY_DATABASE_ATTRIBUTES)) {
      if (attributes[stable] !== undefined && attributes[xray] === undefined) this.setAttribute(xray, attributes[stable]);
    }
    const address = attributes['server.address'];
    if (address !== undefined && attributes['db.connection_string'] === undefined) {
      const port = attributes['server.port'];
      this.setAttribute('db.connection_string', port === undefined ? String(address) : `${address}:${port}`);
    }
    return end.call(this, endTime);
  };
  return span;
}
