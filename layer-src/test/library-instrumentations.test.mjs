// The opt-in library instrumentations (pg, mysql2, ioredis, redis, graphql, prisma) trace a
// handler bundled the way the CDK's NodejsFunction bundles it, with the library left out of the
// bundle as OtelTracedFunction does for each chosen instrumentation (bundling.nodeModules). The
// database clients connect to a loopback port nothing listens on: the refused connection still
// makes the spans, with an error, under the handler span.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { supportsSyncHooks } from 'import-in-the-middle/supports-sync-hooks.mjs';
import { bundleHandler, closedLoopbackPort, NODEJS_FUNCTION_BUNDLINGS } from './support/bundle-handler.mjs';
import { createTaskRoot, lambdaEnvironment, preloadInit, runHandler } from './support/run-handler.mjs';
import { xrayTraceHeader } from './support/xray.mjs';
import { useStandIns } from './support/stand-ins.mjs';

const ERROR = 2; // SpanStatusCode.ERROR
const CLIENT = 3; // SpanKind.CLIENT in OTLP

/** What the X-Ray exporter turns into an `sql` subsegment: db.system, db.statement, db.name, db.connection_string. */
function assertXraySql(span, { system, statement, database, port }) {
  assert.equal(span.attributes['db.system'], system);
  assert.equal(span.attributes['db.statement'], statement);
  assert.equal(span.attributes['db.query.text'], statement);
  assert.equal(span.attributes['db.name'], database);
  assert.equal(span.attributes['db.connection_string'], `127.0.0.1:${port}`);
}

