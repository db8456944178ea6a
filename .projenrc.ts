import { awscdk, DependencyType, javascript } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';

const CDK_VERSION = '2.257.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-lambda-otel-xray',
  description:
    'OpenTelemetry tracing into AWS X-Ray for Lambda functions: a drop-in NodejsFunction with a small Go collector extension and a fast Node.js preload.',
  author: 'otel-xray maintainers',
  authorAddress: 'maintainers@users.noreply.github.com',
  repositoryUrl: 'https://github.com/otel-xray/cdk-lambda-otel-xray.git',
  keywords: ['cdk', 'aws-cdk', 'lambda', 'opentelemetry', 'otel', 'x-ray', 'tracing', 'collector'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // The toolchain (jsii, projen) supports Node.js 22 and newer.
  minNodeVersion: '22.0.0',

  srcdir: 'lib',
  libdir: 'lib',

  // The oldest aws-cdk-lib the library is built and tested against; users get `^CDK_VERSION`.
  cdkVersion: CDK_VERSION,
  cdkVersionPinning: false,
  constructsVersion: '10.5.1',
  // Peers are ranges; the development copies are pinned below.
  peerDependencyOptions: { pinnedDevDependency: false },
  jsiiVersion: '6.0.16',
  typescriptVersion: '5.9.3',

  devDeps: [
    '@aws-cdk/integ-runner@2.197.10',
    `@aws-cdk/integ-tests-alpha@${'2.245.0-alpha.0'}`,
    'aws-cdk@2.1148.1',
    'cdk-nag@2.38.2',
    // cdk-nag 3 (rule packs as validation plugins, acknowledgments instead of metadata), beside 2.
    'cdk-nag-v3@npm:cdk-nag@3.0.2',
    // Handlers that use the API must share the preload's major.minor (one global API instance).
    '@opentelemetry/api@1.9.1',
  ],

  // Every jsii language, named the way Construct Hub lists them.
  publishToPypi: { distName: 'cdk-lambda-otel-xray', module: 'cdk_lambda_otel_xray' },
  publishToMaven: {
    javaPackage: 'io.github.otel_xray.cdk_lambda_otel_xray',
    mavenGroupId: 'io.github.otel-xray',
    mavenArtifactId: 'cdk-lambda-otel-xray',
  },
  publishToNuget: { dotNetNamespace: 'OtelXray.CdkLambdaOtelXray', packageId: 'OtelXray.CdkLambdaOtelXray' },
  publishToGo: { moduleName: 'github.com/otel-xray/cdk-lambda-otel-xray-go', packageName: 'cdklambdaotelxray' },

  github: false,
  release: false,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  docgen: true,

  jestOptions: {
    updateSnapshot: UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // Test the TypeScript sources, never stale compiled JavaScript beside them.
      moduleFileExtensions: ['ts', 'js', 'json', 'node'],
      modulePathIgnorePatterns: ['<rootDir>/(e2e|layer-src|bench|demo|tools|collector-go|assets|cdk.out|dist)/'],
      testTimeout: 600_000,
      snapshotSerializers: ['<rootDir>/test/asset-hash-serializer.ts'],
    },
  },

  gitignore: [
    '/assets/',
    '/cdk.out/',
    '*.d.ts',
    '!/layer-src/**/*.d.ts',
    'integ/**/cdk.out/',
    'integ/**/*.snapshot/asset.*',
    '/bench/.work/',
    '/.cache/',
    '/.test-results/',
    '/.jsii.tabl.json',
    '.DS_Store',
  ],
  npmignoreEnabled: true,
});

// NodejsFunction looks for esbuild next to aws-cdk-lib, so bundling never falls back to Docker
// when npm hoists it there. jsii accepts a non-jsii package only as bundled (which npm does not
// hoist) or optional (which npm installs and hoists like any dependency): optional it is.
project.package.addField('optionalDependencies', { esbuild: '0.28.2' });

// Every platform binding of unrs-resolver (used by the eslint import resolver) must exist for
// the locked version, or \`npm ci\` refuses the lock file; 1.12.2 is the newest complete release.
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

// Any constructs 10 goes (aws-cdk-lib asks for the minor it needs).
project.deps.removeDependency('constructs', DependencyType.PEER);
project.deps.addDependency('constructs@^10.0.0', DependencyType.PEER);

// jsii asks for a development copy at the peer's lowest version, but aws-cdk-lib itself needs
// constructs ^10.5: the library is built with the constructs that the oldest aws-cdk-lib takes
// (JSII6: metadata/missing-dev-dependency).
project.compileTask.reset('jsii --silence-warnings=reserved-word --silence-warnings=JSII6');

