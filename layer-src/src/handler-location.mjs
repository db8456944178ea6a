import * as path from 'node:path';

/**
 * Where the handler Lambda will load lives: `_HANDLER` is `<path>/<module>.<function>`,
 * relative to LAMBDA_TASK_ROOT. Returns the module's path without extension and the exported
 * function's name, or `undefined` outside Lambda.
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html#nodejs-handler-naming
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ modulePath: string, functionName: string } | undefined}
 */
export function handlerLocation(env) {
  const taskRoot = env.LAMBDA_TASK_ROOT;
  const handler = env._HANDLER;
  if (!taskRoot || !handler) return undefined;
  const handlerName = path.basename(handler);
  const [moduleName, functionName] = handlerName.split('.', 2);
  if (!functionName) return undefined;
  const moduleDirectory = handler.slice(0, handler.length - handlerName.length);
  return { modulePath: path.resolve(taskRoot, moduleDirectory, moduleName), functionName };
}
