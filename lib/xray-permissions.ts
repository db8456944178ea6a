import { CfnResource, Validations } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { IFunction } from 'aws-cdk-lib/aws-lambda';

/**
 * The actions X-Ray accepts segments by. Neither supports resource-level permissions, so the
 * statement's resource must be `*`:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
 */
const XRAY_WRITE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

/** cdk-nag's rule for wildcard permissions, and the one finding of it the X-Ray statement causes. */
const NAG_RULE = 'AwsSolutions-IAM5';
const NAG_FINDING = 'Resource::*';

/** Why the wildcard is needed, as cdk-nag shows it (ASCII, so cdk-nag 2 stores it as is). */
export const XRAY_WILDCARD_REASON =
  'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so X-Ray write access is granted on Resource *; ' +
  'added by cdk-lambda-otel-xray for its trace exporter.';

/** The statement that lets the function's role send segments to X-Ray. */
export function xrayWriteStatement(): PolicyStatement {
  return new PolicyStatement({ actions: XRAY_WRITE_ACTIONS, resources: ['*'] });
}

/**
 * Adds `statement` to the function's role and, when it is the X-Ray write statement, records on
 * the policy it went into that its `Resource::*` finding of AwsSolutions-IAM5 is acknowledged:
 * as cdk-nag 2's `cdk_nag` CloudFormation metadata and as an aws-cdk-lib acknowledgment, which
 * cdk-nag 3 reads. Only that finding of that rule: the role's other wildcards are still reported.
 */
export function addRoleStatement(fn: IFunction, statement: PolicyStatement): void {
  const role = fn.role;
  if (role === undefined) {
    return;
  }
  const { statementAdded } = role.addToPrincipalPolicy(statement);
  if (!statementAdded || !isXRayWriteStatement(statement)) {
    return;
  }
  const policy = role.node.children.find((child): child is Policy => child instanceof Policy && ['DefaultPolicy', 'Policy'].includes(child.node.id));
  if (policy !== undefined) {
    acknowledgeXRayWildcard(policy);
  }
}

function isXRayWriteStatement(statement: PolicyStatement): boolean {
  const json = statement.toStatementJson();
  const actions = ([] as string[]).concat(json.Action ?? []);
  return json.Effect === 'Allow' && json.Resource === '*' &&
    actions.length === XRAY_WRITE_ACTIONS.length && XRAY_WRITE_ACTIONS.every(action => actions.includes(action));
}

function acknowledgeXRayWildcard(policy: Policy): void {
  const resource = policy.node.defaultChild as CfnResource;
  const rule = { id: NAG_RULE, reason: XRAY_WILDCARD_REASON, applies_to: [NAG_FINDING] };
  const metadata = resource.getMetadata('cdk_nag') ?? {};
  const rules: unknown[] = Array.isArray(metadata.rules_to_suppress) ? metadata.rules_to_suppress : [];
  if (!rules.some(existing => JSON.stringify(existing) === JSON.stringify(rule))) {
    resource.addMetadata('cdk_nag', { ...metadata, rules_to_suppress: [...rules, rule] });
    Validations.of(policy).acknowledge({ id: `${NAG_RULE}[${NAG_FINDING}]`, reason: XRAY_WILDCARD_REASON });
  }
}
