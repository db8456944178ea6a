// The segments the Lambda service itself records with active tracing: an AWS::Lambda segment for
// the service's handling of the request and an AWS::Lambda::Function segment for the time in the
// function. The function code's own spans join the trace as children of the function segment,
// whose ID the runtime receives as Parent in the trace header.
// https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
// Segment document fields: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
import { PutTraceSegmentsCommand } from '@aws-sdk/client-xray';

/**
 * @param {object} invocation
 * @param {import('./function-definition.mjs').FunctionDefinition} invocation.fn
 * @param {string} invocation.traceId
 * @param {string | undefined} invocation.upstreamParentId   caller's segment or subsegment
 * @param {string} invocation.serviceSegmentId
 * @param {string} invocation.functionSegmentId
 * @param {string} invocation.requestId
 * @param {number} invocation.receivedAt       epoch ms
 * @param {number} invocation.dispatchedAt
 * @param {number} invocation.respondedAt
 * @param {boolean} invocation.functionError
 * @param {number | undefined} invocation.initDurationMs   on a cold start
 * @returns {object[]} segment documents
 */
export function lambdaServiceSegments(invocation) {
  const { fn, traceId } = invocation;
  const seconds = (ms) => ms / 1000;
  const service = {
    name: fn.name,
    id: invocation.serviceSegmentId,
    trace_id: traceId,
    start_time: seconds(invocation.receivedAt),
    end_time: seconds(invocation.respondedAt),
    origin: 'AWS::Lambda',
    aws: { request_id: invocation.requestId },
    http: { response: { status: 200 } },
  };
  if (invocation.upstreamParentId) service.parent_id = invocation.upstreamParentId;
  if (invocation.functionError) service.fault = true;
  const functionSegment = {
    name: fn.name,
    id: invocation.functionSegmentId,
    trace_id: traceId,
    parent_id: invocation.serviceSegmentId,
    start_time: seconds(invocation.dispatchedAt),
    end_time: seconds(invocation.respondedAt),
    origin: 'AWS::Lambda::Function',
    resource_arn: fn.arn,
    aws: { function_arn: fn.arn, resource_names: [fn.name], account_id: fn.accountId },
  };
  if (invocation.functionError) functionSegment.error = true;
  return [service, functionSegment];
}

/**
 * Sends segment documents to X-Ray.
 * @param {import('@aws-sdk/client-xray').XRayClient} client
 * @param {object[]} segments
 */
export async function putSegments(client, segments) {
  const out = await client.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: segments.map((s) => JSON.stringify(s)) }));
  if (out.UnprocessedTraceSegments?.length) {
    throw new Error(`X-Ray did not accept ${out.UnprocessedTraceSegments.length} segments: ${JSON.stringify(out.UnprocessedTraceSegments)}`);
  }
}
