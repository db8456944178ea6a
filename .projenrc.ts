import { awscdk, javascript } from 'projen';
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
  minNodeVersion: '20.0.0',

  srcdir: 'lib',
  libdir: 'lib',

  cdkVersion: CDK_VERSION,
  cdkVersionPinning: true,
  constructsVersion: '10.5.1',
  jsiiVersion: '6.0.16',
  typescriptVersion: '5.9.3',

  devDeps: [
    '@aws-cdk/integ-runner@2.197.10',
    `@aws-cdk/integ-tests-alpha@${'2.245.0-alpha.0'}`,
    'aws-cdk@2.1148.1',
    'cdk-nag@2.38.2',
    // Handlers that use the API must share the preload's major.minor (one global API instance).
    '@opentelemetry/api@1.9.1',
  ],

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
      modulePathIgnorePatterns: ['<rootDir>/(e2e|layer-src|bench|demo|collector-go|assets|cdk.out|dist)/'],
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

// Pin the toolchain projen would otherwise leave as ranges.
for (const [dep, version] of Object.entries({
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
})) {
  project.addDevDeps(`${dep}@${version}`);
}

// The package ships the collector's Go source (built at synth time by the user's Go or Docker)
// and the prebuilt preload layer.
project.npmignore?.exclude('/lib/**/*.ts', '/layer-src/', '/e2e/', '/demo/', '/bench/', '/integ/', '/scripts/', '/.ci/', '/docs/');
project.npmignore?.include('/lib/**/*.d.ts', '/assets/preload-layer/', '/collector-go/');
project.npmignore?.addPatterns('/collector-go/**/*_test.go', '/collector-go/**/testdata/', '/collector-go/.cache/');
project.addFields({ files: undefined });

// The preload layer is built from layer-src/ (its own npm package) before the library compiles.
const preload = project.addTask('build:preload', {
  description: 'Bundle the Node.js preload layer from layer-src/ into assets/preload-layer/',
  steps: [
    { exec: 'npm ci --prefix layer-src --omit=dev --no-audit --no-fund' },
    { exec: 'node layer-src/build.mjs' },
  ],
});
project.preCompileTask.spawn(preload);

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

// These two run on a fresh clone before anything is installed, so they are plain npm scripts.
project.package.setScript('demo', 'bash demo/run.sh');
project.package.setScript('test:all', 'bash scripts/test-all.sh');
project.package.setScript('bench', 'bash bench/run.sh');

project.synth();
