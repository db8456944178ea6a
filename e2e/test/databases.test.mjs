// Real servers, not mocks: PostgreSQL, MariaDB and Redis from the Debian packages, started on
// 127.0.0.1 for this file (test/support/database-servers.mjs) and reached from the function's
// execution environment through the emulator's hostPorts. The e2e app's Databases function, as
// synthesized with the pg, mysql2, ioredis, redis, prisma and graphql instrumentations, queries
// each of them in one invocation; the trace is read back from X-Ray (moto).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isLambdaFunctionSegment, startLocalApp } from '../../tools/lambda-emulator/index.mjs';
import { WORK_ROOT, descendants, json, keptLogs } from './harness.mjs';
import { e2eAssemblyDir } from './pipeline-fixture.mjs';
import { startDatabaseServers } from './support/database-servers.mjs';
import { traceWith } from './support/xray-documents.mjs';

// The statements of fixtures/app/functions/databases/handler.ts, as the handler runs them.
const PG_STATEMENT = 'SELECT id, customer, total FROM orders WHERE customer = $1';
const MYSQL_STATEMENT = 'SELECT sku, quantity FROM stock WHERE customer = ?';
const GRAPHQL_QUERY = 'query Greeting($name: String!) { greeting(name: $name) }';


/** What a subsegment's document says about a database call, whatever the exporter put where. */
const statementOf = (n) => n.doc.sql?.sanitized_query ?? n.doc.metadata?.default?.['db.query.text'] ?? n.doc.metadata?.default?.['db.statement'];

const describeNodes = (nodes) =>
  `\n${JSON.stringify(nodes.map((n) => ({ id: n.id, parent: n.parentId, name: n.name, ns: n.namespace, sql: n.doc.sql, statement: statementOf(n), metadata: n.doc.metadata?.default })), null, 1)}`;

