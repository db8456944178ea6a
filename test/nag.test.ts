import { App, Aspects, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import * as nag3 from 'cdk-nag-v3';
import { OtelTracedFunction, OtelTracing, TraceExporter, XRayDelivery } from '../lib';
import { HANDLER_ENTRY, useCollectorFixture } from './helpers';

useCollectorFixture();

type Build = (stack: Stack) => void;

const IAM5_XRAY = 'AwsSolutions-IAM5[Resource::*]';

/**
 * cdk-nag 2's AwsSolutions and Serverless packs over one stack: every error and warning, as its
 * rule id with the finding in brackets (e.g. `AwsSolutions-IAM5[Resource::*]`), sorted.
 * `withoutAcknowledgement` removes the `cdk_nag` metadata the library adds, before the checks.
 */
function nagFindings(build: Build, withoutAcknowledgement = false): string[] {
  const app = new App();
  const stack = new Stack(app, 'NagStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  build(stack);
  if (withoutAcknowledgement) {
    Aspects.of(stack).add({
      visit: node => {
        if (node instanceof CfnResource && node.cfnResourceType === 'AWS::IAM::Policy') {
          node.cfnOptions.metadata = {};
        }
      },
    });
  }
  Aspects.of(stack).add(new AwsSolutionsChecks());
  Aspects.of(stack).add(new ServerlessChecks());
  const annotations = Annotations.fromStack(stack);
  const pattern = Match.stringLikeRegexp('^(AwsSolutions|Serverless)-');
  return [...annotations.findError('*', pattern), ...annotations.findWarning('*', pattern)]
    .map(e => `${e.id}: ${/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[[^\]]*\])?/.exec(String(e.entry.data))![0]}`)
    .sort();
}

/** The baseline: the same handler as a plain NodejsFunction with active tracing, on OtelTracedFunction's default runtime. */
const plain: Build = stack => {
  new NodejsFunction(stack, 'Api', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X, tracing: Tracing.ACTIVE });
};

const traced: { [name: string]: Build } = {
  'OtelTracedFunction': stack => {
    new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY });
  },
  'OtelTracedFunction, tracing set by the user': stack => {
    new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY, tracing: Tracing.ACTIVE });
  },
  'OtelTracing.addToFunction': stack => {
    OtelTracing.addToFunction(new NodejsFunction(stack, 'Api', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X }));
  },
  'the OtelTracing Aspect': stack => {
    new NodejsFunction(stack, 'Api', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    Aspects.of(stack).add(new OtelTracing());
  },
  'the X-Ray daemon exporter': stack => {
    new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY, exporter: TraceExporter.xray({ delivery: XRayDelivery.DAEMON }) });
  },
  'the X-Ray OTLP exporter': stack => {
    new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY, exporter: TraceExporter.xrayOtlp() });
  },
};

describe('cdk-nag 2 AwsSolutions and Serverless', () => {
  const baseline = nagFindings(plain);

  test('the baseline has the X-Ray wildcard finding, so the rules do run', () => {
    expect(baseline).toContain(`/NagStack/Api/ServiceRole/DefaultPolicy/Resource: ${IAM5_XRAY}`);
  });

  test.each(Object.keys(traced))('%s: no finding beyond a plain function with active tracing', name => {
    const findings = nagFindings(traced[name]);
    expect(findings.filter(finding => !baseline.includes(finding))).toEqual([]);
    expect(findings).not.toContainEqual(expect.stringContaining(IAM5_XRAY));
  });

  test.each(Object.keys(traced))('%s: without the library\'s metadata, the X-Ray wildcard is reported', name => {
    expect(nagFindings(traced[name], true)).toContain(`/NagStack/Api/ServiceRole/DefaultPolicy/Resource: ${IAM5_XRAY}`);
  });

  test('the metadata acknowledges that one finding with its reason, and nothing else', () => {
    const app = new App();
    const stack = new Stack(app, 'NagStack');
    const fn = new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY });
    OtelTracing.addToFunction(fn);
    const policy = fn.role!.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    expect(policy.getMetadata('cdk_nag')).toEqual({
      rules_to_suppress: [{
        id: 'AwsSolutions-IAM5',
        reason: expect.stringMatching(/PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions/),
        applies_to: ['Resource::*'],
      }],
    });
  });

  test('the user\'s own wildcards in the same policy are still reported', () => {
    const findings = nagFindings(stack => {
      const fn = new OtelTracedFunction(stack, 'Api', { entry: HANDLER_ENTRY });
      fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:Get*'], resources: ['arn:aws:s3:::my-bucket/*'] }));
    });
    expect(findings).toEqual(expect.arrayContaining([
      '/NagStack/Api/ServiceRole/DefaultPolicy/Resource: AwsSolutions-IAM5[Action::s3:Get*]',
      '/NagStack/Api/ServiceRole/DefaultPolicy/Resource: AwsSolutions-IAM5[Resource::arn:aws:s3:::my-bucket/*]',
    ]));
  });

  test('suppressions the user adds to the policy are kept alongside the library\'s', () => {
    const app = new App();
    const stack = new Stack(app, 'NagStack');
    const fn = new NodejsFunction(stack, 'Api', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const policy = fn.role!.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    const own = { id: 'AwsSolutions-IAM5', reason: 'Reads any bucket.', applies_to: ['Action::s3:GetObject'] };
    policy.addMetadata('cdk_nag', { rules_to_suppress: [own] });
    OtelTracing.addToFunction(fn);
    expect(policy.getMetadata('cdk_nag').rules_to_suppress).toEqual([own, expect.objectContaining({ id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'] })]);
  });
});

/**
 * The same packs in cdk-nag 3, which runs them as validation plugins and reads aws-cdk-lib
 * acknowledgments, not the `cdk_nag` metadata. `withoutAcknowledgement` stops the library's.
 */
function nag3Findings(build: Build, withoutAcknowledgement = false): string[] {
  const acknowledge = withoutAcknowledgement ? jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined) : undefined;
  try {
    const app = new App();
    const stack = new Stack(app, 'NagStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    build(stack);
    app.synth();
    return [new nag3.AwsSolutionsChecks(), new nag3.ServerlessChecks()]
      .flatMap(pack => pack.validateScope(stack).violations)
      .flatMap(violation => violation.violatingResources.map(resource => `/${resource.constructPath}: ${violation.ruleName}`))
      .sort();
  } finally {
    acknowledge?.mockRestore();
  }
}

describe('cdk-nag 3 AwsSolutions and Serverless', () => {
  const baseline = nag3Findings(plain);

  test('the baseline has the X-Ray wildcard finding, so the rules do run', () => {
    expect(baseline).toContain(`/NagStack/Api/ServiceRole/DefaultPolicy/Resource: ${IAM5_XRAY}`);
  });

  test.each(Object.keys(traced))('%s: no finding beyond a plain function with active tracing', name => {
    const findings = nag3Findings(traced[name]);
    expect(findings.filter(finding => !baseline.includes(finding))).toEqual([]);
    expect(findings).not.toContainEqual(expect.stringContaining(IAM5_XRAY));
  });

  test.each(Object.keys(traced))('%s: without the library\'s acknowledgment, the X-Ray wildcard is reported', name => {
    expect(nag3Findings(traced[name], true)).toContain(`/NagStack/Api/ServiceRole/DefaultPolicy/Resource: ${IAM5_XRAY}`);
  });
});
