import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { configureDiagnostics } from './diagnostics.mjs';
import { registerEsmHook } from './esm-hook.mjs';
import { makeHandlerExportsPatchable } from './handler-exports.mjs';
import { loadInstrumentations, selectInstrumentations } from './instrumentations.mjs';
import { createPropagator } from './propagation.mjs';
import { createResource } from './resource.mjs';
import { createTracerProvider } from './tracer-provider.mjs';

/** Built-in modules each instrumentation patches, which ESM code may import directly. */
const PATCHED_BUILTINS = { http: ['http', 'https'] };

/**
 * Starts tracing: reads the configuration first (so a bad value changes nothing), then registers
 * the tracer provider, context manager and propagator globally, and enables the chosen
 * instrumentations before any handler module is loaded.
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<import('@opentelemetry/sdk-trace-node').NodeTracerProvider>}
 */
export async function startTracing(env) {
  configureDiagnostics(env);
  const names = selectInstrumentations(env);
  const propagator = createPropagator(env);
  const tracerProvider = createTracerProvider({ resource: createResource(env), env });

  await registerEsmHook(env, names.flatMap((name) => PATCHED_BUILTINS[name] ?? []));
  makeHandlerExportsPatchable(env);
  const instrumentations = await loadInstrumentations(names, env);

  tracerProvider.register({ propagator: propagator ?? null });
  registerInstrumentations({ tracerProvider, instrumentations });
  return tracerProvider;
}
