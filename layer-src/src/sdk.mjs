import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { configureDiagnostics } from './diagnostics.mjs';
import { registerEsmHook } from './esm-hook.mjs';
import { makeHandlerExportsPatchable } from './handler-exports.mjs';
import { ESM_PATCHED_MODULES, importInstrumentations, selectInstrumentations } from './instrumentations.mjs';
import { InvocationEnd } from './invocation-end.mjs';
import { installLogCorrelation, logCorrelationEnabled } from './log-correlation.mjs';
import { createPropagator } from './propagation.mjs';
import { createResource } from './resource.mjs';
import { traceStreamingHandlers } from './streaming.mjs';
import { createTracerProvider, tracesUrl } from './tracer-provider.mjs';

export { SHARED_PACKAGES } from './shared-packages.mjs';

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
  const logCorrelation = logCorrelationEnabled(env);
  const invocationEnd = new InvocationEnd({ tracesUrl: tracesUrl(env) });
  const tracerProvider = createTracerProvider({ resource: createResource(env), env, invocationEnd });
  invocationEnd.setFlush(() => tracerProvider.forceFlush());

  const factories = await importInstrumentations(names);
  await registerEsmHook(env, names.flatMap((name) => ESM_PATCHED_MODULES[name] ?? []));
  // Constructing an instrumentation enables its module hooks: after the handler's own hook.
  makeHandlerExportsPatchable(env);
  traceStreamingHandlers();
  const instrumentations = factories.map((create) => create(env, { awsLambda: invocationEnd.instrumentationConfig() }));

  tracerProvider.register({ propagator: propagator ?? null });
  registerInstrumentations({ tracerProvider, instrumentations });
  invocationEnd.listen();
  if (logCorrelation) installLogCorrelation(env);
  return tracerProvider;
}
