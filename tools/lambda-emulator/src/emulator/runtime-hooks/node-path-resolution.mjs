// Lambda's Node.js runtimes (18.x and later) search the folders in NODE_PATH when resolving ES
// module imports, which plain Node.js does not; that is how an ESM handler imports the AWS SDK
// that the runtime provides in /var/runtime/node_modules, or packages from layers in
// /opt/nodejs/node_modules. See "ES module resolution" in
// https://aws.amazon.com/blogs/compute/node-js-18-x-runtime-now-available-in-aws-lambda/
// The emulator loads this file with --import before the runtime interface client to do the same.
import { register } from 'node:module';

register(new URL('./node-path-resolve-hook.mjs', import.meta.url), {
  data: { nodePath: (process.env.NODE_PATH ?? '').split(':').filter(Boolean) },
});
