import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Architecture, Code } from 'aws-cdk-lib/aws-lambda';
import { CollectorBundling } from '../lib/collector-bundling';
import * as prebuilt from '../lib/collector-prebuilt';

export const HANDLER_ENTRY = path.join(__dirname, 'fixtures', 'handlers', 'hello.ts');

/**
 * Replaces the collector layer content (prebuilt or built) with a small fixture directory so
 * construct tests synthesize in milliseconds; the asset hash still depends on the architecture
 * as the real one does. The real content is covered by collector-prebuilt.test.ts and
 * collector-bundling.test.ts.
 */
export function useCollectorFixture(): jest.SpyInstance {
  jest.spyOn(prebuilt, 'prebuiltCollectorCode').mockReturnValue(undefined);
  return jest.spyOn(CollectorBundling, 'bundle').mockImplementation(({ architecture }) =>
    Code.fromAsset(path.join(__dirname, 'fixtures', 'collector-layer'), {
      assetHash: `collector-fixture-${architecture.name}`,
    }));
}

export function newStack(): Stack {
  const app = new App();
  return new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
}

export const ARCHITECTURES = [Architecture.X86_64, Architecture.ARM_64];
