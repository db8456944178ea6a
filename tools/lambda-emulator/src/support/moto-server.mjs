// Starts moto's server (PyPI moto[server]) on 127.0.0.1 as the local X-Ray (and DynamoDB) stand-in.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { MOTO_SERVER, SETUP } from './paths.mjs';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts moto and waits until it answers.
 * @returns {Promise<{endpoint: string, port: number, stop: () => Promise<void>, logs: string[]}>}
 */
export async function startMoto({ port, log = () => {} } = {}) {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`${MOTO_SERVER} is missing: run ${SETUP} (it installs moto[server] into tools/lambda-emulator/.cache/moto-venv)`);
  }
  port ??= await freePort();
  const logs = [];
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        logs.push(line);
        log(line);
      }
    });
  }
  // Never outlive the process that started it, even when that one ends abruptly.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}: ${logs.slice(-5).join('\n')}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${logs.slice(-5).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { endpoint, port, stop, logs, child };
}
