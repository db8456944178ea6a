import * as api from '@opentelemetry/api';
import * as core from '@opentelemetry/core';
import * as instrumentation from '@opentelemetry/instrumentation';

/**
 * Packages that the optional instrumentations' files of the layer take from the core file
 * instead of bundling a copy of their own (see build.mjs): one copy of each is loaded, and the
 * instrumentations share the core's context, suppression keys and module hooks.
 */
export const SHARED_PACKAGES = {
  '@opentelemetry/api': api,
  '@opentelemetry/core': core,
  '@opentelemetry/instrumentation': instrumentation,
};