const LIBRARIES = {
  pg: {
    scope: '@opentelemetry/instrumentation-pg',
    source: `
import pg from 'pg';

export const handler = async (event: { port: number }) => {
  const client = new pg.Client({ host: '127.0.0.1', port: event.port, user: 'app', password: 'secret', database: 'orders' });
  const connect = client.connect().then(() => 'connected', (error) => error.code);
  const query = client.query("SELECT id FROM orders WHERE customer = $1 AND status = 'open' LIMIT 10", ['customer-42'])
    .then(() => 'answered', (error) => error.message);
  return { connect: await connect, query: await query };
};
`,
    result: { connect: 'ECONNREFUSED', query: 'Connection terminated unexpectedly' },
    check(spans, { port }) {
      const connect = spans.find((s) => s.name === 'pg.connect');
      const query = spans.find((s) => s.name !== 'pg.connect');
      assert.ok(connect && query, `pg spans: ${spans.map((s) => s.name).join(', ')}`);
      assert.equal(connect.status.code, ERROR);
      assert.equal(query.status.code, ERROR);
      assert.equal(query.kind, CLIENT);
      assertXraySql(query, {
        system: 'postgresql',
        statement: 'SELECT id FROM orders WHERE customer = $1 AND status = ? LIMIT ?',
        database: 'orders',
        port,
      });
    },
  },
  mysql2: {
    scope: '@opentelemetry/instrumentation-mysql2',
    source: `
import mysql from 'mysql2';

export const handler = async (event: { port: number }) => {
  const connection = mysql.createConnection({ host: '127.0.0.1', port: event.port, user: 'app', password: 'secret', database: 'orders' });
  connection.on('error', () => {});
  const query = await new Promise((resolve) => {
    connection.query("SELECT id FROM orders WHERE customer = ? AND status = 'open' LIMIT 10", ['customer-42'],
      (error) => resolve(error ? error.code : 'answered'));
  });
  return { query };
};
`,
    result: { query: 'ECONNREFUSED' },
    check(spans, { port }) {
      assert.equal(spans.length, 1, `mysql2 spans: ${spans.map((s) => s.name).join(', ')}`);
      const [query] = spans;
      assert.equal(query.name, 'SELECT');
      assert.equal(query.status.code, ERROR);
      assert.equal(query.kind, CLIENT);
      assertXraySql(query, {
        system: 'mysql',
        statement: 'SELECT id FROM orders WHERE customer = ? AND status = ? LIMIT ?',
        database: 'orders',
        port,
      });
    },
  },
  ioredis: {
    scope: '@opentelemetry/instrumentation-ioredis',
    source: `
import Redis from 'ioredis';

export const handler = async (event: { port: number }) => {
  // Connects at once, and queues the command until the connection fails.
  const redis = new Redis({ host: '127.0.0.1', port: event.port, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  const get = await redis.get('order:42').then(() => 'answered', (error) => error.message);
  return { get };
};
`,
    result: { get: 'Connection is closed.' },
    check(spans) {
      const connect = spans.find((s) => s.name === 'connect');
      const get = spans.find((s) => s.name === 'get');
      assert.ok(connect && get, `ioredis spans: ${spans.map((s) => s.name).join(', ')}`);
      assert.equal(get.status.code, ERROR);
      assert.equal(get.kind, CLIENT);
      assert.equal(get.attributes['db.system.name'], 'redis');
      assert.equal(get.attributes['db.query.text'], 'get order:42');
    },
  },
  redis: {
    scope: '@opentelemetry/instrumentation-redis',
    source: `
import { createClient } from 'redis';

export const handler = async (event: { port: number }) => {
  const client = createClient({ socket: { host: '127.0.0.1', port: event.port, reconnectStrategy: false } });
  client.on('error', () => {});
  const connect = client.connect().then(() => 'connected', (error) => error.code);
  // Queued until the connection fails.
  const get = client.get('order:42').then(() => 'answered', (error) => error.code);
  return { connect: await connect, get: await get };
};
`,
    result: { connect: 'ECONNREFUSED', get: 'ECONNREFUSED' },
    check(spans) {
      const names = spans.map((s) => s.name).sort();
      assert.deepEqual(names, ['redis-GET', 'redis-connect'], `redis spans: ${names.join(', ')}`);
      const get = spans.find((s) => s.name === 'redis-GET');
      assert.equal(spans.find((s) => s.name === 'redis-connect').status.code, ERROR);
      assert.equal(get.status.code, ERROR);
      assert.equal(get.kind, CLIENT);
      assert.equal(get.attributes['db.system.name'], 'redis');
      assert.equal(get.attributes['db.query.text'], 'GET order:42');
    },
  },
  graphql: {
    scope: '@opentelemetry/instrumentation-graphql',
    source: `
import { buildSchema, graphql } from 'graphql';

// Parsed at INIT, outside any invocation: no span.
const schema = buildSchema('type Item { sku: String! } type Order { id: ID! total: Float! items: [Item!]! } type Query { order(id: ID!): Order }');
const rootValue = { order: ({ id }: { id: string }) => ({ id, total: 9.5, items: [{ sku: 'a-1' }, { sku: 'b-2' }] }) };

export const handler = async () => {
  const { data, errors } = await graphql({ schema, rootValue, source: 'query Order { order(id: "42") { id total items { sku } } }' });
  return { data, errors };
};
`,
    result: { data: { order: { id: '42', total: 9.5, items: [{ sku: 'a-1' }, { sku: 'b-2' }] } } },
    check(spans) {
      const names = spans.map((s) => s.name).sort();
      // One span for the resolver of order; none for fields read from their object, none per list item.
      assert.deepEqual(names, ['graphql.parse', 'graphql.resolve order', 'graphql.validate', 'query Order'], `graphql spans: ${names.join(', ')}`);
      const execute = spans.find((s) => s.name === 'query Order');
      assert.equal(execute.attributes['graphql.operation.name'], 'Order');
      assert.doesNotMatch(execute.attributes['graphql.source'], /42/, 'values in the document are not recorded');
    },
  },
};