// Pin the toolchain projen would otherwise leave as ranges, and the development copies of the peers.
for (const [dep, version] of Object.entries({
  'aws-cdk-lib': CDK_VERSION,
  'constructs': '10.5.1',
  'jest': '30.5.2',
  'ts-jest': '29.4.15',
  '@types/jest': '30.0.0',
  '@types/node': '20.19.43',
  'ts-node': '10.9.2',
  'jsii-pacmak': '1.140.0',
  'jsii-diff': '1.134.0',
  'jsii-docgen': '10.12.6',
  'jsii-rosetta': '6.0.17',
  'eslint': '9.9.1',
  '@stylistic/eslint-plugin': '2.8.0',
  '@typescript-eslint/eslint-plugin': '8.73.0',
  '@typescript-eslint/parser': '8.73.0',
  'eslint-import-resolver-typescript': '4.4.5',
  'eslint-plugin-import': '2.32.0',
  'jest-junit': '17.0.0',
  'commit-and-tag-version': '13.2.1',
  // scripts/gen-contract.mjs reads collector-go/config/config.yaml.
  'yaml': '2.9.1',
})) {
  project.addDevDeps(`${dep}@${version}`);
}

// The package ships the preload layer and the collector layer prebuilt for both architectures,
// and the collector's Go source for builds from source; never its tests or developer scripts
// (the same files the source fingerprint skips: SOURCE_EXCLUDES in lib/collector-bundling.ts).
project.npmignore?.exclude('/ARCHITECTURE.md', '/.jsii.tabl.json', '/.test-results/', '/.cache/', '/cdk.out/', '/lib/**/*.ts', '/layer-src/', '/e2e/', '/demo/', '/bench/', '/tools/', '/contract/', '/integ/', '/scripts/', '/.ci/', '/docs/', '/rosetta/');
project.npmignore?.include('/lib/**/*.d.ts', '/assets/preload-layer/', '/assets/collector-layer/', '/collector-go/');
project.npmignore?.addPatterns(
  '/collector-go/**/*_test.go', '/collector-go/**/testdata/', '/collector-go/internal/testsupport/',
  '/collector-go/test.sh', '/collector-go/size-report.sh', '/collector-go/.cache/', '/collector-go/out/',
);
project.addFields({ files: undefined });

// The contract shared by the construct, the preload and the collector: generated files from
// contract/contract.json and collector-go/config/config.yaml (test/contract.test.ts fails on drift).
project.addTask('gen:contract', {
  description: 'Generate the construct, preload and collector constants from contract/contract.json',
  exec: 'node scripts/gen-contract.mjs',
});

// The preload layer is built from layer-src/ (its own npm package) before the library compiles.
const preload = project.addTask('build:preload', {
  description: 'Bundle the Node.js preload layer from layer-src/ into assets/preload-layer/',
  steps: [
    { exec: 'npm ci --prefix layer-src --omit=dev --no-audit --no-fund' },
    { exec: 'node layer-src/build.mjs' },
  ],
});
project.preCompileTask.spawn(preload);

// The collector layer is prebuilt for both architectures once the library is compiled (the
// script reads the source fingerprint from lib/), so users synthesize without Go or Docker.
const collector = project.addTask('build:collector', {
  description: 'Build the collector layer for x86_64 and arm64 into assets/collector-layer/ with the pinned Go (skips an up-to-date one)',
  exec: 'node scripts/build-collector.mjs',
});
project.postCompileTask.prependSpawn(collector);

// package-all builds every jsii language whose toolchain is on the machine.
const packageAll = project.tasks.tryFind('package-all')!;
packageAll.reset();
for (const language of ['js', 'java', 'python', 'go']) {
  packageAll.spawn(project.tasks.tryFind(`package:${language}`)!);
}
packageAll.spawn(project.tasks.tryFind('package:dotnet')!, {
  condition: 'command -v dotnet >/dev/null || { echo "package:dotnet skipped: no .NET SDK (dotnet) on the PATH"; exit 1; }',
});

// integ/ has a tsconfig of its own so the linter's project service finds its files.
new javascript.TypescriptConfig(project, {
  fileName: 'integ/tsconfig.json',
  extends: javascript.TypescriptConfigExtends.fromPaths(['../test/tsconfig.json']),
  include: ['**/*.ts'],
  exclude: ['**/*.snapshot/**'],
  compilerOptions: { rootDir: '..' },
});
project.eslint?.addLintPattern('integ');
project.eslint?.allowDevDeps('integ/**');

// integ-runner compares the committed snapshots offline.
const integ = project.addTask('integ', {
  description: 'Compare the integ/ snapshots with a fresh synth (no deployment)',
  exec: 'integ-runner --directory integ --language typescript --parallel-regions us-east-1 --max-workers 1',
});
project.addTask('integ:update', {
  description: 'Re-synthesize the integ/ snapshots after an intended change',
  exec: 'integ-runner --directory integ --language typescript --update-on-failed --dry-run --max-workers 1',
});
project.testTask.spawn(integ);

// Every TypeScript snippet of the README and the doc comments compiles (fixtures in rosetta/).
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile every TypeScript snippet of the README and doc comments (jsii-rosetta extract --strict)',
  exec: 'bash scripts/rosetta-test.sh',
});
project.testTask.spawn(rosetta);
project.addTask('test:python', {
  description: 'Build the Python wheel and synthesize a Python CDK app with it',
  exec: 'bash scripts/python-app-test.sh',
});

// These two run on a fresh clone before anything is installed, so they are plain npm scripts.
project.package.setScript('demo', 'bash demo/run.sh');
project.package.setScript('test:all', 'bash scripts/test-all.sh');
project.package.setScript('bench', 'bash bench/run.sh');

project.synth();
