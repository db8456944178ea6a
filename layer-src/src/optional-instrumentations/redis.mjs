// Built into its own file of the layer: read only when `redis` is chosen.
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';

/** Traces Redis commands made with `redis` (node-redis, through `@redis/client`). */
export function createInstrumentation() {
  // The statement is the command and its key; other arguments are not recorded.
  return new RedisInstrumentation({ requireParentSpan: true });
}
