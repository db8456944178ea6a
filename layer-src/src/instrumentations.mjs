import { AwsLambdaInstrumentation } from '@opentelemetry/instrumentation-aws-lambda';
import { PreloadConfigError } from './config-error.mjs';
import { PRELOAD_ENABLED_INSTRUMENTATIONS_ENV } from './contract.generated.mjs';
import { parseList } from './env-list.mjs';

/**
 * How each optional instrumentation's module is loaded. Each is a separate dynamic import, built
 * into its own file of the layer: an instrumentation not chosen is never read from disk.
 * Every module exports `createInstrumentation(env)`.
 * @type {Record<string, () => Promise<{ createInstrumentation: (env: NodeJS.ProcessEnv) => import('@opentelemetry/instrumentation').Instrumentation }>>}
 */
const OPTIONAL_MODULES = {
  http: () => import('./optional-instrumentations/http.mjs'),
  undici: () => import('./optional-instrumentations/undici.mjs'),
  'aws-sdk': () => import('./optional-instrumentations/aws-sdk.mjs'),
  pg: () => import('./optional-instrumentations/pg.mjs'),
  mysql2: () => import('./optional-instrumentations/mysql2.mjs'),
  ioredis: () => import('./optional-instrumentations/ioredis.mjs'),
  redis: () => import('./optional-instrumentations/redis.mjs'),
  prisma: () => import('./optional-instrumentations/prisma.mjs'),
  graphql: () => import('./optional-instrumentations/graphql.mjs'),
};

/**
 * Modules an instrumentation patches by their own name (not through a file they require) that ES
 * module code may import directly: the ES module hook intercepts these (src/esm-hook.mjs), and
 * only these, so that other modules load at full speed. A CommonJS package imported from an ES
 * module does not pass through `require`, where the other hooks wait.
 * @type {Record<string, string[]>}
 */
export const ESM_PATCHED_MODULES = {
  http: ['http', 'https'],
  ioredis: ['ioredis'],
};

/** Always loaded: it creates the handler span and flushes spans at the end of each invocation. */
export const ALWAYS_ENABLED = 'aws-lambda';

/** Loaded when OTEL_NODE_ENABLED_INSTRUMENTATIONS is unset or empty. */
export const DEFAULT_INSTRUMENTATIONS = ['http', 'undici', 'aws-sdk'];

/** The names OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS accept. */
export const KNOWN_INSTRUMENTATIONS = [ALWAYS_ENABLED, ...Object.keys(OPTIONAL_MODULES)];

/**
 * The instrumentations to load: OTEL_NODE_ENABLED_INSTRUMENTATIONS (default http, undici,
 * aws-sdk) minus OTEL_NODE_DISABLED_INSTRUMENTATIONS, plus aws-lambda, which cannot be turned off.
 * @param {NodeJS.ProcessEnv} env
 * @returns {string[]}
 */
export function selectInstrumentations(env) {
  const enabled = readNames(env, PRELOAD_ENABLED_INSTRUMENTATIONS_ENV);
  const disabled = new Set(readNames(env, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS'));
  const chosen = (enabled.length > 0 ? enabled : DEFAULT_INSTRUMENTATIONS).filter((name) => !disabled.has(name));
  return [...new Set([ALWAYS_ENABLED, ...chosen])];
}

/**
 * Reads the chosen instrumentations' code, without enabling anything yet. Done before the ES
 * module hook is registered, so that these files load without passing through it.
 * @param {string[]} names
 * @returns {Promise<Array<(env: NodeJS.ProcessEnv, options?: {awsLambda?: object}) => import('@opentelemetry/instrumentation').Instrumentation>>}
 */
export async function importInstrumentations(names) {
  return Promise.all(names.map(async (name) => {
    if (name === ALWAYS_ENABLED) return (_env, options) => new AwsLambdaInstrumentation(options?.awsLambda);
    return (await OPTIONAL_MODULES[name]()).createInstrumentation;
  }));
}

function readNames(env, variable) {
  const names = parseList(env[variable]);
  const unknown = names.filter((name) => !KNOWN_INSTRUMENTATIONS.includes(name));
  if (unknown.length > 0) {
    throw new PreloadConfigError(variable, env[variable], `unknown instrumentation ${unknown.map((n) => `"${n}"`).join(', ')}`,
      `Use a comma-separated list of ${KNOWN_INSTRUMENTATIONS.join(', ')} (aws-lambda is always on).`);
  }
  return names;
}
