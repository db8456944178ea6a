// Shared set-up for the suites: a LambdaService with both Node.js runtimes, logs kept for
// diagnosis and printed when a suite fails.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaService, RUNTIME_HOOK, runtimes } from '../../tools/lambda-emulator/index.mjs';

export const E2E_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(E2E_DIR, 'fixtures');
export const WORK_ROOT = join(E2E_DIR, '.work');

/** An onLog for LambdaService that keeps every line (streamed with E2E_VERBOSE=1). */
export function keptLogs() {
  const logs = [];
  const onLog = (e) => {
    logs.push(`${new Date(e.time).toISOString()} [${e.fn}#${e.env} ${e.source}] ${e.line}`);
    if (process.env.E2E_VERBOSE) console.error(logs.at(-1));
  };
  return { logs, onLog };
}

/**
 * @param {string} name   short, used for the work directory
 * @param {Partial<import('../../tools/lambda-emulator/src/emulator/lambda-service.mjs').LambdaServiceOptions>} [options]
 */
export async function startService(name, options = {}) {
  const workDir = join(WORK_ROOT, name);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const { logs, onLog } = keptLogs();
  const service = new LambdaService({
    workDir,
    runtimes: runtimes(),
    runtimeHook: RUNTIME_HOOK,
    onLog,
    ...options,
  });
  await service.start();
  service.logs = logs;
  return service;
}

/** Parses a JSON payload from an invoke result. */
export function json(result) {
  return JSON.parse(result.payload.toString('utf8'));
}

/** Lines a source printed, e.g. `extension:recorder`, across a function's environments. */
export function linesOf(service, fnName, source) {
  return service.environments(fnName).flatMap((env) => env.logs.filter((l) => l.source === source).map((l) => l.line));
}

/** JSON records the recorder extension printed. */
export function recorderRecords(service, fnName) {
  return linesOf(service, fnName, 'extension:recorder')
    .filter((l) => l.startsWith('{"recorder"'))
    .map((l) => JSON.parse(l));
}

/** The state letter of a process from /proc/<pid>/stat (R, S, T for stopped, ...). */
export async function processState(pid) {
  const { readFileSync } = await import('node:fs');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

/**
 * Polls until `check` returns a truthy value (a process's output can reach us a moment after the
 * HTTP call that followed it). Returns the last value. The default deadline only ends a wait for
 * something that never comes: a loaded machine may take seconds.
 */
export async function eventually(check, { timeoutMs = 30_000, intervalMs = 10 } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every node below rootId in a trace's nodes (by parentId), breadth first. */
export function descendants(nodes, rootId) {
  const out = [];
  const queue = [rootId];
  while (queue.length) {
    const id = queue.shift();
    for (const n of nodes) {
      if (n.parentId === id) {
        out.push(n);
        queue.push(n.id);
      }
    }
  }
  return out;
}
