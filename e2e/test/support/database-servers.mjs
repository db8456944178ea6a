// Real database servers for the e2e suite, from the Debian packages e2e/setup.sh installs:
// PostgreSQL, MariaDB and Redis, each on 127.0.0.1 on a free port, with a fresh data directory
// under the system's temporary directory owned by the server's own system user (PostgreSQL refuses
// to run as root). No system service is used or touched. `stop()` ends every server and removes
// every data directory; a server still running when this process exits is killed.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../tools/lambda-emulator/index.mjs';

/** Names of the database, the user and the password every server is given. */
export const DATABASE = 'e2e';
export const USER = 'e2e_app';
export const PASSWORD = 'e2e-app-password';

const MARIADB_DAEMON = '/usr/sbin/mariadbd';
const MARIADB_INSTALL_DB = '/usr/bin/mariadb-install-db';
const MARIADB_CLIENT = '/usr/bin/mariadb';
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';

/** The newest PostgreSQL of the Debian packages: /usr/lib/postgresql/<major>/bin (never a binary on the PATH). */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres'))) : [];
  if (majors.length === 0) return undefined;
  return join(root, String(Math.max(...majors.map(Number))), 'bin');
}

/** What is missing to run the servers, as sentences (empty when everything is installed). */
export function missingDatabaseServers() {
  const missing = [];
  if (!postgresBinDir()) missing.push('PostgreSQL (/usr/lib/postgresql/<major>/bin/postgres; Debian package postgresql)');
  for (const [file, pkg] of [[MARIADB_DAEMON, 'mariadb-server'], [MARIADB_INSTALL_DB, 'mariadb-server'], [MARIADB_CLIENT, 'mariadb-client'], [REDIS_SERVER, 'redis-server'], [REDIS_CLI, 'redis-tools']]) {
    if (!existsSync(file)) missing.push(`${file} (Debian package ${pkg})`);
  }
  for (const user of ['postgres', 'mysql', 'redis']) {
    if (systemUser(user) === undefined) missing.push(`the system user ${user} (made by its server's Debian package)`);
  }
  return missing;
}

function systemUser(name) {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** A long-running server process whose output is kept for diagnosis. */
class ServerProcess {
  constructor(name, command, args, options = {}) {
    this.name = name;
    this.logs = [];
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.exitInfo = undefined;
    this.exited.then((info) => {
      this.exitInfo = info;
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.on('data', (chunk) => {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          this.logs.push(line);
          if (process.env.E2E_VERBOSE) console.error(`[${name}] ${line}`);
        }
      });
    }
    this.killOnExit = () => this.child.kill('SIGKILL');
    process.once('exit', this.killOnExit);
  }

  /** Asks the server to stop with `signal`, then kills it after `graceMs`. */
  async stop(signal = 'SIGTERM', graceMs = 10_000) {
    process.removeListener('exit', this.killOnExit);
    if (this.exitInfo) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  tail(n = 20) {
    return this.logs.slice(-n).join('\n');
  }
}

/** Runs a short command to completion and resolves with its stdout; rejects with its output when it fails. */
async function run(command, args, options = {}) {
  try {
    const { stdout } = await promisify(execFile)(command, args, { encoding: 'utf8', timeout: 60_000, ...options });
    return stdout;
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).toString().trim()}`);
  }
}

/** Calls `check` until it resolves, or throws naming the server and its last output. */
async function waitReady(server, check, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < until) {
    if (server.exitInfo) throw new Error(`${server.name} exited (${JSON.stringify(server.exitInfo)}) before it was ready:\n${server.tail()}`);
    try {
      return await check();
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${server.name} was not ready within ${timeoutMs} ms (${lastError?.message}):\n${server.tail()}`);
}

/** A data directory under the temporary directory, owned by a system user. */
function dataDir(root, name, owner) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, owner.uid, owner.gid);
  return dir;
}

