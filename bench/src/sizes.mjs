// Sizes of what users download: binaries and layer directories, unzipped, as Lambda counts them
// against the 250 MB unzipped limit (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
// No dependencies beyond Node.js, so the size test runs before any npm install.
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

/** Size of one file in bytes, with an error that says how to produce it when it is missing. */
export function fileSize(path, howToBuild) {
  if (!existsSync(path)) throw new Error(`${path} does not exist: ${howToBuild}`);
  return statSync(path).size;
}

/** Every regular file under a directory, relative paths sorted, symbolic links followed. */
export function listFiles(dir) {
  const files = [];
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) files.push(relative(dir, full));
    }
  };
  walk(dir);
  return files.sort();
}

/** Sum of the sizes of the regular files under a directory. */
export function directorySize(dir, howToBuild) {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist: ${howToBuild}`);
  return listFiles(dir).reduce((total, file) => total + statSync(join(dir, file)).size, 0);
}

/**
 * The installed packages a set of root packages needs at run time (dependencies, and
 * optionalDependencies that are installed), resolved as Node.js resolves them from `fromDir`.
 * @returns {{name: string, version: string, dir: string}[]}
 */
export function dependencyClosure(rootNames, fromDir) {
  const seen = new Map();
  const pending = rootNames.map((name) => ({ name, from: fromDir, optional: false }));
  while (pending.length > 0) {
    const { name, from, optional } = pending.shift();
    const dir = findPackageDir(name, from);
    if (!dir) {
      if (optional) continue;
      throw new Error(`package ${name} is not installed where ${from} can load it: run npm ci --prefix bench`);
    }
    if (seen.has(dir)) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    seen.set(dir, { name, version: manifest.version, dir });
    for (const dep of Object.keys(manifest.dependencies ?? {})) pending.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) pending.push({ name: dep, from: dir, optional: true });
    // Required peers (e.g. @opentelemetry/api) are loaded at run time too.
    for (const dep of Object.keys(manifest.peerDependencies ?? {})) {
      if (!manifest.peerDependenciesMeta?.[dep]?.optional) pending.push({ name: dep, from: dir, optional: true });
    }
  }
  return [...seen.values()];
}

function findPackageDir(name, from) {
  const require = createRequire(join(from, 'package.json'));
  for (const candidate of require.resolve.paths(name) ?? []) {
    const dir = join(candidate, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

/**
 * Files of a set of installed packages, each package without its own nested node_modules
 * (nested packages are separate members of the closure), named by their path under `rootDir`.
 */
export function packageFiles(packages, rootDir, prefix) {
  const entries = [];
  for (const { dir } of packages) {
    const walk = (current) => {
      for (const entry of readdirSync(current, { withFileTypes: true })) {
        const full = join(current, entry.name);
        if (entry.name === 'node_modules' && current === dir) continue;
        const stat = lstatSync(full).isSymbolicLink() ? statSync(full) : lstatSync(full);
        if (stat.isDirectory()) walk(full);
        else if (stat.isFile()) entries.push({ path: full, name: join(prefix, relative(rootDir, full)), size: stat.size });
      }
    };
    walk(dir);
  }
  return entries;
}
