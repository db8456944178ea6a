import * as module from 'node:module';
import { pathToFileURL } from 'node:url';
import { supportsSyncHooks } from 'import-in-the-middle/supports-sync-hooks.mjs';
import { handlerLocation } from './handler-location.mjs';

/**
 * Registers import-in-the-middle's loader hook, which lets instrumentations patch modules loaded
 * with `import`: ESM handlers (.mjs, "type": "module"), and on the Node.js 24 runtime every
 * handler, since it loads CommonJS handlers with `import()` too. Only the handler module and the
 * listed built-ins are intercepted, so other modules load at full speed.
 *
 * Runs the loader in-thread with `module.registerHooks` where Node.js supports it, else on
 * Node.js's loader thread with `module.register`.
 * @param {NodeJS.ProcessEnv} env
 * @param {string[]} builtins built-in modules an instrumentation patches (e.g. http)
 */
export async function registerEsmHook(env, builtins) {
  const include = [...handlerFileUrls(env), ...builtins];
  if (include.length === 0) return;
  if (supportsSyncHooks()) {
    const { register } = await import('import-in-the-middle/register-hooks.mjs');
    register({ include });
  } else {
    module.register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include } });
  }
}

/**
 * The files the Lambda runtime may load for `_HANDLER`: its module with a .js, .mjs or .cjs extension.
 * @param {NodeJS.ProcessEnv} env
 * @returns {string[]}
 */
export function handlerFileUrls(env) {
  const handler = handlerLocation(env);
  if (!handler) return [];
  return ['.js', '.mjs', '.cjs'].map((extension) => pathToFileURL(handler.modulePath + extension).href);
}
