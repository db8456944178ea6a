import * as fs from 'node:fs';
import { Hook } from 'require-in-the-middle';
import { handlerLocation } from './handler-location.mjs';

/**
 * esbuild's CommonJS output (what NodejsFunction produces from `export const handler`) defines
 * each export as a getter that can be neither written nor redefined, so the AWS Lambda
 * instrumentation cannot wrap the handler ("Cannot redefine property: handler"). This hooks
 * `require` of the handler module, ahead of the instrumentation, and hands on a copy of its
 * exports with plain, writable properties whenever the handler export is such a getter.
 * Must run before the AWS Lambda instrumentation is created: hooks run in registration order.
 * @param {NodeJS.ProcessEnv} env
 */
export function makeHandlerExportsPatchable(env) {
  const handler = handlerLocation(env);
  if (!handler) return;
  const files = ['.js', '.cjs'].map((extension) => handler.modulePath + extension).filter((file) => fs.existsSync(file));
  if (files.length === 0) return;
  new Hook(files, { internals: true }, (exports) => withPatchableExport(exports, handler.functionName));
}

/**
 * `exports` itself when its `name` property can be wrapped in place, else a copy whose
 * properties are plain data properties holding the current values.
 * @param {object} exports
 * @param {string} name
 */
export function withPatchableExport(exports, name) {
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return exports;
  const descriptor = Object.getOwnPropertyDescriptor(exports, name);
  if (!descriptor || descriptor.configurable || ('value' in descriptor && descriptor.writable)) return exports;
  const copy = {};
  for (const key of Reflect.ownKeys(exports)) {
    const { enumerable } = Object.getOwnPropertyDescriptor(exports, key);
    Object.defineProperty(copy, key, { value: exports[key], enumerable, writable: true, configurable: true });
  }
  return copy;
}
