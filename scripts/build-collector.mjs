// Builds the collector layer shipped in the package, for both architectures, with
// collector-go/build.sh and the Go release pinned by the `toolchain` of collector-go/go.mod,
// and records in assets/collector-layer/manifest.json the source fingerprint each layer was
// built from and the SHA-256 of every file. Skips an architecture whose layer is up to date.
//
//   node scripts/build-collector.mjs [--force] [--out <dir>]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { Architecture } = require('aws-cdk-lib/aws-lambda');
const { collectorSourceFingerprint, COLLECTOR_SOURCE_DIR, goArch, pinnedGoVersion } = require(path.join(repo, 'lib', 'collector-bundling.js'));
const { PREBUILT_COLLECTOR_DIR, PREBUILT_MANIFEST_FILE, sha256File } = require(path.join(repo, 'lib', 'collector-prebuilt.js'));

const args = process.argv.slice(2);
const force = args.includes('--force');
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? path.resolve(args[outIndex + 1]) : PREBUILT_COLLECTOR_DIR;
const manifestFile = path.join(outDir, PREBUILT_MANIFEST_FILE);

const goVersion = pinnedGoVersion();
const goroot = pinnedGoRoot(goVersion);
const previous = readPrevious();
const manifest = { goVersion, layers: {} };

for (const architecture of [Architecture.X86_64, Architecture.ARM_64]) {
  const fingerprint = collectorSourceFingerprint(architecture);
  const layerDir = path.join(outDir, architecture.name);
  const before = previous?.goVersion === goVersion ? previous.layers?.[architecture.name] : undefined;
  if (!force && before?.sourceFingerprint === fingerprint && filesMatch(layerDir, before.files)) {
    console.log(`collector ${architecture.name}: up to date (${fingerprint.slice(0, 12)})`);
    manifest.layers[architecture.name] = before;
    continue;
  }
  fs.rmSync(layerDir, { recursive: true, force: true });
  const build = spawnSync('bash', [path.join(COLLECTOR_SOURCE_DIR, 'build.sh'), layerDir], {
    cwd: COLLECTOR_SOURCE_DIR,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${path.join(goroot, 'bin')}${path.delimiter}${process.env.PATH}`, GOARCH: goArch(architecture) },
  });
  if (build.status !== 0) {
    console.error(`collector ${architecture.name}: build.sh failed (status ${build.status})`);
    process.exit(1);
  }
  const files = {};
  for (const relativePath of listFiles(layerDir)) {
    files[relativePath] = sha256File(path.join(layerDir, relativePath));
  }
  manifest.layers[architecture.name] = { sourceFingerprint: fingerprint, files };
}

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), manifestFile)} (Go ${goVersion})`);

/** GOROOT of the pinned Go release: the local one when it is that release, else downloaded by Go. */
function pinnedGoRoot(version) {
  const env = { ...process.env, GOTOOLCHAIN: `go${version}` };
  const proc = spawnSync('go', ['env', 'GOROOT', 'GOVERSION'], { env, encoding: 'utf-8' });
  if (proc.error || proc.status !== 0) {
    console.error(`cannot run the Go ${version} toolchain (${proc.error?.message ?? proc.stderr.trim()}); install Go (https://go.dev/doc/install).`);
    process.exit(1);
  }
  const [root, found] = proc.stdout.trim().split('\n');
  if (found !== `go${version}`) {
    console.error(`expected Go ${version}, got ${found}`);
    process.exit(1);
  }
  return root;
}

function readPrevious() {
  try {
    return JSON.parse(fs.readFileSync(manifestFile, 'utf-8'));
  } catch {
    return undefined;
  }
}

function filesMatch(dir, files) {
  return Object.entries(files ?? {}).length > 0 && Object.entries(files).every(([relativePath, sha]) => {
    const file = path.join(dir, relativePath);
    return fs.existsSync(file) && sha256File(file) === sha;
  });
}

function listFiles(dir, prefix = '') {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap(entry => {
      const relativePath = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? listFiles(dir, relativePath) : [relativePath];
    });
}
