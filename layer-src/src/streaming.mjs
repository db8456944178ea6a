/**
 * Response streaming handlers (`awslambda.streamifyResponse(async (event, responseStream,
 * context) => ...)`), traced for as long as they stream.
 *
 * The AWS Lambda instrumentation recognises such a handler (the runtime marks it with
 * STREAMING_SYMBOL) but ends the handler span, and flushes, when the handler's promise settles:
 * a handler that returns before its stream ends (a pipeline it does not await, a timer that
 * writes later) gets a span that misses most of the response
 * (open-telemetry/opentelemetry-js-contrib#2827). Here the instrumented handler sees:
 *
 * - below it, the handler as a function whose promise settles when the response stream is
 *   ended (`end()`), errors or closes, or when the handler's own promise rejects: the
 *   instrumentation ends the span then, marked with the error if there is one, and flushes;
 * - above it, a copy of the runtime's response stream whose `end()` is held back until that
 *   flush is done, then passed on: the spans are with the collector before the runtime tells
 *   Lambda the response is complete, as for a buffered response. The bytes are not touched.
 *
 * What the runtime gets back is the handler's own promise, settled as the handler settled it.
 */
import { AwsLambdaInstrumentation } from '@opentelemetry/instrumentation-aws-lambda';

/** How the runtime interface client marks a streaming handler (`awslambda.streamifyResponse`). */
export const STREAMING_SYMBOL = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';

/** Invocations in progress, by the response stream the instrumented handler was given. */
const invocations = new WeakMap();

/** @param {Function} handler */
export const isStreamingHandler = (handler) => typeof handler === 'function' && handler[STREAMING_SYMBOL] === STREAM_RESPONSE;

/**
 * Makes the AWS Lambda instrumentation trace streaming handlers over their whole stream. Once per
 * process, before the instrumentation wraps the handler.
 * @param {typeof AwsLambdaInstrumentation} [Instrumentation]
 */
export function traceStreamingHandlers(Instrumentation = AwsLambdaInstrumentation) {
  const proto = Instrumentation.prototype;
  const getPatchHandler = proto._getPatchHandler;
  if (typeof getPatchHandler !== 'function' || getPatchHandler.otelStreaming) return;
  const patched = function (original, lambdaStartTime) {
    if (!isStreamingHandler(original)) return getPatchHandler.call(this, original, lambdaStartTime);
    return outerHandler(getPatchHandler.call(this, innerHandler(original), lambdaStartTime));
  };
  patched.otelStreaming = true;
  proto._getPatchHandler = patched;
}

/**
 * The handler as the instrumentation calls it, inside the handler span's context: it settles
 * when the response is over.
 * @param {Function} handler
 */
export function innerHandler(handler) {
  const inner = function (event, responseStream, context) {
    const invocation = invocations.get(responseStream);
    const result = handler.call(this, event, responseStream, context);
    if (!invocation || typeof result?.then !== 'function') return result;
    return invocation.settledBy(result);
  };
  copyMarks(handler, inner);
  return inner;
}

/**
 * The handler the runtime calls: hands the instrumented handler a response stream whose end
 * waits for the span's flush, and answers the runtime with the handler's own outcome.
 * @param {Function} instrumented
 */
export function outerHandler(instrumented) {
  // Three parameters, as the runtime's metadata reads the handler's arity.
  return function otelStreamingHandler(event, responseStream, context) {
    if (!responseStream || typeof responseStream.end !== 'function') return instrumented.call(this, event, responseStream, context);
    const invocation = new StreamingInvocation(responseStream);
    invocations.set(invocation.stream, invocation);
    let result;
    try {
      result = instrumented.call(this, event, invocation.stream, context);
    } catch (error) {
      invocation.release();
      throw error;
    }
    if (typeof result?.then !== 'function') {
      invocation.release();
      return result;
    }
    return result.then(
      () => invocation.outcome(),
      () => invocation.outcome(),
    );
  };
}

/** One streamed response: the stream handed to the handler, and how it ended. */
class StreamingInvocation {
  /** @param {object} real  the runtime's response stream */
  constructor(real) {
    this.real = real;
    /** @type {unknown[] | undefined} the arguments of the handler's end(), held back */
    this.heldEnd = undefined;
    this.released = false;
    this.finished = false;
    /** @type {((error?: unknown) => void) | undefined} */
    this.onOver = undefined;
    /** @type {Promise<unknown> | undefined} the handler's own promise */
    this.handlerResult = undefined;
    this.stream = this.#derive(real);
    // Only beside the runtime's own listener: one more 'error' listener must not keep an error
    // from crashing the process where nothing else handles it.
    if (real.listenerCount?.('error') > 0) real.on('error', (error) => this.#over(error));
    real.on?.('close', () => {
      if (!this.heldEnd && !this.real.writableFinished) this.#over(new Error('the response stream closed before it was ended'));
    });
  }

  /** A stream that is the runtime's in every way but `end()` (held) and `writableEnded`. */
  #derive(real) {
    const invocation = this;
    const stream = Object.create(real);
    Object.defineProperties(stream, {
      end: {
        configurable: true,
        writable: true,
        value(...args) {
          if (invocation.released || invocation.heldEnd) return real.end(...args);
          invocation.heldEnd = args;
          invocation.#over();
          return stream;
        },
      },
      write: {
        configurable: true,
        writable: true,
        // A write after end(): pass the end on first, so that the stream fails as it would have.
        value(...args) {
          if (invocation.heldEnd) invocation.release();
          return real.write(...args);
        },
      },
      writableEnded: {
        configurable: true,
        get: () => invocation.heldEnd !== undefined || Boolean(real.writableEnded),
      },
    });
    return stream;
  }

  /**
   * What the instrumentation waits for: resolves when the stream is ended (or, if the handler's
   * promise resolves first, once it is), rejects with the handler's error or the stream's.
   * @param {PromiseLike<unknown>} handlerResult
   */
  settledBy(handlerResult) {
    this.handlerResult = Promise.resolve(handlerResult);
    return new Promise((resolve, reject) => {
      this.onOver = (error) => (error === undefined ? resolve() : reject(error));
      if (this.finished) this.onOver(this.error);
      this.handlerResult.then(() => {}, (error) => this.#over(error ?? new Error('the handler rejected')));
    });
  }

  #over(error) {
    if (this.finished) return;
    this.finished = true;
    this.error = error;
    this.onOver?.(error);
  }

  /** Passes the held end() on to the runtime's stream. */
  release() {
    if (this.released) return;
    this.released = true;
    if (this.heldEnd) this.real.end(...this.heldEnd);
  }

  /** After the span's flush: the stream ends, and the runtime gets the handler's own outcome. */
  outcome() {
    this.release();
    return this.handlerResult;
  }
}

/** The runtime's marks (streaming, high-water mark) on a function that stands for the handler. */
function copyMarks(from, to) {
  for (const symbol of Object.getOwnPropertySymbols(from)) to[symbol] = from[symbol];
}
