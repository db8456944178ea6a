// Two traced functions, one per architecture: what a new user writes first.
const { App, Stack } = require('aws-cdk-lib');
const { Architecture } = require('aws-cdk-lib/aws-lambda');
const { OtelTracedFunction } = require('cdk-lambda-otel-xray');

const app = new App();
const stack = new Stack(app, 'NewcomerStack');
new OtelTracedFunction(stack, 'Api', { entry: 'src/api.mjs' });
new OtelTracedFunction(stack, 'ApiArm', { entry: 'src/api.mjs', architecture: Architecture.ARM_64 });
app.synth();
