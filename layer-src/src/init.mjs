// Entry point of the preload layer, loaded before the Lambda runtime with
// NODE_OPTIONS=--import <the preload's importPath in contract/contract.json>
// Node.js waits for this module, top-level await included, before it loads the runtime and,
// through it, the handler: the instrumentations' hooks are in place by then.
import { safeStart } from './safe-start.mjs';

await safeStart(async () => {
  const { startTracing } = await import('./sdk.mjs');
  await startTracing(process.env);
});
