import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CollectorLogLevel, OtelCollectorLayer, OtelPreloadLayer } from '../lib';
import { DEFAULT_COLLECTOR_CONFIG } from '../lib/default-collector-config.generated';

/**
 * The contract between the construct, the preload and the collector (contract/contract.json)
 * has one source: the code reads it, or files generated from it. These tests fail when anything
 * drifts from it.
 */

const REPO = path.join(__dirname, '..');
const contract = JSON.parse(fs.readFileSync(path.join(REPO, 'contract', 'contract.json'), 'utf8'));

/** The contract's values that no file may restate. */
const LITERALS: string[] = [
  contract.collector.otlpHttpListen, // also finds the endpoint URL, which contains it
  contract.collector.layerConfigPath,
  contract.collector.layerExtensionPath,
  ...Object.values<string>(contract.collector.env),
  contract.preload.importPath,
];

/** Files not scanned, and why. */
const NOT_SCANNED: Array<[RegExp, string]> = [
  [/^contract\//, 'the contract itself'],
  [/\.generated\.(ts|mjs)$|^collector-go\/internal\/contract\/contract\.go$/, 'generated from the contract; `gen-contract.mjs --check` compares them'],
  [/\.md$/, 'prose for readers (API.md is generated from the doc comments, which are scanned)'],
  [/(^|\/)__snapshots__\/|\.snapshot\//, 'recorded synth output, compared by the tests that record it'],
  [/(^|\/)package-lock\.json$/, 'dependency locks'],
  [/^collector-go\/.*\/testdata\//, 'collector configurations as users write them, inputs of the config loader tests: their receiver need not be the layer default'],
];

/**
 * Files that restate contract values on purpose. Keep this list short: a file that needs a
 * value reads contract/contract.json or a generated file instead.
 */
const ALLOWED: { [file: string]: string } = {
  'collector-go/config/config.yaml': 'the source of the default collector configuration; its receiver is checked equal to the contract below',
  'test/trace-exporter.test.ts': 'pins the rendered collector configuration, literally, as users get it',
  'test/otel-traced-function.test.ts': "pins the function's environment, literally, as users get it",
  'test/collector-layer.test.ts': 'pins the configuration URI and the container image instructions, literally, as users get them',
  'collector-go/internal/config/lambda_test.go': 'expects the fix the loader suggests for its input 0.0.0.0:4318: that port on loopback',
};

/** The repository's source files: tracked, or new and not ignored, and present. */
function sourceFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' });
  return [...new Set(listed.split('\0').filter(f => f.length > 0))]
    .filter(file => !NOT_SCANNED.some(([pattern]) => pattern.test(file)))
    .filter(file => fs.statSync(path.join(REPO, file), { throwIfNoEntry: false })?.isFile() ?? false)
    .sort();
}

/** Each file that restates a contract value, with the values it restates. */
function restatements(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const content = fs.readFileSync(path.join(REPO, file));
    if (content.includes(0)) continue; // binary
    const text = content.toString('utf8');
    const values = LITERALS.filter(literal => text.includes(literal));
    if (values.length > 0) found.set(file, values);
  }
  return found;
}

describe('the contract', () => {
  test('generated files are up to date with contract/contract.json and collector-go/config/config.yaml', () => {
    const result = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'gen-contract.mjs'), '--check'], { cwd: REPO, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  test('no file restates a contract value outside the allowlist', () => {
    const found = restatements();
    const unexpected = [...found]
      .filter(([file]) => !(file in ALLOWED))
      .map(([file, values]) => `${file}: ${values.join(', ')}`);
    // Read the value from contract/contract.json, lib/contract.generated.ts,
    // layer-src/src/contract.generated.mjs or collector-go/internal/contract instead.
    expect(unexpected).toEqual([]);
    const stale = Object.keys(ALLOWED).filter(file => !found.has(file));
    // These files no longer restate contract values: remove them from ALLOWED.
    expect(stale).toEqual([]);
  });

  test("the default collector configuration's receiver is the contract's", () => {
    const http = DEFAULT_COLLECTOR_CONFIG.receivers.otlp.protocols.http;
    expect(http.endpoint).toBe(contract.collector.otlpHttpListen);
    expect(http.max_request_body_size).toBe(contract.collector.maxRequestBodyBytes);
    expect(`http://${http.endpoint}`).toBe(contract.collector.otlpHttpEndpoint);
  });

  test("the construct's public constants and documented defaults are the contract's", () => {
    expect(OtelCollectorLayer.EXTENSION_NAME).toBe(contract.collector.extensionName);
    expect(OtelCollectorLayer.DEFAULT_CONFIG_PATH).toBe(contract.collector.layerConfigPath);
    expect(OtelCollectorLayer.CONFIG_URI_ENV).toBe(contract.collector.env.configUri);
    expect(OtelCollectorLayer.OTLP_HTTP_ENDPOINT).toBe(contract.collector.otlpHttpEndpoint);
    expect(OtelPreloadLayer.IMPORT_PATH).toBe(contract.preload.importPath);
    expect(path.posix.join('/opt', 'extensions', OtelCollectorLayer.EXTENSION_NAME)).toBe(contract.collector.layerExtensionPath);

    // Doc comments cannot read constants: the defaults they state are checked here.
    const source = fs.readFileSync(path.join(REPO, 'lib', 'tracing-options.ts'), 'utf8');
    const documentedDefault = (prop: string) => new RegExp(`@default (\\S+)\\n\\s*\\*/\\n\\s*readonly ${prop}\\?`).exec(source)?.[1];
    expect(documentedDefault('collectorFlushTimeout')).toBe(`Duration.seconds(${contract.collector.defaults.flushTimeoutMs / 1000})`);
    expect(documentedDefault('collectorLogLevel')).toBe(`CollectorLogLevel.${contract.collector.defaults.logLevel.toUpperCase()}`);
    expect(Object.values(CollectorLogLevel)).toContain(contract.collector.defaults.logLevel);
  });
});
