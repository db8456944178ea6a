// How the library instrumentations' spans are shaped, tested on the sources: the SQL text they
// record, parent-only spans and the database attributes the X-Ray exporter reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { shapeSpans } from '../src/client-spans.mjs';
import { sanitizeSql } from '../src/sql-text.mjs';

describe('sanitizeSql', () => {
  const cases = {
    postgresql: [
      ['SELECT * FROM orders WHERE id = $1 AND status = $2', 'SELECT * FROM orders WHERE id = $1 AND status = $2'],
      ["SELECT * FROM orders WHERE customer = 'c-42' AND total > 10.5 LIMIT 10", 'SELECT * FROM orders WHERE customer = ? AND total > ? LIMIT ?'],
      ["INSERT INTO t2 (a1, b_2) VALUES ('it''s', -3), (E'a\\'b', 1e3)", 'INSERT INTO t2 (a1, b_2) VALUES (?, -?), (?, ?)'],
      // A backslash is itself in a standard string: the string ends at the quote after it.
      ["SELECT 'C:\\' AS path, 'secret' AS s", 'SELECT ? AS path, ? AS s'],
      ['SELECT "Order 2"."Total 3" FROM "Order 2"', 'SELECT "Order 2"."Total 3" FROM "Order 2"'],
      ["SELECT $$it's 42$$, $tag$x$tag$, x'0F', 0xFF", 'SELECT ?, ?, ?, ?'],
      ["SELECT 1 -- the answer is '42'\n/* keep 7 */ FROM t", "SELECT ? -- the answer is '42'\n/* keep 7 */ FROM t"],
      ["SELECT données FROM tâche WHERE n = 'é'", 'SELECT données FROM tâche WHERE n = ?'],
    ],
    mysql: [
      ['SELECT * FROM orders WHERE id = ? AND status = ?', 'SELECT * FROM orders WHERE id = ? AND status = ?'],
      ['SELECT * FROM `order 2` WHERE customer = "c-42" AND note = \'it\\\'s\'', 'SELECT * FROM `order 2` WHERE customer = ? AND note = ?'],
      ["SELECT _utf8mb4'x', X'0F', 3.14 # 42 is kept\nFROM t", "SELECT ?, ?, ? # 42 is kept\nFROM t"],
    ],
  };
  for (const [dialect, examples] of Object.entries(cases)) {
    for (const [text, expected] of examples) {
      it(`${dialect}: ${JSON.stringify(text)}`, () => assert.equal(sanitizeSql(text, dialect), expected));
    }
  }

  it('passes a missing statement through', () => {
    assert.equal(sanitizeSql(undefined, 'postgresql'), undefined);
  });
});

/** An instrumentation-like object whose tracer comes from setTracerProvider, as InstrumentationBase's does. */
function fakeInstrumentation() {
  return {
    tracer: undefined,
    setTracerProvider(provider) { this.tracer = provider.getTracer('test-instrumentation'); },
  };
}

function setUp(options) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const instrumentation = shapeSpans(fakeInstrumentation(), options);
  instrumentation.setTracerProvider(provider);
  const parent = provider.getTracer('test').startSpan('handler');
  return { exporter, tracer: instrumentation.tracer, parent, inParent: trace.setSpan(ROOT_CONTEXT, parent) };
}

describe('shapeSpans', () => {
  it('requireParentSpan: no span outside a parent, a child span inside one', () => {
    const { exporter, tracer, inParent, parent } = setUp({ requireParentSpan: true });
    const orphan = tracer.startSpan('at init', {}, ROOT_CONTEXT);
    assert.equal(orphan.isRecording(), false);
    orphan.end();
    const child = tracer.startSpan('in handler', {}, inParent);
    child.end();
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name), ['in handler']);
    assert.equal(spans[0].parentSpanContext.spanId, parent.spanContext().spanId);
  });

  it('requireParentSpan: a span under a skipped one is skipped too', () => {
    const { exporter, tracer } = setUp({ requireParentSpan: true });
    const skipped = tracer.startSpan('at init', {}, ROOT_CONTEXT);
    tracer.startSpan('under it', {}, trace.setSpan(ROOT_CONTEXT, skipped)).end();
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });

  it('startActiveSpan makes the span active for the callback, and returns what it returns', () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const { exporter, tracer, inParent } = setUp({ requireParentSpan: true });
      const result = context.with(inParent, () => tracer.startActiveSpan('op', { attributes: { a: 1 } }, (span) => {
        assert.equal(trace.getActiveSpan(), span);
        span.end();
        return 'done';
      }));
      assert.equal(result, 'done');
      assert.equal(tracer.startActiveSpan('orphan', (span) => span.isRecording()), false);
      assert.deepEqual(exporter.getFinishedSpans().map((s) => [s.name, s.attributes.a]), [['op', 1]]);
    } finally {
      context.disable();
    }
  });

  it('xrayDatabaseAttributes: the stable database attributes are copied to the names the X-Ray exporter reads', () => {
    const { exporter, tracer, inParent } = setUp({ xrayDatabaseAttributes: true });
    const span = tracer.startSpan('SELECT orders', {
      attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'orders', 'server.address': 'db.internal', 'server.port': 5432 },
    }, inParent);
    // Set after the start, as instrumentation-pg does.
    span.setAttribute('db.query.text', 'SELECT * FROM orders WHERE id = $1');
    span.end();
    assert.deepEqual(exporter.getFinishedSpans()[0].attributes, {
      'db.system.name': 'postgresql',
      'db.namespace': 'orders',
      'server.address': 'db.internal',
      'server.port': 5432,
      'db.query.text': 'SELECT * FROM orders WHERE id = $1',
      'db.system': 'postgresql',
      'db.statement': 'SELECT * FROM orders WHERE id = $1',
      'db.name': 'orders',
      'db.connection_string': 'db.internal:5432',
    });
  });

  it('xrayDatabaseAttributes: attributes already set are kept, and other spans are left as they are', () => {
    const { exporter, tracer, inParent } = setUp({ xrayDatabaseAttributes: true });
    tracer.startSpan('query', { attributes: { 'db.query.text': 'SELECT ?', 'db.statement': 'own' } }, inParent).end();
    tracer.startSpan('other', { attributes: { 'graphql.source': '{ a }' } }, inParent).end();
    const [query, other] = exporter.getFinishedSpans();
    assert.deepEqual(query.attributes, { 'db.query.text': 'SELECT ?', 'db.statement': 'own' });
    assert.deepEqual(other.attributes, { 'graphql.source': '{ a }' });
  });

  it('without options, spans are made as the tracer makes them', () => {
    const { exporter, tracer } = setUp({});
    tracer.startSpan('root', { attributes: { 'db.query.text': 'SELECT ?' } }, ROOT_CONTEXT).end();
    assert.deepEqual(exporter.getFinishedSpans().map((s) => [s.name, Object.keys(s.attributes)]), [['root', ['db.query.text']]]);
  });
});
