// The sample app: an ES module frontend function that calls a CommonJS backend function through its
// function URL and counts visits in a DynamoDB table, both traced into X-Ray.
import * as path from 'path';
import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { FunctionUrlAuthType, Runtime } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { OtelTracedFunction } from '../lib';

const LOCK_FILE = path.join(__dirname, 'package-lock.json');

export class SampleStack extends Stack {
  public readonly frontend: OtelTracedFunction;
  public readonly backend: OtelTracedFunction;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const visits = new Table(this, 'Visits', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.backend = new OtelTracedFunction(this, 'Backend', {
      entry: path.join(__dirname, 'functions', 'backend.ts'),
      runtime: Runtime.NODEJS_22_X,
      timeout: Duration.seconds(5),
      depsLockFilePath: LOCK_FILE,
    });
    const backendUrl = this.backend.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });

    this.frontend = new OtelTracedFunction(this, 'Frontend', {
      entry: path.join(__dirname, 'functions', 'frontend.ts'),
      runtime: Runtime.NODEJS_24_X,
      timeout: Duration.seconds(10),
      depsLockFilePath: LOCK_FILE,
      bundling: {
        format: OutputFormat.ESM,
        // Prefer the ES module builds of dependencies, and give the CommonJS ones that remain a
        // `require` (an ES module bundle has none).
        mainFields: ['module', 'main'],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
      environment: {
        BACKEND_URL: backendUrl.url,
        TABLE_NAME: visits.tableName,
      },
    });
    backendUrl.grantInvokeUrl(this.frontend);
    visits.grantReadWriteData(this.frontend);
  }
}
