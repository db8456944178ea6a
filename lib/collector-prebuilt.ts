import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Architecture, AssetCode, Code } from 'aws-cdk-lib/aws-lambda';
import { collectorSourceFingerprint, COLLECTOR_SOURCE_DIR } from './collector-bundling';

/**
 * The collector layer prebuilt for each architecture when the package is made
 * (`npx projen build:collector`), so synth needs neither Go nor Docker.
 */
export const PREBUILT_COLLECTOR_DIR = path.join(__dirname, '..', 'assets', 'collector-layer');

/** The record of what was prebuilt, from which source, with which bytes. */
export const PREBUILT_MANIFEST_FILE = 'manifest.json';

/** The content of `assets/collector-layer/manifest.json`. */
export interface PrebuiltManifest {
  /** The Go release the binaries were built with. */
  readonly goVersion: string;
  /** One entry per architecture name (`x86_64`, `arm64`); the layer content is in a folder of that name. */
  readonly layers: { [architecture: string]: PrebuiltLayerRecord };
}

/** One prebuilt layer. */
export interface PrebuiltLayerRecord {
  /** `collectorSourceFingerprint()` of the source the layer was built from. */
  readonly sourceFingerprint: string;
  /** SHA-256 (hex) of every file of the layer, by path relative to the layer folder. */
  readonly files: { [relativePath: string]: string };
}

/** Layers already verified in this process, by folder and fingerprint. */
const verified = new Set<string>();

/**
 * Finds the prebuilt collector layer of an architecture.
 *
 * @returns the layer code, hashed from its bytes as a build from the source is; or
 * `undefined` when the source differs from the one the prebuilt was made from (it must then
 * be compiled)
 * @throws when the prebuilt is missing, incomplete or corrupt, naming the file and the fix
 */
export function prebuiltCollectorCode(
  architecture: Architecture,
  sourceDirectory: string = COLLECTOR_SOURCE_DIR,
  prebuiltDirectory: string = PREBUILT_COLLECTOR_DIR,
): AssetCode | undefined {
  const layerDirectory = prebuiltCollectorDirectory(architecture, sourceDirectory, prebuiltDirectory);
  return layerDirectory === undefined ? undefined : Code.fromAsset(layerDirectory);
}

/**
 * The folder of the prebuilt collector layer of an architecture, its files verified.
 *
 * @returns the folder; or `undefined` when the source differs from the one the prebuilt was
 * made from
 * @throws when the prebuilt is missing, incomplete or corrupt, naming the file and the fix
 */
export function prebuiltCollectorDirectory(
  architecture: Architecture,
  sourceDirectory: string = COLLECTOR_SOURCE_DIR,
  prebuiltDirectory: string = PREBUILT_COLLECTOR_DIR,
): string | undefined {
  const fingerprint = collectorSourceFingerprint(architecture, sourceDirectory);
  const manifestFile = path.join(prebuiltDirectory, PREBUILT_MANIFEST_FILE);
  const record = readManifest(manifestFile).layers[architecture.name];
  if (record === undefined) {
    throw prebuiltError(`${manifestFile} has no prebuilt collector for architecture '${architecture.name}'`);
  }
  if (record.sourceFingerprint !== fingerprint) {
    return undefined;
  }
  const layerDirectory = path.join(prebuiltDirectory, architecture.name);
  const key = `${layerDirectory}\0${fingerprint}`;
  if (!verified.has(key)) {
    verifyFiles(layerDirectory, record);
    verified.add(key);
  }
  return layerDirectory;
}

/** SHA-256 (hex) of a file's bytes. */
export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function readManifest(manifestFile: string): PrebuiltManifest {
  let text: string;
  try {
    text = fs.readFileSync(manifestFile, 'utf-8');
  } catch {
    throw prebuiltError(`the prebuilt collector's manifest ${manifestFile} is missing`);
  }
  let manifest: PrebuiltManifest;
  try {
    manifest = JSON.parse(text);
  } catch (e) {
    throw prebuiltError(`the prebuilt collector's manifest ${manifestFile} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.layers !== 'object' || manifest.layers === null) {
    throw prebuiltError(`the prebuilt collector's manifest ${manifestFile} has no 'layers' object`);
  }
  return manifest;
}

function verifyFiles(layerDirectory: string, record: PrebuiltLayerRecord): void {
  const files = Object.entries(record.files ?? {});
  if (files.length === 0) {
    throw prebuiltError(`the manifest lists no files for the prebuilt collector in ${layerDirectory}`);
  }
  for (const [relativePath, expected] of files) {
    const file = path.join(layerDirectory, relativePath);
    if (!fs.existsSync(file)) {
      throw prebuiltError(`the prebuilt collector file ${file} is missing`);
    }
    const actual = sha256File(file);
    if (actual !== expected) {
      throw prebuiltError(`the prebuilt collector file ${file} is corrupt: its SHA-256 is ${actual}, the manifest records ${expected}`);
    }
  }
}

function prebuiltError(problem: string): Error {
  return new Error(
    `${problem}. Reinstall cdk-lambda-otel-xray (in its repository: \`npx projen build:collector\`), ` +
    'or compile the collector instead with `OtelCollectorLayer` prop `buildFromSource: true` (needs Go or Docker).',
  );
}
