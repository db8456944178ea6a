// Builds the preload layer's content into <repository>/assets/preload-layer/:
//   nodejs/otel-preload/init.mjs        the entry NODE_OPTIONS=--import loads (in Lambda under /opt: preload.importPath
//                                       in contract/contract.json)
//   nodejs/otel-preload/sdk.mjs         everything always loaded, in one file: the SDK, the exporter, the
//                                       aws-lambda instrumentation, the ES module hook's set-up
//   nodejs/otel-preload/optional-instrumentations/<name>.mjs
//                                       one file per optional instrumentation, imported only when chosen
//   nodejs/otel-preload/node_modules/   import-in-the-middle, which cannot be bundled: the module wrappers it
//                                       generates at run time import its files by path and share their state
//   nodejs/otel-preload/THIRD_PARTY_LICENSES.txt
// Each file Node.js's ES module loader reads costs a resolve, a compile and a link at every cold
// start, so the layer has as few as the lazy loading of instrumentations allows.
// Usage: node layer-src/build.mjs [out-dir]
import * as esbuild from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const sourceRoot = path.dirname(fileURLToPath(import.meta.url));
const sourceDir = path.join(sourceRoot, 'src');
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

/** The always-loaded entries, and the optional instrumentations' modules (src/instrumentations.mjs). */
const CORE_ENTRIES = ['init.mjs', 'sdk.mjs'].map((file) => path.join(sourceDir, file));
const OPTIONAL_ENTRIES = fs.readdirSync(path.join(sourceDir, 'optional-instrumentations'))
  .filter((file) => file.endsWith('.mjs'))
  .map((file) => path.join(sourceDir, 'optional-instrumentations', file));

/** Packages the optional instrumentations take from sdk.mjs (src/shared-packages.mjs). */
const SHARED_PACKAGE_NAMES = Object.keys((await import('./src/shared-packages.mjs')).SHARED_PACKAGES);

/** Settings common to every build of the preload's own code. */
const COMMON_OPTIONS = {
  outdir: preloadDir,
  outbase: sourceDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: false,
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
  // With their subpaths, except what importInTheMiddleHookCheck() bundles.
  external: UNBUNDLED_PACKAGES,
  // require-in-the-middle's optional debug logging, see src/silent-debug.cjs.
  alias: { debug: path.join(sourceDir, 'silent-debug.cjs') },
  banner: { js: BANNER },
  logLevel: 'warning',
};

fs.rmSync(layerRoot, { recursive: true, force: true });

const core = await esbuild.build({
  ...COMMON_OPTIONS,
  entryPoints: CORE_ENTRIES,
  plugins: [otherEntriesStayFiles(), importInTheMiddleHookCheck(), loadThroughRequire(), semanticConventionsUsedOnly()],
});
const optional = await esbuild.build({
  ...COMMON_OPTIONS,
  entryPoints: OPTIONAL_ENTRIES,
  plugins: [sharedPackagesFromCore(), loadThroughRequire(), semanticConventionsUsedOnly()],
});
checkNothingBundledTwice(core.metafile, optional.metafile);
// PRELOAD_METAFILE_DIR=<dir> keeps esbuild's record of what went into each file, for
// `npx esbuild --analyze`-style investigation (https://esbuild.github.io/api/#metafile).
if (process.env.PRELOAD_METAFILE_DIR) {
  fs.mkdirSync(process.env.PRELOAD_METAFILE_DIR, { recursive: true });
  fs.writeFileSync(path.join(process.env.PRELOAD_METAFILE_DIR, 'core.json'), JSON.stringify(core.metafile));
  fs.writeFileSync(path.join(process.env.PRELOAD_METAFILE_DIR, 'optional.json'), JSON.stringify(optional.metafile));
}

const shippedModules = path.join(preloadDir, 'node_modules');
const shipped = shipPackages(UNBUNDLED_PACKAGES, shippedModules);
writeThirdPartyLicenses([...new Set([...bundledPackageDirs(core.metafile), ...bundledPackageDirs(optional.metafile), ...shipped])]);
await bundleImportInTheMiddleLoaders(shippedModules);

const size = directorySize(layerRoot);
console.log(`preload layer: ${layerRoot}`);
console.log(`preload layer size: ${size} bytes (${(size / 1024 / 1024).toFixed(2)} MiB unzipped, budget ${BUDGET_BYTES / 1024 / 1024} MiB)`);
if (size > BUDGET_BYTES) {
  console.error(`preload layer is over its budget by ${size - BUDGET_BYTES} bytes`);
  process.exit(1);
}

/**
 * Keeps a dynamic import of another entry of the layer (init.mjs -> sdk.mjs, sdk.mjs -> an optional
 * instrumentation) as an import of that entry's own file: the output mirrors src/, so the
 * specifier stays valid. Bundled, the imported code would be read with its importer, chosen or not.
 */