describe('databases: a traced handler queries real PostgreSQL, MariaDB and Redis', () => {
  let db;
  let app;
  let functionName;
  /** The value the handler looks up everywhere: it must reach the servers, never X-Ray. */
  const customer = `customer-${randomUUID()}`;

  before(async () => {
    db = await startDatabaseServers();
    await db.postgres.psql(
      `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, total integer NOT NULL);
       ALTER TABLE orders OWNER TO ${db.postgres.user};
       INSERT INTO orders (customer, total) VALUES ('${customer}', 12), ('${customer}', 30), ('someone-else', 7);`,
    );
    await db.mariadb.sql(
      `CREATE TABLE stock (sku varchar(32) PRIMARY KEY, customer varchar(64) NOT NULL, quantity int NOT NULL);
       INSERT INTO stock VALUES ('SKU-1', '${customer}', 3), ('SKU-2', 'someone-else', 5);`,
    );
    const { logs, onLog } = keptLogs();
    const environment = {
      POSTGRES_HOST: db.postgres.host,
      POSTGRES_PORT: String(db.postgres.port),
      POSTGRES_USER: db.postgres.user,
      POSTGRES_PASSWORD: db.postgres.password,
      POSTGRES_DATABASE: db.postgres.database,
      MARIADB_HOST: db.mariadb.host,
      MARIADB_PORT: String(db.mariadb.port),
      MARIADB_USER: db.mariadb.user,
      MARIADB_PASSWORD: db.mariadb.password,
      MARIADB_DATABASE: db.mariadb.database,
      REDIS_HOST: db.redis.host,
      REDIS_PORT: String(db.redis.port),
      REDIS_PASSWORD: db.redis.password,
    };
    app = await startLocalApp({
      cdkOut: await e2eAssemblyDir(),
      workDir: join(WORK_ROOT, 'databases'),
      adjust: (fn) => (/^E2e-Databases/.test(fn.name) ? { ...fn, environment: { ...fn.environment, ...environment } } : fn),
      service: { onLog, hostPorts: db.ports },
    });
    app.service.logs = logs;
    functionName = Object.keys(app.functions).find((name) => /^E2e-Databases/.test(name));
    assert.ok(functionName, `no Databases function in the e2e app: ${Object.keys(app.functions).join(', ')}`);
  });

  after(async () => {
    try {
      await app?.stop();
    } finally {
      await db?.stop();
    }
  });

  test('one subsegment per query, with the SQL details and no parameter values', async (t) => {
    const result = await app.service.invoke(functionName, { customer });
    assert.equal(result.functionError, undefined, `${result.payload.toString()}\n${app.service.logs.slice(-40).join('\n')}\n${db.logs()}`);
    assert.deepEqual(json(result), {
      pgRows: 2,
      prismaRows: 2,
      mysqlRows: 1,
      ioredis: true,
      nodeRedis: true,
      greeting: `Hello, ${customer}!`,
      graphqlErrors: [],
    });

    const handlerOf = (trace) => {
      const nodes = trace?.nodes ?? [];
      return nodes.find((n) => n.kind === 'segment' && n.parentId === result.functionSegmentId && !isLambdaFunctionSegment(n));
    };
    // Every document asserted on below, awaited: each one is a span of its own, and the spans of
    // an invocation may reach X-Ray in more than one call.
    const underHandler = (nodes) => {
      const handler = handlerOf({ nodes });
      return handler ? descendants(nodes, handler.id) : [];
    };
    const withText = (text) => (nodes) => underHandler(nodes).some((n) => statementOf(n) === text);
    const named = (name) => (nodes) => underHandler(nodes).some((n) => n.name === name);
    const prismaQueryOf = (nodes) => underHandler(nodes).find((n) => n.name === 'prisma:client:db_query');
    const trace = await traceWith(app.reader, result.traceId, {
      'the handler segment': (nodes) => handlerOf({ nodes }),
      'the pg query': withText(PG_STATEMENT),
      'the pg connect': (nodes) => underHandler(nodes).some((n) => n.doc.sql?.url === 'pg.connect'),
      'the mysql2 query': withText(MYSQL_STATEMENT),
      'prisma:client:operation': named('prisma:client:operation'),
      'prisma:client:db_query': prismaQueryOf,
      'the pg query of the Prisma statement': (nodes) => prismaQueryOf(nodes) && underHandler(nodes).some((n) => n !== prismaQueryOf(nodes) && statementOf(n) === statementOf(prismaQueryOf(nodes))),
      'ioredis SET': withText('set e2e:ioredis:last-customer [1 other arguments]'),
      'ioredis GET': withText('get e2e:ioredis:last-customer'),
      'ioredis HELLO': named('hello'),
      'node-redis SET': withText('SET e2e:node-redis:last-customer [1 other arguments]'),
      'node-redis GET': withText('GET e2e:node-redis:last-customer'),
      'redis-connect': named('redis-connect'),
      'graphql.parse': named('graphql.parse'),
      'graphql.validate': named('graphql.validate'),
      'query Greeting': named('query Greeting'),
      'graphql.resolve greeting': named('graphql.resolve greeting'),
    }, { explain: (last) => `the documents with their statements:${describeNodes(last?.nodes ?? [])}\n${app.service.logs.slice(-40).join('\n')}\n${db.logs()}` });
    const handler = handlerOf(trace);
    const under = descendants(trace.nodes, handler.id);
    const explain = describeNodes(under);
    t.diagnostic(`subsegments under the handler:${explain}`);

    // Nothing the event brought, and no password, reaches X-Ray: no statement, attribute or metadata.
    for (const n of trace.nodes) {
      const doc = JSON.stringify(n.doc);
      assert.ok(!doc.includes(customer), `the customer value appears in X-Ray, in ${n.name}: ${doc}`);
      assert.ok(!doc.includes(db.postgres.password), `a database password appears in X-Ray, in ${n.name}: ${doc}`);
    }

    const sqlQueries = under.filter((n) => n.doc.sql?.sanitized_query !== undefined);
    const withStatement = (text) => under.filter((n) => statementOf(n) === text);

    // pg: one subsegment in the remote namespace named after the database, with the statement as
    // the handler wrote it (the value bound as $1); its connect is a subsegment without a query.
    const pgQueries = withStatement(PG_STATEMENT);
    assert.equal(pgQueries.length, 1, `one subsegment for the pg query${explain}`);
    const [pgQuery] = pgQueries;
    assert.equal(pgQuery.parentId, handler.id);
    assert.equal(pgQuery.name, db.postgres.database);
    assert.equal(pgQuery.namespace, 'remote');
    assert.deepEqual(pgQuery.doc.sql, {
      sanitized_query: PG_STATEMENT,
      database_type: 'postgresql',
      connection_string: `127.0.0.1:${db.postgres.port}/${db.postgres.database}`,
      url: `pg.query:SELECT ${db.postgres.database}`,
    });
    assert.ok(under.some((n) => n.parentId === handler.id && n.doc.sql?.url === 'pg.connect' && n.doc.sql.sanitized_query === undefined), `the pg connect${explain}`);

    // mysql2 against MariaDB: one subsegment, the prepared statement with its placeholder.
    const mysqlQueries = withStatement(MYSQL_STATEMENT);
    assert.equal(mysqlQueries.length, 1, `one subsegment for the mysql2 query${explain}`);
    const [mysqlQuery] = mysqlQueries;
    assert.equal(mysqlQuery.parentId, handler.id);
    assert.equal(mysqlQuery.name, db.mariadb.database);
    assert.equal(mysqlQuery.namespace, 'remote');
    assert.deepEqual(mysqlQuery.doc.sql, {
      sanitized_query: MYSQL_STATEMENT,
      database_type: 'mysql',
      connection_string: `127.0.0.1:${db.mariadb.port}/${db.mariadb.database}`,
      url: 'SELECT',
    });

    // Prisma: findMany is an operation subsegment; the query it compiles to SQL (with bound
    // parameters) is one db_query subsegment under it, and the pg driver under the adapter runs
    // that statement as a child of the db_query subsegment.
    const operation = under.find((n) => n.name === 'prisma:client:operation');
    assert.ok(operation, `no prisma:client:operation subsegment${explain}`);
    assert.equal(operation.doc.metadata?.default?.name, 'Order.findMany');
    const prismaQueries = under.filter((n) => n.name === 'prisma:client:db_query');
    assert.equal(prismaQueries.length, 1, `one Prisma db_query subsegment${explain}`);
    const [prismaQuery] = prismaQueries;
    assert.equal(prismaQuery.parentId, operation.id);
    assert.equal(prismaQuery.namespace, 'remote');
    assert.equal(prismaQuery.doc.sql?.database_type, 'postgresql');
    const prismaStatement = prismaQuery.doc.sql?.sanitized_query ?? '';
    assert.match(prismaStatement, /^SELECT "public"\."orders"\."id", .* FROM "public"\."orders" WHERE "public"\."orders"\."customer" = \$1 OFFSET \$2$/, `the Prisma statement${explain}`);
    const prismaDriverQueries = withStatement(prismaStatement).filter((n) => n !== prismaQuery);
    assert.equal(prismaDriverQueries.length, 1, `one pg subsegment for the Prisma statement${explain}`);
    assert.equal(prismaDriverQueries[0].parentId, prismaQuery.id, 'the pg driver runs the Prisma query under its db_query subsegment');
    assert.equal(prismaDriverQueries[0].doc.sql?.connection_string, `127.0.0.1:${db.postgres.port}/${db.postgres.database}`);

    // Exactly the four statements ran: one pg, one mysql2, Prisma's, and the pg driver's for it.
    assert.deepEqual(
      sqlQueries.map((n) => n.doc.sql.sanitized_query).sort(),
      [PG_STATEMENT, MYSQL_STATEMENT, prismaStatement, prismaStatement].sort(),
      `the SQL subsegments${explain}`,
    );

    // Redis: not SQL, so no sql object; each command is a remote subsegment whose statement keeps
    // the command and its key and leaves out the other arguments (the value, the password).
    const redisCommands = [
      ['ioredis SET', 'set', 'set e2e:ioredis:last-customer [1 other arguments]'],
      ['ioredis GET', 'get', 'get e2e:ioredis:last-customer'],
      ['node-redis SET', 'redis-SET', 'SET e2e:node-redis:last-customer [1 other arguments]'],
      ['node-redis GET', 'redis-GET', 'GET e2e:node-redis:last-customer'],
    ];
    for (const [what, name, statement] of redisCommands) {
      const commands = withStatement(statement);
      assert.equal(commands.length, 1, `one subsegment for ${what} (${statement})${explain}`);
      assert.equal(commands[0].name, name);
      assert.equal(commands[0].namespace, 'remote', `${what} is a remote call`);
      assert.equal(commands[0].doc.sql, undefined, `${what} carries no sql object`);
      assert.equal(commands[0].doc.metadata?.default?.['db.system.name'], 'redis');
      assert.equal(commands[0].parentId, handler.id);
    }
    // ioredis authenticates in its HELLO: recorded without its arguments.
    const hello = under.find((n) => n.name === 'hello');
    assert.equal(statementOf(hello ?? { doc: {} }), 'hello [4 other arguments]', `the ioredis HELLO${explain}`);
    assert.ok(under.some((n) => n.name === 'redis-connect' && n.namespace === 'remote'), `the node-redis connect${explain}`);

    // GraphQL: parse, validate, and the execution named after the operation with its source
    // (variables stay out), the resolver under it.
    for (const name of ['graphql.parse', 'graphql.validate']) {
      assert.equal(under.filter((n) => n.name === name).length, 1, `one ${name} subsegment${explain}`);
    }
    const execution = under.filter((n) => n.name === 'query Greeting');
    assert.equal(execution.length, 1, `one graphql execution subsegment${explain}`);
    assert.equal(execution[0].parentId, handler.id);
    assert.deepEqual(execution[0].doc.metadata?.default, {
      'graphql.operation.name': 'Greeting',
      'graphql.operation.type': 'query',
      'graphql.source': GRAPHQL_QUERY,
    });
    const resolver = under.find((n) => n.name === 'graphql.resolve greeting');
    assert.ok(resolver, `no resolver subsegment${explain}`);
    assert.equal(resolver.parentId, execution[0].id);
  });
});