describe('library instrumentations, handler bundled like NodejsFunction with the library left out', () => {
  const standIns = useStandIns();

  for (const [instrumentation, library] of Object.entries(LIBRARIES)) {
    for (const [kind, bundling] of Object.entries(NODEJS_FUNCTION_BUNDLINGS)) {
      it(`${instrumentation}, ${kind}: the library's calls are spans under the handler span`, async () => {
        const port = await closedLoopbackPort();
        const { taskRoot, bundle } = await bundleHandler({ source: library.source, external: [instrumentation], ...bundling });
        assert.ok(new RegExp(`["']${instrumentation}["']`).test(bundle), 'the bundle loads the library from outside');
        assert.ok(!bundle.includes(`// node_modules/${instrumentation}/`), 'the library is not in the bundle');
        const functionName = `${instrumentation}-${bundling.format}-${bundling.loader ?? 'auto'}`;
        const trace = xrayTraceHeader({ sampled: true });
        const { results } = await runHandler({
          env: {
            ...lambdaEnvironment({ taskRoot, handler: 'index.handler', functionName }),
            OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
            OTEL_NODE_ENABLED_INSTRUMENTATIONS: instrumentation,
          },
          invocations: [{ event: { port }, traceHeader: trace.header }],
          loader: bundling.loader,
        });
        assert.deepEqual(results, [{ result: library.result }]);

        const all = await standIns.collector.waitFor((spans) => spans.some((s) => s.traceId === trace.traceId && s.parentSpanId === trace.parentSpanId));
        const handlerSpan = all.find((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-aws-lambda');
        const ofFunction = all.filter((s) => s.resource['service.name'] === functionName);
        const librarySpans = ofFunction.filter((s) => s.scope === library.scope);
        assert.ok(librarySpans.length > 0, `no ${library.scope} span; spans: ${ofFunction.map((s) => `${s.scope} ${s.name}`).join(', ')}`);
        for (const span of librarySpans) {
          assert.equal(span.traceId, trace.traceId, `${span.name} is in the invocation's trace`);
        }
        const direct = librarySpans.filter((s) => s.parentSpanId === handlerSpan.spanId);
        assert.ok(direct.length > 0, 'the library spans hang under the handler span');
        assert.ok(!JSON.stringify(librarySpans).includes('customer-42'), 'no query parameter value is recorded');
        library.check(librarySpans, { port });
      });
    }
  }

  // Why OtelTracedFunction leaves the library out: the same handler with graphql bundled in.
  it('graphql bundled into the handler is not traced', async () => {
    const { taskRoot, bundle } = await bundleHandler({ source: LIBRARIES.graphql.source, ...NODEJS_FUNCTION_BUNDLINGS['CommonJS bundle'] });
    assert.ok(bundle.includes('// node_modules/graphql/execution/execute.js'), 'graphql is in the bundle');
    const functionName = 'graphql-bundled';
    const trace = xrayTraceHeader({ sampled: true });
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler', functionName }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'graphql',
      },
      invocations: [{ event: {}, traceHeader: trace.header }],
    });
    assert.deepEqual(results, [{ result: LIBRARIES.graphql.result }]);
    const all = await standIns.collector.waitFor((spans) => spans.some((s) => s.traceId === trace.traceId && s.parentSpanId === trace.parentSpanId));
    assert.deepEqual(all.filter((s) => s.resource['service.name'] === functionName).map((s) => s.scope), ['@opentelemetry/instrumentation-aws-lambda']);
  });
});