function otherEntriesStayFiles() {
  const entries = new Set([...CORE_ENTRIES, ...OPTIONAL_ENTRIES]);
  return {
    name: 'other-entries-stay-files',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const target = path.resolve(args.resolveDir, args.path);
        if (!entries.has(target)) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Bundles import-in-the-middle's supports-sync-hooks.mjs, which src/esm-hook.mjs calls to choose
 * between the in-thread and the loader-thread hook: a function of process.version without imports
 * or state, so a copy in sdk.mjs behaves as the shipped file and spares reading one more file.
 */
function importInTheMiddleHookCheck() {
  return {
    name: 'import-in-the-middle-hook-check',
    setup(build) {
      build.onResolve({ filter: /^import-in-the-middle\/supports-sync-hooks\.mjs$/ }, () => ({
        path: path.join(findPackageDir('import-in-the-middle', sourceRoot), 'supports-sync-hooks.mjs'),
      }));
    },
  };
}

/**
 * In an optional instrumentation's file, each package listed in src/shared-packages.mjs becomes
 * the copy sdk.mjs already loaded, taken from its SHARED_PACKAGES export: a second copy would
 * cost start-up time and, for @opentelemetry/instrumentation, a second set of module hooks.
 */
function sharedPackagesFromCore() {
  const names = new Set(SHARED_PACKAGE_NAMES);
  return {
    name: 'shared-packages-from-core',
    setup(build) {
      build.onResolve({ filter: /^@opentelemetry\/[a-z-]+$/ }, (args) =>
        names.has(args.path) ? { path: args.path, namespace: 'shared-package' } : undefined);
      build.onResolve({ filter: /^shared-packages-of-core$/ }, () => ({ path: 'core', namespace: 'shared-packages-of-core' }));
      build.onLoad({ filter: /.*/, namespace: 'shared-package' }, (args) => ({
        contents: `module.exports = require('shared-packages-of-core').SHARED_PACKAGES[${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
      // Every optional entry sits one directory below sdk.mjs (src/optional-instrumentations/).
      build.onLoad({ filter: /.*/, namespace: 'shared-packages-of-core' }, () => ({
        contents: "export { SHARED_PACKAGES } from '../sdk.mjs';",
        loader: 'js',
      }));
      build.onResolve({ filter: /^\.\.\/sdk\.mjs$/ }, (args) =>
        args.namespace === 'shared-packages-of-core' ? { path: args.path, external: true } : undefined);
    },
  };
}

/** Fails the build when a package file went into both sdk.mjs and an optional instrumentation's file. */
function checkNothingBundledTwice(coreMetafile, optionalMetafile) {
  // Each importer gets its own few constants of the semantic conventions, see semanticConventionsUsedOnly.
  const isPackageFile = (input) => input.includes('node_modules/') && !input.includes('node_modules/@opentelemetry/semantic-conventions/');
  const coreInputs = new Set(Object.keys(coreMetafile.inputs).filter(isPackageFile));
  const twice = Object.keys(optionalMetafile.inputs).filter((input) => coreInputs.has(input));
  if (twice.length > 0) {
    throw new Error(`bundled both into sdk.mjs and into an optional instrumentation: ${twice.slice(0, 5).join(', ')}${twice.length > 5 ? ', ...' : ''}. ` +
      'Add their package to SHARED_PACKAGES in src/shared-packages.mjs.');
  }
}

/**
 * Loads Node.js built-in modules, and import-in-the-middle (CommonJS), with require() rather than
 * import. An import of a built-in goes through its ES module facade, which reads every export
 * and so loads every lazily loaded part of the module (fs.promises, stream's web streams,
 * util.parseArgs, ...); an import of a CommonJS file makes Node.js lex its source for export
 * names. Both cost milliseconds of start-up for nothing the preload uses. The same holds for the
 * exporter's `import('http')` at its first export: about 20 ms on the first invocation's response
 * (http2, fs/promises, assert, readline, undici's WebSocket, all for `request` and `Agent`).
 *
 * esbuild turns each such import into an object that copies the module's properties (__toESM),
 * which reads every property descriptor and so loads the lazy parts all the same. A built-in
 * whose exports are a plain object is therefore handed over as an object that inherits from it:
 * nothing to copy, and every property is still read from the module itself, as it is at the time
 * (an instrumentation may have wrapped it). Built-ins that export a function or class (events,
 * module, stream, ...), and `process`, whose methods need it as `this`, are handed over as they are.
 */
function loadThroughRequire() {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
  const modules = new Set([...builtins, 'import-in-the-middle']);
  return {
    name: 'load-through-require',
    setup(build) {
      build.onResolve({ filter: /^[a-z:_/-]+$/ }, (args) => {
        const imported = args.kind === 'import-statement' || (args.kind === 'dynamic-import' && builtins.has(args.path));
        return imported && modules.has(args.path) ? { path: args.path, namespace: 'load-through-require' } : undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'load-through-require' }, (args) => ({
        contents: builtins.has(args.path)
          ? `const builtin = require(${JSON.stringify(args.path)});\nmodule.exports = typeof builtin === 'function' || builtin === process ? builtin : Object.create(builtin);`
          : `module.exports = require(${JSON.stringify(args.path)});`,
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
 * as one minified file, with built-ins loaded through require: the loader finds the shared
 * lib/register.js relative to its entry's own URL, which does not change. The files only the
 * entries used are then left out.
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
      plugins: [loadThroughRequire()],
      logLevel: 'warning',
    });
  }
  // supports-sync-hooks.mjs is bundled into sdk.mjs and into both loader entries.
  for (const file of ['create-hook.mjs', 'lib/get-exports.mjs', 'lib/get-esm-exports.mjs', 'lib/io.mjs', 'supports-sync-hooks.mjs']) {
    fs.rmSync(path.join(packageDir, file));
  }
  for (const lexer of ['es-module-lexer', 'cjs-module-lexer']) {
    fs.rmSync(path.join(modulesDir, lexer), { recursive: true });
  }
  // Its CommonJS files stay separate files (required by path), minified: the module wrapper that
  // the loader generates for each hooked ES module imports lib/register.js, for which Node.js
  // first scans the whole source for export names with its CommonJS lexer.
  for (const file of ['index.js', 'lib/register.js']) {
    const filePath = path.join(packageDir, file);
    const { code } = await esbuild.transform(fs.readFileSync(filePath, 'utf8'), { loader: 'js', minify: true, legalComments: 'none', target: 'node22' });
    fs.writeFileSync(filePath, code);
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
