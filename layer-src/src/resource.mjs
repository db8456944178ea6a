import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { awsLambdaDetector } from '@opentelemetry/resource-detector-aws';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/**
 * The resource every span carries: telemetry.sdk.*, service.name (OTEL_SERVICE_NAME, else the
 * function name), cloud.* and faas.* from the AWS Lambda detector, and aws.log.group.names set
 * to the function's log group so X-Ray links each trace to its logs. OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_SERVICE_NAME win over detected values.
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html#api-segmentdocuments-aws
 * @param {NodeJS.ProcessEnv} env
 */
export function createResource(env) {
  let resource = defaultResource();
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    resource = resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.AWS_LAMBDA_FUNCTION_NAME }));
  }
  return resource.merge(detectResources({ detectors: [awsLambdaDetector, envDetector] }));
}