async function startPostgres(root, stack) {
  const bin = postgresBinDir();
  const owner = systemUser('postgres');
  const dir = dataDir(root, 'postgres', owner);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'superuser-password');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  chownSync(pwfile, owner.uid, owner.gid);
  const asPostgres = { uid: owner.uid, gid: owner.gid, cwd: dir, env: { PATH: process.env.PATH, LANG: 'C.UTF-8' } };
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], asPostgres);
  const port = await freePort();
  const server = new ServerProcess('postgres', join(bin, 'postgres'), [
    '-D', data,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${dir}`,
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
  ], asPostgres);
  // SIGINT: PostgreSQL's fast shutdown.
  stack.push(() => server.stop('SIGINT'));
  const psql = (sql, database = 'postgres') =>
    run(join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql], asPostgres);
  await waitReady(server, async () => psql('SELECT 1'));
  await psql(`CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`);
  await psql(`CREATE DATABASE ${DATABASE} OWNER ${USER}`);
  return { host: '127.0.0.1', port, user: USER, password: PASSWORD, database: DATABASE, server, psql: (sql) => psql(sql, DATABASE) };
}

async function startMariadb(root, stack) {
  const owner = systemUser('mysql');
  const dir = dataDir(root, 'mariadb', owner);
  const data = join(dir, 'data');
  const socket = join(dir, 'mariadbd.sock');
  await run(MARIADB_INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve'], { cwd: dir });
  const port = await freePort();
  const server = new ServerProcess('mariadb', MARIADB_DAEMON, [
    '--no-defaults',
    `--datadir=${data}`,
    '--user=mysql',
    '--bind-address=127.0.0.1',
    `--port=${port}`,
    `--socket=${socket}`,
    `--pid-file=${join(dir, 'mariadbd.pid')}`,
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    '--innodb-flush-log-at-trx-commit=0',
  ], { cwd: dir });
  stack.push(() => server.stop('SIGTERM'));
  // root over the Unix socket, authenticated as this process's user (root).
  const mariadb = (sql, database) => run(MARIADB_CLIENT, ['--no-defaults', `--socket=${socket}`, '-u', 'root', ...(database ? ['-D', database] : []), '-e', sql]);
  await waitReady(server, async () => mariadb('SELECT 1'));
  await mariadb(`CREATE DATABASE ${DATABASE}; CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON ${DATABASE}.* TO '${USER}'@'127.0.0.1'`);
  return { host: '127.0.0.1', port, user: USER, password: PASSWORD, database: DATABASE, server, sql: (sql) => mariadb(sql, DATABASE) };
}

async function startRedis(root, stack) {
  const owner = systemUser('redis');
  const dir = dataDir(root, 'redis', owner);
  const port = await freePort();
  const server = new ServerProcess('redis', REDIS_SERVER, [
    '--bind', '127.0.0.1',
    '--port', String(port),
    '--dir', dir,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--requirepass', PASSWORD,
  ], { uid: owner.uid, gid: owner.gid, cwd: dir });
  stack.push(() => server.stop('SIGTERM'));
  const cli = (...args) => run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', PASSWORD, ...args]);
  await waitReady(server, async () => {
    if ((await cli('PING')).trim() !== 'PONG') throw new Error('no PONG');
  });
  return { host: '127.0.0.1', port, password: PASSWORD, server, cli };
}

/**
 * Starts PostgreSQL, MariaDB and Redis on 127.0.0.1, each with the database `e2e` and the user
 * `e2e_app` (Redis: that password). What was started is stopped again when a later start fails.
 */
export async function startDatabaseServers() {
  const missing = missingDatabaseServers();
  if (missing.length) throw new Error(`missing (run e2e/setup.sh as root): ${missing.join('; ')}`);
  const root = mkdtempSync(join(tmpdir(), 'e2e-databases-'));
  // The servers' own users must reach their data directories.
  chownSync(root, 0, 0);
  execFileSync('chmod', ['755', root]);
  const stack = [];
  const stop = async () => {
    const errors = [];
    for (const step of stack.reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    stack.length = 0;
    rmSync(root, { recursive: true, force: true });
    if (errors.length) throw new AggregateError(errors, 'stopping the database servers');
  };
  try {
    const started = await Promise.allSettled([startPostgres(root, stack), startMariadb(root, stack), startRedis(root, stack)]);
    const failed = started.filter((s) => s.status === 'rejected').map((s) => s.reason);
    if (failed.length) throw failed.length === 1 ? failed[0] : new AggregateError(failed, failed.map((e) => e.message).join('\n'));
    const [postgres, mariadb, redis] = started.map((s) => s.value);
    return {
      postgres,
      mariadb,
      redis,
      ports: [postgres.port, mariadb.port, redis.port],
      /** The last lines each server printed, for a failing test's message. */
      logs: () => [postgres, mariadb, redis].map((s) => `--- ${s.server.name}\n${s.server.tail()}`).join('\n'),
      stop,
      root,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
