// Builds the preload layer's content into <repository>/assets/preload-layer/:
//   nodejs/otel-preload/init.mjs        the entry NODE_OPTIONS=--import loads (in Lambda: /opt/nodejs/otel-preload/init.mjs)
//   nodejs/otel-preload/chunks/*.mjs    one chunk per instrumentation, imported only when chosen
//   nodejs/otel-preload/node_modules/   import-in-the-middle, which cannot be bundled: the module wrappers it
//                                       generates at run time import its files by path and share their state
//   nodejs/otel-preload/THIRD_PARTY_LICENSES.txt
// Usage: node layer-src/build.mjs [out-dir]
import * as esbuild from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const sourceRoot = path.dirname(fileURLToPath(import.meta.url));
const layerRoot = path.resolve(process.argv[2] ?? path.join(sourceRoot, '..', 'assets', 'preload-layer'));
const preloadDir = path.join(layerRoot, 'nodejs', 'otel-preload');

/** Shipped as files beside the bundle, with their dependencies. */
const UNBUNDLED_PACKAGES = ['import-in-the-middle'];

/** Files of shipped packages that Node.js never loads. */
const NOT_SHIPPED = /(\.d\.[cm]?ts|\.map|\.md|\.markdown|\.ts)$|^(test|tests|benchmark|docs?|\.github)$/i;

/** Bundled CommonJS code calls require() for Node.js built-ins and unbundled packages. */
const BANNER = "import { createRequire as __otelCreateRequire } from 'node:module'; const require = __otelCreateRequire(import.meta.url);";

/** The layer must stay small: the design's budget for it unzipped. */
const BUDGET_BYTES = 1.5 * 1024 * 1024;

fs.rmSync(layerRoot, { recursive: true, force: true });

const result = await esbuild.build({
  entryPoints: { init: path.join(sourceRoot, 'src', 'init.mjs') },
  outdir: preloadDir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // OpenTelemetry packages ship ES module builds under "module": they tree-shake better.
  mainFields: ['module', 'main'],
  // PRELOAD_MINIFY=false keeps names readable when investigating a stack trace.
  minify: process.env.PRELOAD_MINIFY !== 'false',
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  external: UNBUNDLED_PACKAGES.flatMap((name) => [name, `${name}/*`]),
  // require-in-the-middle's optional debug logging, see src/silent-debug.cjs.
  alias: { debug: path.join(sourceRoot, 'src', 'silent-debug.cjs') },
  banner: { js: BANNER },
  plugins: [loadThroughRequire(), semanticConventionsUsedOnly()],
  logLevel: 'warning',
});

const shippedModules = path.join(preloadDir, 'node_modules');
const shipped = shipPackages(UNBUNDLED_PACKAGES, shippedModules);
writeThirdPartyLicenses([...bundledPackageDirs(result.metafile), ...shipped]);
await bundleImportInTheMiddleLoaders(shippedModules);

const size = directorySize(layerRoot);
console.log(`preload layer: ${layerRoot}`);
console.log(`preload layer size: ${size} bytes (${(size / 1024 / 1024).toFixed(2)} MiB unzipped, budget ${BUDGET_BYTES / 1024 / 1024} MiB)`);
if (size > BUDGET_BYTES) {
  console.error(`preload layer is over its budget by ${size - BUDGET_BYTES} bytes`);
  process.exit(1);
}

/**
 * Loads Node.js built-in modules, and import-in-the-middle (CommonJS), with require() rather than
 * import. An import of a built-in goes through its ES module facade, which reads every export
 * and so loads every lazily loaded part of the module (fs.promises, stream's web streams,
 * util.parseArgs, ...); an import of a CommonJS file makes Node.js lex its source for export
 * names. Both cost milliseconds of start-up for nothing the preload uses.
 */
