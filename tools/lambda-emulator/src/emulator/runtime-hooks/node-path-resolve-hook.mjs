// Module resolve hook: when a bare specifier is not found next to the importing file, try each
// NODE_PATH folder named node_modules as if the import came from there. Registered by node-path-resolution.mjs.
import { pathToFileURL } from 'node:url';

let nodePath = [];

export function initialize(data) {
  nodePath = data?.nodePath ?? [];
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const bare = !/^(\.|\/|[a-zA-Z][a-zA-Z+.-]*:)/.test(specifier);
    if (!bare || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    for (const dir of nodePath.filter((d) => d.endsWith('/node_modules'))) {
      try {
        // Resolving from a file inside `dir` makes Node look in `dir` itself, as it is named node_modules.
        return await nextResolve(specifier, { ...context, parentURL: pathToFileURL(`${dir}/index.mjs`).href });
      } catch {
        // try the next folder
      }
    }
    throw err;
  }
}
