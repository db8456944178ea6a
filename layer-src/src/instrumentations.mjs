import { PreloadConfigError } from './config-error.mjs';
import { parseList } from './env-list.mjs';

/**
 * How each instrumentation the preload offers is loaded. Every one is a separate dynamic
 * import, bundled into its own chunk: an instrumentation not chosen is never read from disk.
 * @type {Record<string, (env: NodeJS.ProcessEnv) => Promise<import('@opentelemetry/instrumentation').Instrumentation>>}
 */
const LOADERS = {
  'aws-lambda': async () => {
    const { AwsLambdaInstrumentation } = exportsOf(await import('@opentelemetry/instrumentation-aws-lambda'));
    return new AwsLambdaInstrumentation();
  },
  http: async (env) => {
    const { HttpInstrumentation } = exportsOf(await import('@opentelemetry/instrumentation-http'));
    return new HttpInstrumentation({
      ignoreOutgoingRequestHook: (request) => isRuntimeApiRequest(env, request.hostname ?? request.host, request.port),
    });
  },
  undici: async (env) => {
    const { UndiciInstrumentation } = exportsOf(await import('@opentelemetry/instrumentation-undici'));
    return new UndiciInstrumentation({
      ignoreRequestHook: (request) => isRuntimeApiRequest(env, ...splitOrigin(request.origin)),
    });
  },
  'aws-sdk': async () => {
    const { AwsInstrumentation } = exportsOf(await import('@opentelemetry/instrumentation-aws-sdk'));
    // One span per AWS call: the HTTP request underneath it is not traced a second time.
    return new AwsInstrumentation({ suppressInternalInstrumentation: true });
  },
};

/** Always loaded: it creates the handler span and flushes spans at the end of each invocation. */
export const ALWAYS_ENABLED = 'aws-lambda';

/** Loaded when OTEL_NODE_ENABLED_INSTRUMENTATIONS is unset or empty. */
export const DEFAULT_INSTRUMENTATIONS = ['http', 'undici', 'aws-sdk'];

/** The names OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS accept. */
export const KNOWN_INSTRUMENTATIONS = Object.keys(LOADERS);

/**
 * The instrumentations to load: OTEL_NODE_ENABLED_INSTRUMENTATIONS (default http, undici,
 * aws-sdk) minus OTEL_NODE_DISABLED_INSTRUMENTATIONS, plus aws-lambda, which cannot be turned off.
 * @param {NodeJS.ProcessEnv} env
 * @returns {string[]}
 */
export function selectInstrumentations(env) {
  const enabled = readNames(env, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS');
  const disabled = new Set(readNames(env, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS'));
  const chosen = (enabled.length > 0 ? enabled : DEFAULT_INSTRUMENTATIONS).filter((name) => !disabled.has(name));
  return [...new Set([ALWAYS_ENABLED, ...chosen])];
}

/**
 * Imports and constructs the chosen instrumentations. Constructing one enables its module hooks,
 * so this must finish before the handler module is loaded.
 * @param {string[]} names
 * @param {NodeJS.ProcessEnv} env
 */
export function loadInstrumentations(names, env) {
  return Promise.all(names.map((name) => LOADERS[name](env)));
}

/**
 * A package published only as CommonJS arrives, once split into its own chunk, as the default
 * export of the chunk; a package with an ES module build arrives with named exports.
 */
function exportsOf(namespace) {
  return namespace.default ?? namespace;
}

function readNames(env, variable) {
  const names = parseList(env[variable]);
  const unknown = names.filter((name) => !(name in LOADERS));
  if (unknown.length > 0) {
    throw new PreloadConfigError(variable, env[variable], `unknown instrumentation ${unknown.map((n) => `"${n}"`).join(', ')}`,
      `Use a comma-separated list of ${KNOWN_INSTRUMENTATIONS.join(', ')} (aws-lambda is always on).`);
  }
  return names;
}

/**
 * The runtime's own long-polling calls to the Lambda Runtime API are not part of any invocation.
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
function isRuntimeApiRequest(env, host, port) {
  const runtimeApi = env.AWS_LAMBDA_RUNTIME_API;
  if (!runtimeApi || !host) return false;
  return runtimeApi === (port ? `${host}:${port}` : host);
}

function splitOrigin(origin) {
  try {
    const url = new URL(String(origin));
    return [url.hostname, url.port];
  } catch {
    return [undefined, undefined];
  }
}
