// The sample app, ready for `cdk synth` / `cdk deploy`; demo/run.sh runs it locally instead.
import { App } from 'aws-cdk-lib';
import { SampleStack } from './sample-stack';

const app = new App();
new SampleStack(app, 'OtelXrayDemo');
app.synth();
