// Built into its own file of the layer: read only when `prisma` is chosen.
import { PrismaInstrumentation } from '@prisma/instrumentation';
import { shapeSpans } from '../client-spans.mjs';

/**
 * Traces Prisma Client operations and their database queries. Prisma's instrumentation patches
 * no module: it installs a tracing helper on `globalThis` that Prisma Client reads at each
 * operation, so it works however the client is bundled.
 */
export function createInstrumentation() {
  // Created disabled, it installs its helper when registerInstrumentations enables it, after
  // handing it the tracer provider: it keeps the provider it holds when enabled.
  return shapeSpans(new PrismaInstrumentation({ enabled: false }), { requireParentSpan: true, xrayDatabaseAttributes: true });
}
