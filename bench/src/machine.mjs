// The machine a run was measured on, recorded beside the figures.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

function output(command, args, cwd) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unavailable';
  }
}

/** @param {{nodes: Record<string, string>, repoDir: string}} options  nodes: label -> node binary */
export function describeMachine({ nodes, repoDir }) {
  return {
    cores: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node_benchmarked: Object.fromEntries(Object.entries(nodes).map(([label, binary]) => [label, output(binary, ['--version'])])),
    node_harness: process.version,
    go: output('go', ['version']),
    commit: output('git', ['rev-parse', '--short', 'HEAD'], repoDir),
    date: new Date().toISOString(),
  };
}
