// Built into its own file of the layer: read only when `aws-sdk` is chosen.
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';

/** Traces AWS SDK for JavaScript v3 calls. */
export function createInstrumentation() {
  // One span per AWS call: the HTTP request underneath it is not traced a second time.
  return new AwsInstrumentation({ suppressInternalInstrumentation: true });
}
