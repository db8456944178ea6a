// Built into its own file of the layer: read only when `pg` is chosen.
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { shapeSpans } from '../client-spans.mjs';
import { sanitizeSql } from '../sql-text.mjs';

/** Traces PostgreSQL queries and connects made with `pg` (node-postgres), pools included. */
export function createInstrumentation() {
  return shapeSpans(new PgInstrumentation({
    // No spans for queries outside an invocation (a pool warmed at INIT).
    requireParentSpan: true,
    // Parameter values stay out of the spans; the statement is recorded with its placeholders
    // ($1), and any value written into the statement itself is replaced with ?.
    enhancedDatabaseReporting: false,
    requestHook: (span, { query }) => span.setAttribute('db.query.text', sanitizeSql(query.text, 'postgresql')),
  }), { xrayDatabaseAttributes: true });
}
