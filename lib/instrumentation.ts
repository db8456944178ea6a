/**
 * Node.js instrumentations the preload can enable besides AWS Lambda's own, which is always on.
 * Instrumentations not enabled are never loaded, so they cost nothing at cold start.
 */
export enum Instrumentation {
  /** Node.js `http` and `https`: incoming and outgoing requests. */
  HTTP = 'http',
  /** `undici`, which implements the global `fetch`. */
  UNDICI = 'undici',
  /** The AWS SDK for JavaScript v3 (and v2): a span for every AWS API call. */
  AWS_SDK = 'aws-sdk',
}

/** The instrumentations enabled when none are chosen. */
export const DEFAULT_INSTRUMENTATIONS = [Instrumentation.HTTP, Instrumentation.UNDICI, Instrumentation.AWS_SDK];