// Prisma's instrumentation patches no module: Prisma Client reads a tracing helper the
// instrumentation puts on globalThis, so the client is traced bundled whole into the handler. The
// client is Prisma 7's, generated from test/fixtures/prisma/schema.prisma, querying through the
// pg driver adapter; its generated code reads import.meta, so it is bundled as an ES module.
describe('prisma, a Prisma Client bundled whole into an ES module bundle', () => {
  const standIns = useStandIns();
  const client = fileURLToPath(new URL('./fixtures/prisma/client/client.ts', import.meta.url));

  it('the operation and its query are spans under the handler span, the query with its statement; none at INIT', async () => {
    const port = await closedLoopbackPort();
    const { taskRoot, bundle } = await bundleHandler({
      source: `
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from ${JSON.stringify(client)};

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: \`postgresql://app:secret@127.0.0.1:\${process.env.DATABASE_PORT}/orders\` }) });
// At INIT, outside any invocation: no span.
await prisma.$connect().catch(() => {});

export const handler = async () => {
  try {
    await prisma.order.findMany({ where: { customer: 'customer-42' } });
    return 'answered';
  } catch (error) {
    const message = (error as Error).message;
    // The helper is only where Prisma 7 clients look for it, not under the key earlier clients read.
    return { query: message.includes("Can't reach database server") ? 'unreachable' : message, helpers: Object.keys(globalThis).filter((key) => key.endsWith('PRISMA_INSTRUMENTATION')) };
  }
};
`,
      ...NODEJS_FUNCTION_BUNDLINGS['ES module bundle'],
    });
    assert.ok(bundle.includes('prisma:client'), 'Prisma Client is in the bundle');
    const functionName = 'prisma-esm';
    const trace = xrayTraceHeader({ sampled: true });
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler', functionName }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'prisma',
        DATABASE_PORT: String(port),
      },
      invocations: [{ event: {}, traceHeader: trace.header }],
    });
    assert.deepEqual(results, [{ result: { query: 'unreachable', helpers: ['V7_PRISMA_INSTRUMENTATION'] } }]);

    const all = await standIns.collector.waitFor((spans) => spans.some((s) => s.traceId === trace.traceId && s.parentSpanId === trace.parentSpanId));
    const handlerSpan = all.find((s) => s.traceId === trace.traceId && s.scope === '@opentelemetry/instrumentation-aws-lambda');
    const prismaSpans = all.filter((s) => s.resource['service.name'] === functionName && s.scope === 'prisma');
    assert.ok(prismaSpans.every((s) => s.traceId === trace.traceId), 'no Prisma span outside the invocation');
    const operation = prismaSpans.find((s) => s.name === 'prisma:client:operation');
    const query = prismaSpans.find((s) => s.name === 'prisma:client:db_query');
    assert.ok(operation && query, `Prisma spans: ${prismaSpans.map((s) => s.name).join(', ')}`);
    assert.equal(operation.parentSpanId, handlerSpan.spanId);
    assert.equal(operation.attributes.name, 'Order.findMany');
    assert.equal(query.attributes['db.system'], 'postgresql');
    assert.match(query.attributes['db.statement'], /^SELECT .* FROM "public"\."Order" WHERE "public"\."Order"\."customer" = \$1/);
    assert.ok(!JSON.stringify(prismaSpans).includes('customer-42'), 'no query parameter value is recorded');
  });
});

// The recorder uses module.registerHooks, which only works reliably from Node.js 22.22.3 / 24.11.1.
describe('library instrumentations are read only when chosen', { skip: supportsSyncHooks() ? false : `module.registerHooks is unreliable on Node.js ${process.version}` }, () => {
  const standIns = useStandIns();
  const recorder = fileURLToPath(new URL('./support/record-loaded-modules.mjs', import.meta.url));
  const libraryFiles = Object.keys(LIBRARIES).concat('prisma').map((name) => `optional-instrumentations/${name}.mjs`);

  /** The optional instrumentation files of the layer read by one invocation with OTEL_NODE_ENABLED_INSTRUMENTATIONS=`enabled`. */
  async function instrumentationFilesRead(enabled) {
    const record = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'otel-preload-loaded-')), 'loaded.json');
    const taskRoot = createTaskRoot({ 'index.js': "exports.handler = async () => 'ok';\n" });
    const { results } = await runHandler({
      env: {
        ...lambdaEnvironment({ taskRoot, handler: 'index.handler' }),
        OTEL_EXPORTER_OTLP_ENDPOINT: standIns.collector.endpoint,
        ...(enabled === undefined ? {} : { OTEL_NODE_ENABLED_INSTRUMENTATIONS: enabled }),
        RECORD_LOADED_MODULES_TO: record,
      },
      invocations: [{ event: {} }],
      extraNodeOptions: `--import ${recorder}`,
    });
    assert.deepEqual(results, [{ result: 'ok' }]);
    const preloadDir = path.dirname(preloadInit);
    return JSON.parse(fs.readFileSync(record, 'utf8'))
      .filter((url) => url.startsWith('file:'))
      .map((url) => path.relative(preloadDir, fileURLToPath(url)))
      .filter((file) => file.startsWith('optional-instrumentations/'))
      .sort();
  }

  it('the default set reads none of them', async () => {
    const files = await instrumentationFilesRead(undefined);
    assert.deepEqual(files, ['optional-instrumentations/aws-sdk.mjs', 'optional-instrumentations/http.mjs', 'optional-instrumentations/undici.mjs']);
    assert.ok(files.every((file) => !libraryFiles.includes(file)));
  });

  it('each chosen one reads its own file only', async () => {
    assert.deepEqual(await instrumentationFilesRead('pg,graphql'), ['optional-instrumentations/graphql.mjs', 'optional-instrumentations/pg.mjs']);
    assert.deepEqual(await instrumentationFilesRead('prisma'), ['optional-instrumentations/prisma.mjs']);
  });
});