function loadThroughRequire() {
  const modules = new Set([...builtinModules.flatMap((name) => [name, `node:${name}`]), 'import-in-the-middle']);
  return {
    name: 'load-through-require',
    setup(build) {
      build.onResolve({ filter: /^[a-z:_/-]+$/ }, (args) =>
        args.kind === 'import-statement' && modules.has(args.path) ? { path: args.path, namespace: 'load-through-require' } : undefined);
      build.onLoad({ filter: /.*/, namespace: 'load-through-require' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * The instrumentations are CommonJS and require() all of @opentelemetry/semantic-conventions:
 * thousands of constants (80 KB minified) that esbuild cannot tree-shake through require(),
 * evaluated at every cold start. Each such require() gets instead a module that re-exports, from
 * the package's ES module build, only the constants its importer reads (`<binding>.<NAME>`).
 * An importer that uses the binding any other way keeps the whole package; a constant missing
 * from the package fails the build.
 */
function semanticConventionsUsedOnly() {
  const PACKAGE = '@opentelemetry/semantic-conventions';
  return {
    name: 'semantic-conventions-used-only',
    setup(build) {
      build.onResolve({ filter: /^@opentelemetry\/semantic-conventions$/ }, (args) => {
        if (args.kind !== 'require-call') return undefined;
        const source = fs.readFileSync(args.importer, 'utf8');
        const binding = new RegExp(`(\\w+) = require\\("${PACKAGE}"\\)`).exec(source)?.[1];
        if (!binding) return undefined;
        const uses = [...source.matchAll(new RegExp(`\\b${binding}\\b(\\.(\\w+))?`, 'g'))];
        // The declaration itself is the one use without a property access.
        if (uses.filter((use) => !use[2]).length !== 1) return undefined;
        const names = [...new Set(uses.map((use) => use[2]).filter(Boolean))].sort();
        return { path: args.importer, namespace: 'semantic-conventions-used-only', pluginData: { names } };
      });
      build.onLoad({ filter: /.*/, namespace: 'semantic-conventions-used-only' }, (args) => ({
        contents: `export { ${args.pluginData.names.join(', ')} } from '${PACKAGE}';`,
        resolveDir: path.dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

/**
 * import-in-the-middle's loader entries (register-hooks.mjs in-thread, hook.mjs on the loader
 * thread) load about 150 KB of unminified modules, lexers included. Each entry is rebuilt in place
 * as one minified file: the loader finds the shared lib/register.js relative to its entry's own
 * URL, which does not change. The files only the entries used are then left out.
 */
async function bundleImportInTheMiddleLoaders(modulesDir) {
  const packageDir = path.join(modulesDir, 'import-in-the-middle');
  const sourceDir = findPackageDir('import-in-the-middle', sourceRoot);
  for (const entry of ['register-hooks.mjs', 'hook.mjs']) {
    await esbuild.build({
      entryPoints: [path.join(sourceDir, entry)],
      outfile: path.join(packageDir, entry),
      allowOverwrite: true,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      minify: true,
      legalComments: 'none',
      banner: { js: BANNER },
      logLevel: 'warning',
    });
  }
  for (const file of ['create-hook.mjs', 'lib/get-exports.mjs', 'lib/get-esm-exports.mjs', 'lib/io.mjs']) {
    fs.rmSync(path.join(packageDir, file));
  }
  for (const lexer of ['es-module-lexer', 'cjs-module-lexer']) {
    fs.rmSync(path.join(modulesDir, lexer), { recursive: true });
  }
}

/**
 * Copies packages and their production dependencies, as installed in layer-src/node_modules,
 * into a flat node_modules directory. Returns the source directories copied.
 */
function shipPackages(names, destination) {
  const copied = new Map();
  const pending = names.map((name) => ({ name, from: sourceRoot }));
  while (pending.length > 0) {
    const { name, from } = pending.shift();
    const packageDir = findPackageDir(name, from);
    if (copied.has(name)) {
      if (copied.get(name) !== packageDir) throw new Error(`two versions of ${name} would be shipped: ${copied.get(name)} and ${packageDir}`);
      continue;
    }
    copied.set(name, packageDir);
    copyPackage(packageDir, path.join(destination, name));
    const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
    for (const dependency of Object.keys(manifest.dependencies ?? {})) pending.push({ name: dependency, from: packageDir });
  }
  return [...copied.values()];
}

function findPackageDir(name, from) {
  const require = createRequire(path.join(from, 'package.json'));
  for (const candidate of require.resolve.paths(name) ?? []) {
    const dir = path.join(candidate, name);
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`cannot find package ${name} from ${from}: run npm ci --prefix layer-src first`);
}

function copyPackage(from, to) {
  fs.cpSync(from, to, {
    recursive: true,
    filter: (source) => {
      const name = path.basename(source);
      if (source === from) return true;
      if (name === 'node_modules') return false;
      if (/^licen[cs]e|^notice/i.test(name)) return true;
      return !NOT_SHIPPED.test(name);
    },
  });
}

/** The package directories esbuild took code from, found by walking up from each input file. */
function bundledPackageDirs(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    if (/^[\w-]+:/.test(input)) continue; // generated by a plugin, not a file
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) dirs.add(path.resolve(match[1]));
  }
  return [...dirs];
}

function writeThirdPartyLicenses(packageDirs) {
  const byText = new Map();
  for (const dir of packageDirs) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const licenseFile = fs.readdirSync(dir).find((file) => /^licen[cs]e/i.test(file));
    const text = licenseFile ? fs.readFileSync(path.join(dir, licenseFile), 'utf8').trim() : `License: ${manifest.license}`;
    if (!byText.has(text)) byText.set(text, new Set());
    byText.get(text).add(`${manifest.name}@${manifest.version}`);
  }
  const sections = [...byText].map(([text, packages]) => `${[...packages].sort().join('\n')}\n\n${text}\n`);
  fs.writeFileSync(
    path.join(preloadDir, 'THIRD_PARTY_LICENSES.txt'),
    `This layer contains code from the following packages.\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`,
  );
}

function directorySize(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    total += entry.isDirectory() ? directorySize(entryPath) : fs.statSync(entryPath).size;
  }
  return total;
}
