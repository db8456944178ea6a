// lambda-harness.mjs with the runtime's console (runtime-console.mjs) in place first: the runtime
// interface client patches the console after the preload has run and before it loads the handler.
await import('./runtime-console.mjs');
await import('./lambda-harness.mjs');
