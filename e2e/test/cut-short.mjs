// What a cut-short invocation must look like in X-Ray, under any emulator: one handler segment,
// a fault with the cause, and the handler's spans attached to it.
import assert from 'node:assert/strict';
import { isLambdaFunctionSegment } from '../../tools/lambda-emulator/index.mjs';

/** Spans the Slow handler records (fixtures/app/functions/slow.ts). */
export const SLOW_SPANS = ['before-sleep', 'sleeping'];

/**
 * What X-Ray must hold of a cut-short invocation before assertCutShortTrace reads it, for
 * traceWith (support/xray-documents.mjs): the handler segment under `parentId` and the handler's
 * spans (where they are attached is for assertCutShortTrace to check).
 * @param {string | undefined} parentId
 */
export function cutShortDocuments(parentId) {
  const handlerOf = (nodes) => nodes.find((n) => n.kind === 'segment' && n.parentId === parentId && !isLambdaFunctionSegment(n));
  const wanted = { [`the handler segment under ${parentId ?? 'no parent'}`]: handlerOf };
  for (const name of SLOW_SPANS) wanted[name] = (nodes) => nodes.some((n) => n.name === name);
  return wanted;
}

/**
 * @param {import('../../tools/lambda-emulator/src/render/trace-model.mjs').TraceNode[]} nodes
 * @param {object} expected
 * @param {string | undefined} expected.parentId  the handler segment's parent: the function segment, or none
 * @param {string} [expected.exceptionType]
 * @param {RegExp} [expected.message]
 * @param {string} [expected.explain]       appended to failure messages
 * @returns the handler segment
 */
export function assertCutShortTrace(nodes, { parentId, exceptionType, message, explain = '' }) {
  const handlers = nodes.filter((n) => n.kind === 'segment' && n.parentId === parentId && !isLambdaFunctionSegment(n));
  assert.equal(handlers.length, 1, `one handler segment under ${parentId}, found ${handlers.length}${explain}`);
  const [handler] = handlers;
  assert.equal(handler.fault, true, `the handler segment is a fault: ${JSON.stringify(handler.doc)}${explain}`);
  const exceptions = handler.doc.cause?.exceptions ?? [];
  assert.ok(
    exceptions.some((e) => (!exceptionType || e.type === exceptionType) && (!message || message.test(e.message ?? ''))),
    `the handler segment's cause names ${exceptionType ?? ''} ${message ?? ''}: ${JSON.stringify(handler.doc.cause)}${explain}`,
  );
  for (const name of SLOW_SPANS) {
    const child = nodes.find((n) => n.name === name);
    assert.ok(child, `${name} is in X-Ray${explain}`);
    assert.equal(child.parentId, handler.id, `${name} is attached to the handler segment${explain}`);
  }
  return handler;
}
