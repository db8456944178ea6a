// Where the preload's start-up time goes: V8's CPU profile (node --cpu-prof) of Node.js 22 loading
// only the preload (--import, pinned to one CPU), its samples grouped by what ran. The profiler
// adds its own overhead, so the groups are shares, not exact costs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onOneCore } from './cpu.mjs';
import { round } from './stats.mjs';

/** The group a profile node's call frame belongs to. */
export function groupOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)') return 'V8 and Node.js native';
    return `native ${functionName}`;
  }
  if (url.includes('/otel-preload/node_modules/')) return 'preload: unbundled packages (import-in-the-middle, require-in-the-middle)';
  if (url.includes('/otel-preload/')) return 'preload: bundled code (SDK, instrumentations, esbuild interop)';
  if (url === 'node:internal/bootstrap/realm') return 'Node.js compiling the built-in modules loaded (http, https, zlib, ...)';
  if (url.startsWith('node:internal/modules/esm')) return 'Node.js ES module loader (resolve, link, evaluate)';
  if (url.startsWith('node:internal/modules')) return 'Node.js CommonJS loader';
  return 'Node.js built-in module code (url, path, zlib, diagnostics_channel, ...)';
}

/** Sums a .cpuprofile's sample time per group, in milliseconds, largest first. */
export function groupProfile(profile) {
  const timeByNode = new Map();
  profile.samples.forEach((id, i) => timeByNode.set(id, (timeByNode.get(id) ?? 0) + profile.timeDeltas[i]));
  const groups = new Map();
  for (const node of profile.nodes) {
    const ms = (timeByNode.get(node.id) ?? 0) / 1000;
    const group = groupOf(node.callFrame);
    groups.set(group, (groups.get(group) ?? 0) + ms);
  }
  return [...groups].map(([group, ms]) => ({ group, ms: round(ms, 1) })).filter((g) => g.ms > 0).sort((a, b) => b.ms - a.ms);
}

function profileOnce({ node, nodeOptions, env }) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'));
  try {
    const argv = [...onOneCore(), node, '--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', dir, ...nodeOptions, '-e', '0'];
    const out = spawnSync(argv[0], argv.slice(1), { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`profiling ${argv.join(' ')} failed (exit ${out.status}): ${out.stderr}`);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`node --cpu-prof wrote no profile into ${dir}`);
    return groupProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mean milliseconds per group over several profiles. */
function meanGroups(profiles) {
  const sums = new Map();
  for (const groups of profiles) for (const { group, ms } of groups) sums.set(group, (sums.get(group) ?? 0) + ms);
  return new Map([...sums].map(([group, ms]) => [group, ms / profiles.length]));
}

/**
 * Profiles bare Node.js and Node.js with the preload, alternately, and returns per group the
 * milliseconds the preload adds (groups adding less than 0.5 ms are left out).
 * @param {{node: string, preloadInit: string, env: Record<string,string>, runs?: number}} options
 */
export function profilePreload({ node, preloadInit, env, runs = 5 }) {
  const bare = [];
  const preload = [];
  for (let i = 0; i < runs; i++) {
    bare.push(profileOnce({ node, nodeOptions: [], env }));
    preload.push(profileOnce({ node, nodeOptions: ['--import', preloadInit], env }));
  }
  const bareMean = meanGroups(bare);
  const preloadMean = meanGroups(preload);
  const added = [...preloadMean].map(([group, ms]) => ({ group, ms: round(ms - (bareMean.get(group) ?? 0), 1) }))
    .filter((g) => g.ms >= 0.5)
    .sort((a, b) => b.ms - a.ms);
  const total = (m) => [...m.values()].reduce((t, ms) => t + ms, 0);
  return { profiledBareMs: round(total(bareMean), 1), profiledPreloadMs: round(total(preloadMean), 1), added };
}
