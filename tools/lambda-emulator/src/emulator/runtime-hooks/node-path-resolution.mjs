// Lambda's Node.js runtimes (18.x and later) search the folders in NODE_PATH when resolving ES
// module imports, which plain Node.js does not; that is how an ESM handler imports the AWS SDK
// that the runtime provides in /var/runtime/node_modules, or packages from layers in
// /opt/nodejs/node_modules. See "ES module resolution" in
// https://aws.amazon.com/blogs/compute/node-js-18-x-runtime-now-available-in-aws-lambda/
// The emulator loads this file first of all: NODE_OPTIONS starts with `--import "<this file>"`
// (`runtimeNodeOptions` in lambda-service.mjs), before the imports of the function's own
// NODE_OPTIONS, so a layer's preload (e.g. ADOT's /opt/wrapper.mjs) resolves its bare imports
// from /opt/nodejs/node_modules as on Lambda. It then takes itself out of process.env.NODE_OPTIONS,
// so the handler sees the function's NODE_OPTIONS as configured.
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

register(new URL('./node-path-resolve-hook.mjs', import.meta.url), {
  data: { nodePath: (process.env.NODE_PATH ?? '').split(':').filter(Boolean) },
});

const own = `--import ${JSON.stringify(fileURLToPath(import.meta.url))}`;
const nodeOptions = process.env.NODE_OPTIONS ?? '';
if (nodeOptions === own || nodeOptions.startsWith(`${own} `)) {
  const rest = nodeOptions.slice(own.length + 1);
  if (rest) process.env.NODE_OPTIONS = rest;
  else delete process.env.NODE_OPTIONS;
}
