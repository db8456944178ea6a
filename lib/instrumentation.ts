/**
 * Node.js instrumentations the preload can enable besides AWS Lambda's own, which is always on.
 * Instrumentations not enabled are never loaded, so they cost nothing at cold start.
 *
 * The library instrumentations (`PG`, `MYSQL2`, `IOREDIS`, `REDIS`, `PRISMA`, `GRAPHQL`) are
 * opt-in. They make spans only for calls within an invocation, never for a call made at INIT
 * outside the handler. `OtelTracedFunction` leaves each chosen library out of the esbuild bundle
 * (in `bundling.nodeModules`), since the instrumentation hooks the library as Node.js loads it
 * from `node_modules`; Prisma Client is the exception, traced bundled or not.
 */
export enum Instrumentation {
  /** Node.js `http` and `https`: incoming and outgoing requests. */
  HTTP = 'http',
  /** `undici`, which implements the global `fetch`. */
  UNDICI = 'undici',
  /** The AWS SDK for JavaScript v3 (and v2): a span for every AWS API call. */
  AWS_SDK = 'aws-sdk',
  /**
   * PostgreSQL through `pg` (node-postgres) 8: a span for every query and connect.
   *
   * Pools included. The statement is recorded with its placeholders (`$1`) and any value written
   * into it replaced with `?`; parameter values are never recorded. In X-Ray, each query is a
   * subsegment with an `sql` section (`sanitized_query`, database type, `host:port/database`).
   */
  PG = 'pg',
  /**
   * MySQL and MariaDB through `mysql2` 1 to 3: a span for every query.
   *
   * Callback and promise APIs, prepared statements and pools included. The statement is recorded
   * as written, with any value in it replaced with `?`; the values passed with the query are
   * never recorded. In X-Ray, each query is a subsegment with an `sql` section.
   */
  MYSQL2 = 'mysql2',
  /**
   * Redis through `ioredis` 2 to 6: a span for every command and connect.
   *
   * Each records the command and its key, not the other arguments.
   */
  IOREDIS = 'ioredis',
  /**
   * Redis through `redis` (node-redis) 4 and newer: a span for every command and connect.
   *
   * The instrumentation hooks `@redis/client`, which `redis` is made of; `MULTI` transactions
   * included. Each span records the command and its key, not the other arguments.
   */
  REDIS = 'redis',
  /**
   * Prisma ORM 7 (`@prisma/client` 7), with Prisma's own instrumentation: a span for every client operation.
   *
   * Under it, its serialization, connection and each database query, the query with its SQL
   * statement (an `sql` subsegment in X-Ray for SQL databases); Prisma passes values as
   * parameters. It patches no module: Prisma Client reads a tracing helper the instrumentation
   * puts on `globalThis`, so the client is traced bundled or not. Clients of Prisma 6 and
   * earlier are not traced.
   */
  PRISMA = 'prisma',
  /**
   * GraphQL with `graphql` (graphql-js) 14 to 16: a span for parsing, validating and executing each document.
   *
   * Under the execution, a span for each field with a resolver of its own: none for a field
   * read from its parent object, one for all the items of a list. Values written into a
   * document are recorded as `*`.
   */
  GRAPHQL = 'graphql',
}

/** The instrumentations enabled when none are chosen. */
export const DEFAULT_INSTRUMENTATIONS = [Instrumentation.HTTP, Instrumentation.UNDICI, Instrumentation.AWS_SDK];

/**
 * For each library instrumentation, the npm packages it traces: they must be loaded from
 * `node_modules`, not bundled, for its hooks to see them. `redis` lists both node-redis's entry
 * package and `@redis/client`, which the instrumentation hooks. Prisma's has none (it patches no
 * module), so `PRISMA` names the package whose absence is worth a warning in `required` only.
 */
export const LIBRARY_PACKAGES: { readonly [name: string]: { readonly unbundled: string[]; readonly required: string[] } } = {
  [Instrumentation.PG]: { unbundled: ['pg'], required: ['pg'] },
  [Instrumentation.MYSQL2]: { unbundled: ['mysql2'], required: ['mysql2'] },
  [Instrumentation.IOREDIS]: { unbundled: ['ioredis'], required: ['ioredis'] },
  [Instrumentation.REDIS]: { unbundled: ['redis', '@redis/client'], required: ['redis', '@redis/client'] },
  [Instrumentation.PRISMA]: { unbundled: [], required: ['@prisma/client'] },
  [Instrumentation.GRAPHQL]: { unbundled: ['graphql'], required: ['graphql'] },
};
