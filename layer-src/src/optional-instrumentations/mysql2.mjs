// Built into its own file of the layer: read only when `mysql2` is chosen.
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { shapeSpans } from '../client-spans.mjs';
import { sanitizeSql } from '../sql-text.mjs';

/** Traces MySQL and MariaDB queries made with `mysql2`, callback and promise APIs, pools included. */
export function createInstrumentation() {
  return shapeSpans(new MySQL2Instrumentation({
    // Unmasked, the statement is recorded with the query's values formatted into it: the
    // statement is recorded as written, with any value in it replaced with ?.
    maskStatement: true,
    maskStatementHook: (query) => sanitizeSql(query, 'mysql'),
  }), { requireParentSpan: true, xrayDatabaseAttributes: true });
}
