// One execution environment's private view of the machine: its own network namespace (so every
// environment has its own 127.0.0.1, as every Lambda execution environment does: the collector's
// OTLP receiver and the Telemetry API listener on sandbox.localdomain are per
// environment) and its own mount namespace, where Lambda's paths are bind-mounted:
//   /opt          the function's layers, merged (https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html)
//   /var/task     the function code (LAMBDA_TASK_ROOT)
//   /var/runtime  the runtime interface client and the runtime-provided node_modules
//   /var/lang     the Node.js distribution
//   /tmp          a fresh tmpfs (Lambda's /tmp is per environment), unless host paths the
//                 processes need lie under /tmp (a work tree in /tmp): then the host's /tmp stays
// Nothing is mounted on the host: /var and /tmp are tmpfs inside the namespace only (so mount
// sources and host paths the processes read must not live under /var).
// Host services (the Runtime API server, the invoke endpoint, the X-Ray stand-in) are reached from
// inside through socat forwarders listening on the environment's loopback and connecting to Unix
// sockets on the shared file system. Requires root (unshare, mount, nsenter).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deferred, withTimeout } from './http-util.mjs';
import { joinCommand } from './cgroup.mjs';

/** How long a new sandbox may take to be ready before it counts as failed. */
const SANDBOX_READY_LIMIT_MS = 60_000;

