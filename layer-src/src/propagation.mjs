import {
  defaultTextMapGetter,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { AWSXRayLambdaPropagator } from '@opentelemetry/propagator-aws-xray-lambda';
import { PreloadConfigError } from './config-error.mjs';
import { parseList } from './env-list.mjs';

/** Used when OTEL_PROPAGATORS is unset or empty. */
export const DEFAULT_PROPAGATORS = ['xray-lambda', 'tracecontext'];

/** The propagators OTEL_PROPAGATORS may name. */
const HEADER_PROPAGATORS = {
  tracecontext: () => new W3CTraceContextPropagator(),
  baggage: () => new W3CBaggagePropagator(),
  // X-Amzn-Trace-Id in headers; `xray-lambda` adds the function's own segment from the environment.
  xray: () => new AWSXRayPropagator(),
  'xray-lambda': () => new AWSXRayPropagator(),
};

/**
 * Reads OTEL_PROPAGATORS and returns the global propagator, or `undefined` for `none`.
 * @param {NodeJS.ProcessEnv} env
 * @returns {import('@opentelemetry/api').TextMapPropagator | undefined}
 */
export function createPropagator(env) {
  const raw = env.OTEL_PROPAGATORS;
  let names = parseList(raw);
  if (names.length === 0) names = DEFAULT_PROPAGATORS;
  if (names.includes('none')) {
    if (names.length > 1) {
      throw new PreloadConfigError('OTEL_PROPAGATORS', raw, '"none" cannot be combined with other propagators',
        'Either set it to "none" alone or list only the propagators to use.');
    }
    return undefined;
  }
  const unknown = names.filter((name) => !(name in HEADER_PROPAGATORS));
  if (unknown.length > 0) {
    throw new PreloadConfigError('OTEL_PROPAGATORS', raw, `unknown propagator ${unknown.map((n) => `"${n}"`).join(', ')}`,
      `Use a comma-separated list of ${[...Object.keys(HEADER_PROPAGATORS), 'none'].join(', ')}.`);
  }
  const unique = [...new Set(names)];
  const headers = new CompositePropagator({ propagators: unique.map((name) => HEADER_PROPAGATORS[name]()) });
  return unique.includes('xray-lambda') ? new LambdaSegmentFirstPropagator(headers) : headers;
}

/**
 * Injects and extracts with the configured header propagators, except that when Lambda
 * provides a valid trace header in `_X_AMZN_TRACE_ID` (active tracing), the function's own
 * segment becomes the parent, so the handler span sits under Lambda's segments in X-Ray.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
 */
class LambdaSegmentFirstPropagator {
  /** @param {import('@opentelemetry/api').TextMapPropagator} headers */
  constructor(headers) {
    this.headers = headers;
    this.lambdaSegment = new AWSXRayLambdaPropagator();
  }

  inject(context, carrier, setter) {
    this.headers.inject(context, carrier, setter);
  }

  extract(context, carrier, getter) {
    const fromHeaders = this.headers.extract(context, carrier, getter);
    // An empty carrier makes the X-Ray Lambda propagator read only the environment variable.
    const fromEnvironment = trace.getSpanContext(
      this.lambdaSegment.extract(ROOT_CONTEXT, {}, defaultTextMapGetter),
    );
    if (fromEnvironment && isSpanContextValid(fromEnvironment)) {
      return trace.setSpanContext(fromHeaders, fromEnvironment);
    }
    return fromHeaders;
  }

  fields() {
    return this.headers.fields();
  }
}
