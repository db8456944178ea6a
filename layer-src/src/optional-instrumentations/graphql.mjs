// Built into its own file of the layer: read only when `graphql` is chosen.
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { shapeSpans } from '../client-spans.mjs';

/** Traces GraphQL parsing, validation, execution and resolvers run by `graphql` (graphql-js). */
export function createInstrumentation() {
  return shapeSpans(new GraphQLInstrumentation({
    // Values written into a document are recorded as *.
    allowValues: false,
    // No span for a field read from its parent object without a resolver of its own, and one
    // for all the items of a list: a document stays a few spans, not one per field and item.
    ignoreTrivialResolveSpans: true,
    mergeItems: true,
  }), { requireParentSpan: true });
}
