import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Architecture, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import { OtelCollectorLayer, OtelPreloadLayer, OtelTracedFunction, OtelTracing } from '../lib';
import { HANDLER_ENTRY, newStack, nodeFunction, useCollectorFixture } from './helpers';

/** Lambda attaches layers of the function's own Region only: a layer of another is refused when both are known. */

useCollectorFixture();

const US_COLLECTOR_ARN = 'arn:aws:lambda:us-east-1:123456789012:layer:otel-xray-collector:3';

test('OtelTracedFunction: a collector layer imported from another Region', () => {
  const stack = newStack();
  const collector = LayerVersion.fromLayerVersionArn(stack, 'Collector', US_COLLECTOR_ARN);
  expect(() => new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY, collectorLayer: collector, collectorLayerArchitecture: Architecture.X86_64 }))
    .toThrow("OtelTracedFunction 'TestStack/Fn': collectorLayer 'TestStack/Collector' is in us-east-1 but the function is in eu-west-1, " +
      "and Lambda attaches layers of the function's own Region only; give a layer published in eu-west-1, or leave collectorLayer unset to use the stack's own.");
});

test('OtelTracing.addToFunction: a preload layer of a stack in another Region', () => {
  const app = new App();
  const layers = new Stack(app, 'Layers', { env: { account: '123456789012', region: 'us-east-1' } });
  const preload = new OtelPreloadLayer(layers, 'Preload');
  const stack = new Stack(app, 'Functions', { env: { account: '123456789012', region: 'eu-west-1' } });
  expect(() => OtelTracing.addToFunction(nodeFunction(stack, 'Fn'), { preloadLayer: preload })).toThrow(
    /OtelTracing.addToFunction\('Functions\/Fn'\): preloadLayer 'Layers\/Preload' is in us-east-1 but the function is in eu-west-1/);
});

test('OtelCollectorLayer.addToFunction: the same', () => {
  const stack = newStack();
  const collector = LayerVersion.fromLayerVersionArn(stack, 'Collector', US_COLLECTOR_ARN);
  expect(() => OtelCollectorLayer.addToFunction(nodeFunction(stack, 'Fn'), { collectorLayer: collector, collectorLayerArchitecture: Architecture.X86_64 }))
    .toThrow(/collectorLayer 'TestStack\/Collector' is in us-east-1 but the function is in eu-west-1/);
});

test('the Aspect warns about each function of another Region, and traces those of the layer\'s', () => {
  const app = new App();
  const ireland = new Stack(app, 'Ireland', { env: { account: '123456789012', region: 'eu-west-1' } });
  const virginia = new Stack(app, 'Virginia', { env: { account: '123456789012', region: 'us-east-1' } });
  nodeFunction(ireland, 'Fn');
  nodeFunction(virginia, 'Fn');
  const collector = LayerVersion.fromLayerVersionArn(virginia, 'Collector', US_COLLECTOR_ARN);
  Aspects.of(app).add(new OtelTracing({ collectorLayer: collector, collectorLayerArchitecture: Architecture.X86_64 }));
  const layersOf = (stack: Stack) => Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0].Properties.Layers;
  expect(layersOf(virginia)).toEqual([US_COLLECTOR_ARN, { Ref: expect.stringMatching(/^OtelPreloadLayer/) }]);
  expect(layersOf(ireland)).toBeUndefined();
  // No stray layer is left in the stack whose function could not be traced.
  Template.fromStack(ireland).resourceCountIs('AWS::Lambda::LayerVersion', 0);
  const warnings = Annotations.fromStack(ireland).findWarning('*', Match.anyValue());
  expect(warnings.map(w => w.id)).toEqual(['/Ireland/Fn']);
  expect(String(warnings[0].entry.data)).toMatch(/^not tracing Lambda function 'Ireland\/Fn': collectorLayer 'Virginia\/Collector' is in us-east-1 but the function is in eu-west-1/);
});

test('a Region not known at synth (an environment-agnostic stack) is not checked', () => {
  const stack = new Stack(new App(), 'Agnostic');
  const collector = LayerVersion.fromLayerVersionArn(stack, 'Collector', US_COLLECTOR_ARN);
  OtelTracing.addToFunction(nodeFunction(stack, 'Fn'), { collectorLayer: collector, collectorLayerArchitecture: Architecture.X86_64 });
  expect(Object.values<any>(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0].Properties.Layers[0]).toBe(US_COLLECTOR_ARN);
});
