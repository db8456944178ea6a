// The same app without tracing: the baseline for the synth time of traced.js.
const { App, Stack } = require('aws-cdk-lib');
const { Architecture, Runtime } = require('aws-cdk-lib/aws-lambda');
const { NodejsFunction } = require('aws-cdk-lib/aws-lambda-nodejs');

const app = new App();
const stack = new Stack(app, 'NewcomerStack');
// Node.js 24 is OtelTracedFunction's default runtime.
new NodejsFunction(stack, 'Api', { entry: 'src/api.mjs', runtime: Runtime.NODEJS_24_X });
new NodejsFunction(stack, 'ApiArm', { entry: 'src/api.mjs', runtime: Runtime.NODEJS_24_X, architecture: Architecture.ARM_64 });
app.synth();
