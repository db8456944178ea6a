import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations as CdkAnnotations, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Instrumentation, OtelTracedFunction, OtelTracedFunctionProps, OtelTracing } from '../lib';
import { HANDLER_ENTRY, newStack, useCollectorFixture } from './helpers';

useCollectorFixture();

/** A project whose package.json lists every library the library instrumentations trace. */
const PROJECT = path.join(__dirname, 'fixtures', 'library-project');
const PROJECT_PROPS = {
  entry: path.join(PROJECT, 'src', 'handler.ts'),
  depsLockFilePath: path.join(PROJECT, 'package-lock.json'),
};

// NodejsFunction's bundler, whose options show what the function is bundled with. Mocked: with
// nodeModules, the real one installs them with npm from the project's lock file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Bundling } = require(path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')), 'aws-lambda-nodejs', 'lib', 'bundling.js'));

let bundled: Array<BundlingOptions & { entry: string }>;
beforeEach(() => {
  bundled = [];
  jest.spyOn(Bundling, 'bundle').mockImplementation(((_scope: unknown, options: BundlingOptions & { entry: string }) => {
    bundled.push(options);
    return Code.fromAsset(path.dirname(HANDLER_ENTRY));
  }) as any);
});
afterEach(() => {
  (Bundling.bundle as jest.Mock).mockRestore();
});

function tracedFunction(props: OtelTracedFunctionProps, stack: Stack = newStack()): { stack: Stack; options: BundlingOptions } {
  new OtelTracedFunction(stack, 'Api', props);
  expect(bundled).toHaveLength(1);
  return { stack, options: bundled[0] };
}

function warningsOf(stack: Stack): string[] {
  return Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map(w => String(w.entry.data));
}

describe('OtelTracedFunction leaves the libraries of the chosen instrumentations out of the bundle', () => {
  test('each library goes to bundling.nodeModules, in the order chosen; externalModules stays NodejsFunction\'s default', () => {
    const { stack, options } = tracedFunction({
      ...PROJECT_PROPS,
      instrumentations: [Instrumentation.HTTP, Instrumentation.PG, Instrumentation.MYSQL2, Instrumentation.IOREDIS, Instrumentation.GRAPHQL],
    });
    expect(options.nodeModules).toEqual(['pg', 'mysql2', 'ioredis', 'graphql']);
    expect(options.externalModules).toBeUndefined();
    expect(warningsOf(stack)).toEqual([]);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pg,mysql2,ioredis,graphql' }) },
    });
  });

  test('the user\'s nodeModules come first, and a library already there is not added twice', () => {
    const { options } = tracedFunction({
      ...PROJECT_PROPS,
      instrumentations: [Instrumentation.PG, Instrumentation.GRAPHQL, Instrumentation.PG],
      bundling: { nodeModules: ['sharp', 'pg'], minify: true },
    });
    expect(options.nodeModules).toEqual(['sharp', 'pg', 'graphql']);
    expect(options.minify).toBe(true);
  });

  test('a library the user\'s externalModules covers (provided some other way) is neither added nor looked for', () => {
    const stack = newStack();
    const { options } = tracedFunction({
      entry: HANDLER_ENTRY,
      instrumentations: [Instrumentation.GRAPHQL, Instrumentation.REDIS],
      bundling: { externalModules: ['@aws-sdk/*', 'graphql', '@redis/*'] },
    }, stack);
    expect(options.externalModules).toEqual(['@aws-sdk/*', 'graphql', '@redis/*']);
    expect(options.nodeModules).toBeUndefined();
    expect(warningsOf(stack)).toEqual([]);
  });

  test('redis: node-redis, and @redis/client (which the instrumentation hooks) when the project has it', () => {
    expect(tracedFunction({ ...PROJECT_PROPS, instrumentations: [Instrumentation.REDIS] }).options.nodeModules).toEqual(['redis']);
    bundled = [];
    const project = projectWith({ installed: ['redis', '@redis/client'] });
    expect(tracedFunction({ ...project, instrumentations: [Instrumentation.REDIS] }).options.nodeModules).toEqual(['redis', '@redis/client']);
  });

  test('a library installed in node_modules but not listed in package.json counts', () => {
    const project = projectWith({ installed: ['graphql'] });
    const { stack, options } = tracedFunction({ ...project, instrumentations: [Instrumentation.GRAPHQL] });
    expect(options.nodeModules).toEqual(['graphql']);
    expect(warningsOf(stack)).toEqual([]);
  });

  test('prisma changes nothing in the bundle: Prisma Client reads the instrumentation\'s helper from globalThis', () => {
    const { stack, options } = tracedFunction({ ...PROJECT_PROPS, instrumentations: [Instrumentation.PRISMA] });
    expect(options.nodeModules).toBeUndefined();
    expect(warningsOf(stack)).toEqual([]);
  });

  test('the default instrumentations change nothing in the bundle', () => {
    const { options } = tracedFunction({ ...PROJECT_PROPS, bundling: { minify: true } });
    expect(options.nodeModules).toBeUndefined();
    expect(options.minify).toBe(true);
  });

  test('with ES module output, the ES module defaults stay', () => {
    const { options } = tracedFunction({ ...PROJECT_PROPS, instrumentations: [Instrumentation.PG], bundling: { format: OutputFormat.ESM } });
    expect(options.nodeModules).toEqual(['pg']);
    expect(options.mainFields).toEqual(['module', 'main']);
    expect(options.banner).toMatch(/createRequire/);
  });
});

