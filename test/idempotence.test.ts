import { Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OtelCollectorLayer, OtelPreloadLayer, OtelTracedFunction, OtelTracing } from '../lib';
import { HANDLER_ENTRY, newStack, nodeFunction, pythonFunction, useCollectorFixture } from './helpers';

/** Tracing applied twice, by any mix of paths, gives the template of tracing applied once. */

useCollectorFixture();

function synth(build: (stack: Stack) => void): any {
  const stack = newStack();
  build(stack);
  return Template.fromStack(stack).toJSON();
}

function layersOf(template: any): any[] {
  const functions = Object.values<any>(template.Resources).filter(r => r.Type === 'AWS::Lambda::Function');
  expect(functions).toHaveLength(1);
  return functions[0].Properties.Layers;
}

describe('a Node.js function', () => {
  const once = synth(stack => OtelTracing.addToFunction(nodeFunction(stack, 'Fn')));

  test.each<[string, (stack: Stack) => void]>([
    ['OtelTracing.addToFunction twice', stack => {
      const fn = nodeFunction(stack, 'Fn');
      OtelTracing.addToFunction(fn);
      OtelTracing.addToFunction(fn);
    }],
    ['OtelTracing.addToFunction, then the Aspect', stack => {
      OtelTracing.addToFunction(nodeFunction(stack, 'Fn'));
      Aspects.of(stack).add(new OtelTracing());
    }],
    ['the Aspect added twice', stack => {
      nodeFunction(stack, 'Fn');
      Aspects.of(stack).add(new OtelTracing());
      Aspects.of(stack).add(new OtelTracing());
    }],
    ['OtelCollectorLayer.addToFunction, then OtelTracing.addToFunction', stack => {
      const fn = nodeFunction(stack, 'Fn');
      OtelCollectorLayer.addToFunction(fn);
      OtelTracing.addToFunction(fn);
    }],
    ['OtelTracing.addToFunction, then OtelCollectorLayer.addToFunction', stack => {
      const fn = nodeFunction(stack, 'Fn');
      OtelTracing.addToFunction(fn);
      OtelCollectorLayer.addToFunction(fn);
    }],
    ['the stack\'s layers listed by the user, then OtelTracing.addToFunction', stack => {
      const fn = nodeFunction(stack, 'Fn', { layers: [OtelCollectorLayer.forStack(stack), OtelPreloadLayer.forStack(stack)] });
      OtelTracing.addToFunction(fn);
    }],
  ])('%s', (_name, build) => {
    const template = synth(build);
    expect(template).toEqual(once);
    expect(layersOf(template)).toHaveLength(2);
  });

  test('OtelTracing.addToFunction returns what the first call attached', () => {
    const stack = newStack();
    const fn = nodeFunction(stack, 'Fn');
    const first = OtelTracing.addToFunction(fn, { serviceName: 'orders' });
    const second = OtelTracing.addToFunction(fn);
    expect(second).toEqual(first);
    expect(second.preloadLayer).toBeDefined();
  });
});

describe('an OtelTracedFunction', () => {
  const once = synth(stack => new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY }));

  test.each<[string, (fn: OtelTracedFunction) => void]>([
    ['OtelTracing.addToFunction', fn => OtelTracing.addToFunction(fn)],
    ['OtelCollectorLayer.addToFunction', fn => OtelCollectorLayer.addToFunction(fn)],
    ['the Aspect', fn => Aspects.of(fn).add(new OtelTracing())],
  ])('then %s: the same template', (_name, again) => {
    const template = synth(stack => again(new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY })));
    expect(template).toEqual(once);
    expect(layersOf(template)).toHaveLength(2);
  });

  test('OtelTracing.addToFunction returns its layers', () => {
    const stack = newStack();
    const fn = new OtelTracedFunction(stack, 'Fn', { entry: HANDLER_ENTRY });
    const attached = OtelTracing.addToFunction(fn);
    expect(attached.collectorLayer).toBe(fn.collectorLayer);
    expect(attached.preloadLayer).toBe(fn.preloadLayer);
  });
});

describe('a function of another runtime', () => {
  const once = synth(stack => OtelTracing.addToFunction(pythonFunction(stack, 'Fn')));

  test.each<[string, (stack: Stack) => void]>([
    ['OtelCollectorLayer.addToFunction, then OtelTracing.addToFunction', stack => {
      const fn = pythonFunction(stack, 'Fn');
      OtelCollectorLayer.addToFunction(fn);
      OtelTracing.addToFunction(fn);
    }],
    ['OtelTracing.addToFunction twice', stack => {
      const fn = pythonFunction(stack, 'Fn');
      OtelTracing.addToFunction(fn);
      OtelTracing.addToFunction(fn);
    }],
  ])('%s', (_name, build) => {
    const template = synth(build);
    expect(template).toEqual(once);
    expect(layersOf(template)).toHaveLength(1);
  });

  test('OtelCollectorLayer.addToFunction twice adds the collector once', () => {
    const template = synth(stack => {
      const fn = pythonFunction(stack, 'Fn');
      OtelCollectorLayer.addToFunction(fn);
      OtelCollectorLayer.addToFunction(fn);
    });
    expect(template).toEqual(synth(stack => OtelCollectorLayer.addToFunction(pythonFunction(stack, 'Fn'))));
  });
});

describe('a second collector', () => {
  test('another collectorLayer than the one the function has is refused, naming both', () => {
    const stack = newStack();
    const fn = nodeFunction(stack, 'Fn');
    OtelCollectorLayer.addToFunction(fn);
    const other = new OtelCollectorLayer(stack, 'Other', { architecture: Architecture.X86_64 });
    expect(() => OtelTracing.addToFunction(fn, { collectorLayer: other })).toThrow(
      "OtelTracing.addToFunction('TestStack/Fn'): the function already has the collector layer 'TestStack/OtelCollectorLayer-x86_64' " +
      "(from OtelCollectorLayer.addToFunction), and collectorLayer is another one, 'TestStack/Other'; a function takes one collector. " +
      'Leave collectorLayer unset, or pass the same layer to both calls.');
  });

  test('the same collectorLayer given to both calls is added once', () => {
    const stack = newStack();
    const layer = LayerVersion.fromLayerVersionArn(stack, 'Collector', 'arn:aws:lambda:eu-west-1:123456789012:layer:collector:1');
    const fn = new NodejsFunction(stack, 'Fn', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    OtelCollectorLayer.addToFunction(fn, { collectorLayer: layer, collectorLayerArchitecture: Architecture.X86_64 });
    OtelTracing.addToFunction(fn, { collectorLayer: layer, collectorLayerArchitecture: Architecture.X86_64 });
    expect(layersOf(Template.fromStack(stack).toJSON())).toEqual(['arn:aws:lambda:eu-west-1:123456789012:layer:collector:1', { Ref: expect.stringMatching(/^OtelPreloadLayer/) }]);
  });
});

describe('the layer limit counts only the layers added', () => {
  test('a function with four layers, one of them the collector, takes the preload', () => {
    const stack = newStack();
    const others = [1, 2, 3].map(i => LayerVersion.fromLayerVersionArn(stack, `L${i}`, `arn:aws:lambda:eu-west-1:123456789012:layer:l${i}:1`));
    const fn = nodeFunction(stack, 'Fn', { layers: others });
    OtelCollectorLayer.addToFunction(fn);
    OtelTracing.addToFunction(fn);
    expect(layersOf(Template.fromStack(stack).toJSON())).toHaveLength(5);
  });
});
