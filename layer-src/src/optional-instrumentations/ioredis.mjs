// Built into its own file of the layer: read only when `ioredis` is chosen.
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';

/** Traces Redis commands made with `ioredis`. */
export function createInstrumentation() {
  // The statement is the command and its key; other arguments are not recorded.
  return new IORedisInstrumentation({ requireParentSpan: true });
}