describe('OtelTracedFunction warns about a chosen instrumentation whose library the project does not have', () => {
  test('naming the instrumentation, the library, where it looked and the fix; the bundle is left as it is', () => {
    const project = projectWith({ installed: [] });
    const { stack, options } = tracedFunction({ ...project, instrumentations: [Instrumentation.PG, Instrumentation.REDIS, Instrumentation.PRISMA] });
    expect(options.nodeModules).toBeUndefined();
    const root = path.dirname(project.depsLockFilePath);
    expect(warningsOf(stack)).toEqual([
      `OtelTracedFunction 'TestStack/Api': instrumentations includes Instrumentation.PG, but the function's project does not have pg: ` +
      `not installed (node_modules) and not listed in a package.json, looking up from ${path.join(root, 'src')}, ${root}. ` +
      'The instrumentation traces nothing without it. Add pg to the dependencies of the function\'s package.json (npm install pg), ' +
      'or remove Instrumentation.PG from instrumentations. [ack: cdk-lambda-otel-xray:instrumentedLibraryNotFound]',
      expect.stringMatching(/^OtelTracedFunction 'TestStack\/Api': instrumentations includes Instrumentation.REDIS, but the function's project does not have redis or @redis\/client: .*Add redis to the dependencies.*or remove Instrumentation.REDIS from instrumentations/),
      expect.stringMatching(/^OtelTracedFunction 'TestStack\/Api': instrumentations includes Instrumentation.PRISMA, but the function's project does not have @prisma\/client: .*npm install @prisma\/client.*or remove Instrumentation.PRISMA/),
    ]);
    expect(OtelTracedFunction.LIBRARY_NOT_FOUND_WARNING_ID).toBe('cdk-lambda-otel-xray:instrumentedLibraryNotFound');
  });

  test('a library named in the user\'s nodeModules is the user\'s to provide: no warning', () => {
    const project = projectWith({ installed: [] });
    const { stack, options } = tracedFunction({ ...project, instrumentations: [Instrumentation.PG], bundling: { nodeModules: ['pg'] } });
    expect(options.nodeModules).toEqual(['pg']);
    expect(warningsOf(stack)).toEqual([]);
  });
});

describe('the OtelTracing Aspect on a NodejsFunction with library instrumentations', () => {
  test('warns that the libraries must be left out of its bundle, naming the instrumentations and the fix', () => {
    const stack = newStack();
    new NodejsFunction(stack, 'Bundled', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    new LambdaFunction(stack, 'Plain', {
      runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => 1;'),
    });
    const instrumentations = [Instrumentation.HTTP, Instrumentation.PG, Instrumentation.GRAPHQL, Instrumentation.PRISMA];
    Aspects.of(stack).add(new OtelTracing({ instrumentations }));
    Template.fromStack(stack);
    expect(warningsOf(stack)).toEqual([
      'OtelTracing: function \'TestStack/Bundled\': the function is a NodejsFunction, whose esbuild bundle cannot be changed once it is defined, ' +
      'and Instrumentation.PG, Instrumentation.GRAPHQL trace their library only when it is loaded from node_modules, not from the bundle. ' +
      'Add \'pg\', \'graphql\' to the function\'s bundling.nodeModules (those it uses), or define it as an OtelTracedFunction, which does so; ' +
      'if they are there already, acknowledge this warning (cdk-lambda-otel-xray:instrumentedLibraryBundled). ' +
      '[ack: cdk-lambda-otel-xray:instrumentedLibraryBundled]',
    ]);
    const warning = Annotations.fromStack(stack).findWarning('*', Match.anyValue())[0];
    expect(warning.id).toBe('/TestStack/Bundled');
  });

  test('no warning with the default instrumentations, or once acknowledged', () => {
    const stack = newStack();
    new NodejsFunction(stack, 'Default', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    Aspects.of(stack).add(new OtelTracing());
    Template.fromStack(stack);
    expect(warningsOf(stack)).toEqual([]);

    const acknowledged = newStack();
    new NodejsFunction(acknowledged, 'Listed', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X, bundling: { nodeModules: ['pg'] } });
    Aspects.of(acknowledged).add(new OtelTracing({ instrumentations: [Instrumentation.PG] }));
    // Before synth, an acknowledgement holds for the constructs under the scope it is made on.
    CdkAnnotations.of(acknowledged).acknowledgeWarning(OtelTracing.BUNDLED_LIBRARY_WARNING_ID, 'every function lists pg in nodeModules');
    Template.fromStack(acknowledged);
    expect(warningsOf(acknowledged)).toEqual([]);
  });

  test('an unknown instrumentation fails synth, naming the function, the value and the valid ones', () => {
    const stack = newStack();
    new NodejsFunction(stack, 'Bundled', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    Aspects.of(stack).add(new OtelTracing({ instrumentations: ['postgres' as Instrumentation] }));
    expect(() => Template.fromStack(stack)).toThrow(
      "OtelTracing: function 'TestStack/Bundled': instrumentations[0] is 'postgres', which the preload does not know; use one of " +
      "'http', 'undici', 'aws-sdk', 'pg', 'mysql2', 'ioredis', 'redis', 'prisma', 'graphql' (the Instrumentation enum), or remove it.");
  });

  test('OtelTracing.addToFunction warns the same way', () => {
    const stack = newStack();
    const fn = new NodejsFunction(stack, 'Bundled', { entry: HANDLER_ENTRY, runtime: Runtime.NODEJS_24_X });
    OtelTracing.addToFunction(fn, { instrumentations: [Instrumentation.MYSQL2] });
    expect(warningsOf(stack)).toEqual([
      expect.stringMatching(/^OtelTracing.addToFunction\('TestStack\/Bundled'\): the function is a NodejsFunction.*Instrumentation.MYSQL2 trace their library.*Add 'mysql2' to the function's bundling.nodeModules/),
    ]);
  });
});

/** A project in a fresh directory (outside this repository, so nothing above it provides packages) with the given packages installed. */
function projectWith({ installed }: { installed: string[] }): { entry: string; depsLockFilePath: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-library-project-'));
  fs.mkdirSync(path.join(root, 'src'));
  fs.writeFileSync(path.join(root, 'src', 'handler.ts'), "export const handler = async (): Promise<string> => 'ok';\n");
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ private: true, dependencies: {} }));
  fs.writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, requires: true, packages: {} }));
  for (const name of installed) {
    fs.mkdirSync(path.join(root, 'node_modules', name), { recursive: true });
    fs.writeFileSync(path.join(root, 'node_modules', name, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
  }
  return { entry: path.join(root, 'src', 'handler.ts'), depsLockFilePath: path.join(root, 'package-lock.json') };
}