/** Names the sandbox's /etc/hosts maps to 127.0.0.1. */
const LOOPBACK_NAMES = new Set(['localhost', 'sandbox.localdomain', 'sandbox']);

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes including the NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * @typedef {object} SandboxOptions
 * @property {string} workDir                 host directory for this environment's sockets and files
 * @property {Record<string, string>} mounts  sandbox path -> host directory, bind-mounted read-only
 * @property {{port: number, socketPath: string}[]} forwards  loopback ports inside that reach host sockets
 * @property {{port: number, socketPath: string}[]} [udpForwards]  loopback UDP ports inside whose datagrams go,
 *   one by one, to a Unix datagram socket on the host (the X-Ray daemon stand-in's relay)
 * @property {string[]} [hostPaths]            host paths the processes inside read (e.g. a loader hook)
 * @property {(line: string) => void} log
 */

export class Sandbox {
  /** @param {SandboxOptions} options */
  static async create(options) {
    const sandbox = new Sandbox(options);
    await sandbox.#start();
    return sandbox;
  }

  /** @param {SandboxOptions} options */
  constructor({ workDir, mounts, forwards, udpForwards = [], hostPaths = [], log }) {
    this.workDir = workDir;
    this.udpForwards = udpForwards;
    this.hostPaths = hostPaths;
    this.mounts = mounts;
    this.forwards = forwards;
    this.log = log;
    this.holder = undefined;
    this.netNs = undefined;
    this.frozen = false;
    this.reverseCount = 0;
    /** PIDs freeze() leaves running: the UDP relays, which stand for the path to a daemon outside the environment. */
    this.neverFrozen = new Set();
  }

  async #start() {
    mkdirSync(this.workDir, { recursive: true });
    const needed = [...Object.values(this.mounts), ...this.hostPaths];
    const underVar = needed.find((path) => path.startsWith('/var/'));
    if (underVar) {
      throw new Error(`${underVar} lies under /var, which the sandbox replaces with its own: move the work tree out of /var`);
    }
    const privateTmp = !needed.some((path) => path.startsWith('/tmp/'));
    if (!privateTmp) this.log('the work tree is under /tmp: the environment shares the host /tmp');
    const hostsFile = join(this.workDir, 'hosts');
    // sandbox.localdomain is where Telemetry API subscribers listen
    // (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html#telemetry-api-subscription).
    writeFileSync(hostsFile, `127.0.0.1\t${[...LOOPBACK_NAMES].join(' ')}\n::1\tlocalhost\n`);
    const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
    const lines = [
      'set -e',
      'ip link set lo up',
      'mount -t tmpfs -o mode=755 tmpfs /var',
    ];
    for (const [target, source] of Object.entries(this.mounts)) {
      lines.push(`mkdir -p ${quote(target)}`);
      lines.push(`mount --bind ${quote(source)} ${quote(target)}`);
      lines.push(`mount -o remount,bind,ro ${quote(target)}`);
    }
    lines.push(`mount --bind ${quote(hostsFile)} /etc/hosts`);
    if (privateTmp) lines.push('mount -t tmpfs -o size=512m,mode=1777 tmpfs /tmp');
    lines.push('echo sandbox-ready');
    lines.push('exec sleep 2147483647');
    this.holder = spawn('unshare', ['--mount', '--net', '--propagation', 'private', '--', '/bin/sh', '-c', lines.join('\n')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = deferred();
    let stderr = '';
    this.holder.stdout.on('data', (d) => {
      if (d.toString().includes('sandbox-ready')) ready.resolve(true);
    });
    this.holder.stderr.on('data', (d) => {
      stderr += d.toString();
    });
    this.holder.on('exit', (code) => ready.resolve(false, code));
    // Creating namespaces takes milliseconds, and seconds on a loaded machine tearing others down:
    // the limit only catches a sandbox that never comes.
    const outcome = await withTimeout(ready.promise, SANDBOX_READY_LIMIT_MS);
    if (outcome.timedOut || !outcome.value) {
      const why = outcome.timedOut ? `not ready within ${SANDBOX_READY_LIMIT_MS / 1000} s` : 'it exited';
      throw new Error(`could not create the sandbox (unshare --mount --net; needs root): ${why}: ${stderr.trim() || 'no output'}`);
    }
    this.netNs = readlinkSync(`/proc/${this.holder.pid}/ns/net`);
    // If the emulator's process ends without tearing down, take the environment's processes along.
    this.killOnExit = () => {
      for (const pid of this.pids()) signal(pid, 'SIGKILL');
    };
    process.once('exit', this.killOnExit);
    for (const { port, socketPath } of this.forwards) {
      assertSocketPath(socketPath);
      this.#spawnHelper(['socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${socketPath}`], `forward-${port}`);
    }
    // A datagram is read whole (-b: larger than any UDP payload) and sent on as one datagram.
    // The relay is not frozen with the environment: what a process sent just before the freeze
    // reaches the daemon, which Lambda does not freeze either.
    for (const { port, socketPath } of this.udpForwards) {
      assertSocketPath(socketPath);
      const relay = this.#spawnHelper(['socat', '-u', '-b', '65536', `UDP4-RECV:${port},bind=127.0.0.1`, `UNIX-SENDTO:${socketPath}`], `udp-forward-${port}`);
      this.neverFrozen.add(relay.pid);
    }
    await Promise.all([
      ...this.forwards.map(({ port }) => this.#waitListening(port)),
      ...this.udpForwards.map(({ port }) => this.#waitListening(port, 'udp')),
    ]);
  }

  /**
   * Starts a process inside the sandbox. Its stdout and stderr lines go to `onLine`.
   * `networkOnly` joins only the network namespace: the process sees the host's file system
   * (the forwarders, whose Unix sockets live on the host).
   * @param {string[]} argv
   * `extraPipe` gives the process one more pipe, as its file descriptor 3 (`child.stdio[3]`).
   * `cgroupProcs`: cgroup.procs files the process joins before it execs (see cgroup.mjs).
   * @param {{env: Record<string,string>, cwd?: string, networkOnly?: boolean, extraPipe?: boolean, cgroupProcs?: string[], onLine: (stream: string, line: string) => void}} options
   */
  spawn(argv, { env, cwd = '/', onLine, networkOnly = false, extraPipe = false, cgroupProcs = [] }) {
    const namespaces = networkOnly ? ['--net'] : ['--mount', '--net', `--wdns=${cwd}`];
    // nsenter enters the namespaces and execs argv (no fork without a PID namespace), so the
    // child's PID is the runtime's or extension's own.
    const [command, ...args] = joinCommand(cgroupProcs, ['nsenter', '--target', String(this.holder.pid), ...namespaces, '--', ...argv]);
    const child = spawn(command, args, {
      env,
      stdio: extraPipe ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr']) {
      let partial = '';
      child[stream].on('data', (chunk) => {
        partial += chunk.toString('utf8');
        const parts = partial.split('\n');
        partial = parts.pop();
        for (const line of parts) onLine(stream, line);
      });
      child[stream].on('end', () => {
        if (partial) onLine(stream, partial);
      });
    }
    return child;
  }

  /**
   * Makes a TCP address inside the sandbox reachable from the host through a Unix socket.
   * @returns {Promise<string>} the socket path
   */
  async exposeInside(host, port) {
    const socketPath = join(this.workDir, `in-${++this.reverseCount}.sock`);
    assertSocketPath(socketPath);
    // The forwarder runs in the host's file system, so it resolves names the way the sandbox's
    // /etc/hosts does here.
    const address = LOOPBACK_NAMES.has(host) ? '127.0.0.1' : host;
    this.#spawnHelper(['socat', `UNIX-LISTEN:${socketPath},fork,unlink-early`, `TCP:${address}:${port}`], `expose-${port}`);
    for (let i = 0; i < 200; i++) {
      if (existsSync(socketPath)) return socketPath;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`socat did not create ${socketPath}`);
  }

  /** PIDs of every process in this environment, found by their network namespace. */
  pids() {
    const pids = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/ns/net`) === this.netNs) pids.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    return pids;
  }

  /**
   * Stops every process of the environment, as Lambda freezes it between invocations, and
   * resolves once the kernel reports each one stopped. Processes forked while the signals went
   * out (a forwarder accepting a connection) are caught by scanning again.
   */
  async freeze() {
    const signalled = new Set();
    for (let round = 0; round < 10; round++) {
      const fresh = this.pids().filter((pid) => !signalled.has(pid) && !this.neverFrozen.has(pid));
      if (fresh.length === 0) break;
      for (const pid of fresh) {
        signalled.add(pid);
        signal(pid, 'SIGSTOP');
      }
    }
    this.frozen = true;
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const running = this.pids().filter((pid) => !this.neverFrozen.has(pid) && !isStopped(pid));
      if (running.length === 0) return;
      for (const pid of running) signal(pid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 1));
    }
    this.log(`some processes did not stop within 2 s: ${this.pids().filter((pid) => !this.neverFrozen.has(pid) && !isStopped(pid)).join(', ')}`);
  }

  /** Resumes every process of the environment. */
  thaw() {
    this.#signalAll('SIGCONT');
    this.frozen = false;
  }

  /**
   * Kills every process of the environment and resolves when none is left; the namespaces go
   * with the last one.
   */
  async destroy() {
    if (!this.netNs) return;
    process.removeListener('exit', this.killOnExit);
    const until = Date.now() + 2000;
    for (;;) {
      const pids = this.pids();
      if (pids.length === 0) return;
      if (Date.now() > until) {
        this.log(`processes ${pids.join(', ')} survived SIGKILL for 2 s`);
        return;
      }
      for (const pid of pids) signal(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #signalAll(name) {
    for (const pid of this.pids()) signal(pid, name);
  }

  #spawnHelper(argv, name) {
    const child = this.spawn(argv, { env: { PATH: process.env.PATH }, networkOnly: true, onLine: (_s, line) => this.log(`[${name}] ${line}`) });
    child.on('error', (err) => this.log(`[${name}] could not start: ${err.message}`));
    return child;
  }

  async #waitListening(port, protocol = 'tcp') {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    // LISTEN (0A) for TCP; an unconnected bound UDP socket shows 07.
    const state = protocol === 'tcp' ? '0A' : '07';
    for (let i = 0; i < 300; i++) {
      try {
        // /proc/<pid>/net/tcp (udp) shows the sockets of that process's network namespace.
        const table = readFileSync(`/proc/${this.holder.pid}/net/${protocol}`, 'utf8');
        if (table.includes(`:${hex} 00000000:0000 ${state}`)) return;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${protocol.toUpperCase()} forwarder on port ${port} inside the sandbox did not start listening (is socat installed?)`);
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** True when /proc says the process is stopped (T) or gone. */
function isStopped(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't' || state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function assertSocketPath(socketPath) {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`Unix socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter work directory`);
  }
}
