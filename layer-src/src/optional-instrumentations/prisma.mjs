// Built into its own file of the layer: read only when `prisma` is chosen.
import { PrismaInstrumentation } from '@prisma/instrumentation';
import { shapeSpans } from '../client-spans.mjs';

/**
 * Traces Prisma Client 7 operations and their database queries. Prisma's instrumentation patches
 * no module: it puts a tracing helper on `globalThis` that Prisma Client reads at each operation,
 * so the client is traced however it is bundled.
 */
export function createInstrumentation() {
  // Created disabled, it installs its helper when registerInstrumentations enables it, after
  // handing it the tracer provider: the helper keeps the provider it is given when installed.
  const instrumentation = new PrismaInstrumentation({ enabled: false });
  const enable = instrumentation.enable;
  instrumentation.enable = function enableForPrisma7() {
    enable.call(this);
    // The helper is installed under V7_PRISMA_INSTRUMENTATION, which Prisma 7 clients read, and
    // under PRISMA_INSTRUMENTATION, which earlier clients read too, though they call it with
    // other arguments (dispatchEngineSpans without events): those stay untraced, not broken.
    delete globalThis.PRISMA_INSTRUMENTATION;
  };
  return shapeSpans(instrumentation, { requireParentSpan: true, xrayDatabaseAttributes: true });
}
