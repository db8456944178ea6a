import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Architecture, Code, Function as LambdaFunction, FunctionProps, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CollectorBundling } from '../lib/collector-bundling';
import * as prebuilt from '../lib/collector-prebuilt';

export const HANDLER_ENTRY = path.join(__dirname, 'fixtures', 'handlers', 'hello.ts');

/** A small stand-in for the collector layer's content (extensions/, collector-config/). */
export const COLLECTOR_FIXTURE_DIR = path.join(__dirname, 'fixtures', 'collector-layer');

/**
 * Replaces the collector layer content (prebuilt or built) with a small fixture directory so
 * construct tests synthesize in milliseconds; the asset hash still depends on the architecture
 * as the real one does. The real content is covered by collector-prebuilt.test.ts and
 * collector-bundling.test.ts.
 */
export function useCollectorFixture(): jest.SpyInstance {
  jest.spyOn(prebuilt, 'prebuiltCollectorCode').mockReturnValue(undefined);
  jest.spyOn(prebuilt, 'prebuiltCollectorDirectory').mockReturnValue(COLLECTOR_FIXTURE_DIR);
  return jest.spyOn(CollectorBundling, 'bundle').mockImplementation(({ architecture }) =>
    Code.fromAsset(COLLECTOR_FIXTURE_DIR, {
      assetHash: `collector-fixture-${architecture.name}`,
    }));
}

export function newStack(): Stack {
  const app = new App();
  return new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
}

export const ARCHITECTURES = [Architecture.X86_64, Architecture.ARM_64];

/** The contract's values the tests expect in templates, read from contract/contract.json. */
export function contractValues() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const contract = require('../contract/contract.json');
  return {
    otlpHttpEndpoint: contract.collector.otlpHttpEndpoint as string,
    preloadImportPath: contract.preload.importPath as string,
    defaultConfigUri: `file:${contract.collector.layerConfigPath}` as string,
    layerExtensionPath: contract.collector.layerExtensionPath as string,
    layerConfigPath: contract.collector.layerConfigPath as string,
    env: {
      configUri: contract.collector.env.configUri as string,
      flushTimeout: contract.collector.env.flushTimeout as string,
      logLevel: contract.collector.env.logLevel as string,
      otlpEndpoint: contract.preload.env.otlpEndpoint as string,
      instrumentations: contract.preload.env.enabledInstrumentations as string,
      serviceName: contract.preload.env.serviceName as string,
    },
  };
}

/** Inline handler code of the small functions the tests trace. */
export const NODE_CODE = Code.fromInline('exports.handler = async () => ({ ok: true });');
export const PY_CODE = Code.fromInline('def handler(event, context):\n    return {}\n');

/** A plain lambda.Function on Node.js 22, as a user already has one. */
export function nodeFunction(scope: Construct, id: string, props: Partial<FunctionProps> = {}): LambdaFunction {
  return new LambdaFunction(scope, id, { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: NODE_CODE, ...props });
}

/** A plain lambda.Function on Python 3.13. */
export function pythonFunction(scope: Construct, id: string, props: Partial<FunctionProps> = {}): LambdaFunction {
  return new LambdaFunction(scope, id, { runtime: Runtime.PYTHON_3_13, handler: 'index.handler', code: PY_CODE, ...props });
}
